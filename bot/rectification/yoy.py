"""The year compared with the one before, in the same scope: how many townships are in each
of the checklist's report groups now and then (「较上年，设有专门档案室的乡镇由8个增至11个」).
Said only of groups both years' answers can tell; a year without records is said to be one."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import t
from bot.reports.summary import Summary


def compare_years(s: Summary, keys: Sequence[str], loc: str) -> list[str]:
    prev = s.previous
    if prev is None or not s.counted:
        return []
    if not prev.counted:
        return [t("rectification.yoy.no_previous", loc, year=prev.year)]
    lines = [t("rectification.yoy.title", loc, year=prev.year, before=len(prev.counted), now=len(s.counted))]
    same = 0
    for key in dict.fromkeys(keys):
        now, before = s.coverage(key), prev.coverage(key)
        if now.form == "silent" or before.form == "silent":
            continue
        a, b = len(before.members), len(now.members)
        if a == b:
            same += 1
            continue
        form = "up" if b > a else "down"
        lines.append(t(f"rectification.yoy.{form}", loc, label=s.label(key, loc), before=a, now=b))
    if same:
        lines.append(
            t("rectification.yoy.same" if len(lines) > 1 else "rectification.yoy.all_same", loc, n=same)
        )
    return lines
