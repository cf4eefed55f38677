"""A picture of the year: how far each township has filed, coloured by where it stands.

Up to ``MAX_BARS`` townships: one bar each, reaching the year its archives are filed up
to, with the year the annual task asks for marked. More than that (a province, a
country): one stacked bar per area counting its townships by state.

The Chinese labels need a font with Chinese glyphs. The project depends on a package
that ships Noto Sans SC (``pylopdf-fonts-zh-cn``), so every install has one; a system
CJK font is the fallback. Rendered with the Agg backend, without pyplot, so it is safe
to draw from a worker thread.
"""

from __future__ import annotations

import logging
from collections import Counter
from functools import cache
from pathlib import Path

from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from bot.i18n import t
from bot.reports.summary import Summary, TownshipYear
from storage.models import InspectionStatus

log = logging.getLogger(__name__)

MAX_BARS = 60
MAX_AREAS = 40
# The checklist's chart groups take these colours in order; then the fixed states.
GROUP_COLOURS = ("#2e7d32", "#c62828", "#ef6c00", "#1f77b4", "#6a1b9a", "#00838f")
OTHER, PENDING, NOT_INSPECTED = "other", "pending", "not_inspected"
FIXED_COLOURS = {OTHER: "#7f8c8d", PENDING: "#f9a825", NOT_INSPECTED: "#d0d0d0"}
FALLBACK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "SimHei",
)


@cache
def cjk_font() -> Path | None:
    """A font file with Chinese glyphs, registered with matplotlib; None if there is none."""
    candidates: list[Path] = []
    try:
        import pylopdf_fonts_zh_cn

        candidates.append(Path(pylopdf_fonts_zh_cn.sans_path()))
    except ImportError:  # pragma: no cover - the dependency is declared
        log.warning("pylopdf-fonts-zh-cn is not installed; looking for a system CJK font")
    for entry in font_manager.fontManager.ttflist:
        if entry.name in FALLBACK_FAMILIES:
            candidates.append(Path(entry.fname))
    for path in candidates:
        if path.is_file():
            font_manager.fontManager.addfont(str(path))
            return path
    log.warning("no CJK font found: Chinese labels in charts will not render")
    return None


def font_family() -> list[str]:
    path = cjk_font()
    families = [font_manager.FontProperties(fname=str(path)).get_name()] if path else []
    return [*families, "DejaVu Sans"]


def chart_groups(summary: Summary) -> list[str]:
    report = summary.rules.report if summary.rules else None
    return list(report.chart) if report else []


def states(summary: Summary) -> list[str]:
    """Every state a bar can be in, in legend order."""
    return [*chart_groups(summary), OTHER, PENDING, NOT_INSPECTED]


def colour(summary: Summary, state: str) -> str:
    groups = chart_groups(summary)
    if state in groups:
        return GROUP_COLOURS[groups.index(state) % len(GROUP_COLOURS)]
    return FIXED_COLOURS[state]


def chart_state(summary: Summary, ty: TownshipYear) -> str:
    """The first of the checklist's chart groups the township is in; else where it stands."""
    if ty.inspection is None:
        return NOT_INSPECTED
    if ty.inspection.status != InspectionStatus.submitted:
        return PENDING
    return next((key for key in chart_groups(summary) if ty.in_group(key)), OTHER)


def _label(summary: Summary, state: str, locale: str) -> str:
    if state in chart_groups(summary):
        return summary.label(state, locale)
    return t(f"chart.legend.{state}", locale)


def _legend(fig: Figure, summary: Summary, locale: str, shown: list[str]) -> None:
    """Below the plot, outside it (constrained layout keeps it clear of the axis labels)."""
    handles = [Patch(color=colour(summary, s), label=_label(summary, s, locale)) for s in shown]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=9, frameon=False)


def _subtitle(summary: Summary, locale: str, extra: str = "") -> str:
    return t("chart.coverage", locale, n=len(summary.counted), total=summary.total) + extra


def _per_township(summary: Summary, locale: str) -> Figure:
    rows = [(ty, chart_state(summary, ty)) for ty in summary.townships]
    spec = summary.rules.facts.filing_lag if summary.rules else None
    key = spec.year if spec else None
    years = [int(y) for ty, _ in rows if (y := ty.number(key)) is not None]
    expected = summary.year - 1
    low = min([*years, expected]) - 1
    high = summary.year
    order = {s: n for n, s in enumerate(states(summary))}
    rows.sort(key=lambda r: (order[r[1]], -(r[0].number(key) or 0)))
    fig = Figure(figsize=(9, max(3.4, 2.2 + 0.36 * len(rows))), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    labels = []
    for y, (ty, state) in enumerate(reversed(rows)):
        labels.append(ty.name)
        filed = ty.number(key)
        if filed is not None:
            ax.barh(y, filed - low, left=low, color=colour(summary, state), height=0.62)
            ax.text(filed + 0.08, y, str(int(filed)), va="center", fontsize=9)
        else:
            text = (
                _label(summary, state, locale)
                if state in (PENDING, NOT_INSPECTED)
                else t("chart.no_year", locale)
            )
            ax.barh(y, 0.25, left=low, color=colour(summary, state), height=0.62)
            ax.text(low + 0.35, y, text, va="center", fontsize=9, color="#555555")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlim(low, high + 1.2)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axvline(expected, color="#333333", linestyle="--", linewidth=1)
    ax.set_xlabel(t("chart.xlabel", locale))
    fig.suptitle(t("chart.title", locale, year=summary.year), fontsize=13)
    ax.set_title(_subtitle(summary, locale, t("chart.expected", locale, year=expected)), fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    _legend(fig, summary, locale, [s for s in states(summary) if any(st == s for _, st in rows)])
    return fig


def _area_level(summary: Summary) -> dict[int, str]:
    """Each township's area → the area its bar is named after: the townships' own areas,
    or the areas above them, up until there are few enough bars (a country: provinces)."""
    tree = summary.areas
    place = {ty.township.area_id: ty.township.area_id for ty in summary.townships}
    while len(set(place.values())) > MAX_AREAS:
        up = {a: tree.get(p, ("", None))[1] for a, p in place.items()}
        if all(parent is None for parent in up.values()):
            break
        place = {a: parent if parent is not None else place[a] for a, parent in up.items()}
    names = {ty.township.area_id: ty.township.area_name for ty in summary.townships}
    return {a: tree[p][0] if p in tree else names.get(p, "") for a, p in place.items()}


def _per_area(summary: Summary, locale: str) -> Figure:
    counts: dict[str, Counter[str]] = {}
    bar_of = _area_level(summary)
    for ty in summary.townships:
        counts.setdefault(bar_of[ty.township.area_id], Counter())[chart_state(summary, ty)] += 1
    areas = sorted(counts, key=lambda a: (-sum(counts[a].values()), a))
    shown = areas[:MAX_AREAS]
    rest = areas[MAX_AREAS:]
    bars = [(a, counts[a]) for a in shown]
    if rest:
        merged: Counter[str] = Counter()
        for a in rest:
            merged.update(counts[a])
        bars.append((t("chart.other_areas", locale, n=len(rest)), merged))
    fig = Figure(figsize=(9, max(3.4, 2.4 + 0.34 * len(bars))), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    names = [name for name, _ in reversed(bars)]
    left = [0] * len(bars)
    for state in states(summary):
        widths = [c[state] for _, c in reversed(bars)]
        ax.barh(range(len(bars)), widths, left=left, color=colour(summary, state), height=0.65)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.7, len(bars) - 0.3)
    ax.set_xlabel(t("chart.area_xlabel", locale))
    fig.suptitle(t("chart.area_title", locale, year=summary.year), fontsize=13)
    ax.set_title(_subtitle(summary, locale), fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    present = [s for s in states(summary) if any(c[s] for _, c in bars)]
    _legend(fig, summary, locale, present)
    return fig


def render_chart(summary: Summary, locale: str = "zh-CN") -> Figure:
    with rc_context({"font.family": font_family(), "axes.unicode_minus": False}):
        fig = _per_township(summary, locale) if summary.total <= MAX_BARS else _per_area(summary, locale)
        FigureCanvasAgg(fig)
        return fig


def write_chart(summary: Summary, path: Path, locale: str = "zh-CN") -> Path:
    """Draw the chart for ``summary`` into ``path`` (PNG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with rc_context({"font.family": font_family(), "axes.unicode_minus": False}):
        fig = render_chart(summary, locale)
        fig.savefig(str(path), format="png")
    return path
