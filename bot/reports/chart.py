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
STATES = ("done", "in_progress", "not_started", "unknown", "pending", "not_inspected")
COLOURS = {
    "done": "#2e7d32",
    "in_progress": "#1f77b4",
    "not_started": "#c62828",
    "unknown": "#7f8c8d",
    "pending": "#f9a825",
    "not_inspected": "#d0d0d0",
}
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


def chart_state(ty: TownshipYear) -> str:
    if ty.inspection is None:
        return "not_inspected"
    if ty.inspection.status != InspectionStatus.submitted:
        return "pending"
    if ty.inspection.has("filing_done"):
        return "done"
    state = ty.inspection.work_state
    if state == "not_started":
        return "not_started"
    if state in ("in_progress", "done"):
        return "in_progress"
    return "unknown"


def _legend(fig_ax: object, locale: str, states: list[str]) -> None:
    """Below the plot, where it covers no bar."""
    handles = [Patch(color=COLOURS[s], label=t(f"chart.legend.{s}", locale)) for s in states]
    fig_ax.legend(  # type: ignore[attr-defined]
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=9, frameon=False
    )


def _per_township(summary: Summary, locale: str) -> Figure:
    rows = [(ty, chart_state(ty)) for ty in summary.townships]
    years = [ty.inspection.filed_up_to for ty, _ in rows if ty.inspection and ty.inspection.filed_up_to]
    expected = summary.year - 1
    low = min([*years, expected]) - 1
    high = summary.year
    order = {s: n for n, s in enumerate(STATES)}
    rows.sort(
        key=lambda r: (
            order[r[1]],
            -(r[0].inspection.filed_up_to or 0) if r[0].inspection else 0,
            r[0].name,
        )
    )
    fig = Figure(figsize=(9, 1.6 + 0.38 * len(rows)), dpi=110)
    ax = fig.add_subplot()
    labels = []
    for y, (ty, state) in enumerate(reversed(rows)):
        labels.append(ty.name)
        filed = ty.inspection.filed_up_to if ty.inspection else None
        if filed is not None:
            ax.barh(y, filed - low, left=low, color=COLOURS[state], height=0.62)
            ax.text(filed + 0.08, y, str(filed), va="center", fontsize=9)
        else:
            text = t("chart.legend.not_inspected" if state == "not_inspected" else "chart.no_year", locale)
            ax.barh(y, 0.25, left=low, color=COLOURS[state], height=0.62)
            ax.text(low + 0.35, y, text, va="center", fontsize=9, color="#555555")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlim(low, high + 0.9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axvline(expected, color="#333333", linestyle="--", linewidth=1)
    ax.text(
        expected,
        len(rows) - 0.35,
        t("chart.expected", locale, year=expected),
        ha="center",
        va="bottom",
        fontsize=9,
        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
    )
    ax.set_ylim(-0.7, len(rows) + 0.3)
    ax.set_xlabel(t("chart.xlabel", locale))
    ax.set_title(t("chart.title", locale, year=summary.year), fontsize=13, pad=12)
    ax.spines[["top", "right"]].set_visible(False)
    _legend(ax, locale, [s for s in STATES if any(st == s for _, st in rows)])
    fig.tight_layout()
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
        counts.setdefault(bar_of[ty.township.area_id], Counter())[chart_state(ty)] += 1
    areas = sorted(counts, key=lambda a: (-sum(counts[a].values()), a))
    shown = areas[:MAX_AREAS]
    rest = areas[MAX_AREAS:]
    bars = [(a, counts[a]) for a in shown]
    if rest:
        merged: Counter[str] = Counter()
        for a in rest:
            merged.update(counts[a])
        bars.append((t("chart.other_areas", locale, n=len(rest)), merged))
    fig = Figure(figsize=(9, 1.8 + 0.36 * len(bars)), dpi=110)
    ax = fig.add_subplot()
    names = [name for name, _ in reversed(bars)]
    left = [0] * len(bars)
    for state in STATES:
        widths = [c[state] for _, c in reversed(bars)]
        ax.barh(range(len(bars)), widths, left=left, color=COLOURS[state], height=0.65)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel(t("chart.area_xlabel", locale))
    ax.set_title(t("chart.area_title", locale, year=summary.year), fontsize=13, pad=12)
    ax.spines[["top", "right"]].set_visible(False)
    present = [s for s in STATES if any(c[s] for _, c in bars)]
    _legend(ax, locale, present)
    fig.tight_layout()
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
        fig.savefig(str(path), format="png", bbox_inches="tight", pad_inches=0.2)
    return path
