"""The message catalogues: both parse, hold the same keys, and use the same placeholders."""

from __future__ import annotations

import string

from bot.i18n import LOCALES, catalogue, t


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    zh, en = (catalogue(loc) for loc in LOCALES)
    assert zh and set(zh) == set(en)
    for key in zh:
        assert _fields(zh[key]) == _fields(en[key]), key


def test_fallback_and_formatting() -> None:
    assert t("review.score", "en", score=80) == "Score: 80 / 100"
    assert t("review.score", None, score=80) == "得分：80 / 100"
    assert t("no.such.key") == "no.such.key"


def test_every_text_is_text() -> None:
    """YAML reads a bare No, Yes, On or 12 as a boolean or a number: a button would say False."""
    import yaml

    from bot.i18n import _DIR

    def leaves(tree: dict[object, object], path: str = "") -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        for key, value in tree.items():
            out += leaves(value, f"{path}{key}.") if isinstance(value, dict) else [(f"{path}{key}", value)]
        return out

    for loc in LOCALES:
        raw = yaml.safe_load((_DIR / f"{loc}.yaml").read_text(encoding="utf-8"))
        assert [(k, v) for k, v in leaves(raw) if not isinstance(v, str)] == [], loc


def test_no_text_is_cut_short_by_a_comment() -> None:
    """In a bare YAML value a space and # start a comment: 「用编号如 #12」 would end at 「如」."""
    import re

    from bot.i18n import _DIR

    bare = re.compile(r"^\s*[^\s#\"'][^:]*:\s+(?P<value>[^\s\"'|>].*)$")
    for loc in LOCALES:
        lines = (_DIR / f"{loc}.yaml").read_text(encoding="utf-8").splitlines()
        cut = [line for line in lines if (m := bare.match(line)) and " #" in m["value"]]
        assert cut == [], loc
