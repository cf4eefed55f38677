"""The sheets and columns of a checklist workbook (shared by the export and the import).

``survey``, ``choices`` and ``settings`` are XLSForm's, with its column names and its
``label::zh-CN`` language columns. The rest are this project's, for what XLSForm has no column
for: the findings, the score, the cross-question checks and the report's groups.
"""

from __future__ import annotations

from .schema import QType

SURVEY, CHOICES, SETTINGS = "survey", "choices", "settings"
CHECKS, FINDINGS, SCORE = "checks", "findings", "score"
REPORT_SECTIONS, REPORT_GROUPS, REPORT = "report_sections", "report_groups", "report"
SHEETS = (SURVEY, CHOICES, SETTINGS, CHECKS, FINDINGS, SCORE, REPORT_SECTIONS, REPORT_GROUPS, REPORT)

BEGIN_GROUP, END_GROUP = "begin group", "end group"

# Question type → the word in the survey's ``type`` column (choice types add the list's name).
TYPE_WORDS: dict[QType, str] = {
    QType.yesno: "yesno",
    QType.single: "select_one",
    QType.multi: "select_multiple",
    QType.integer: "integer",
    QType.amount: "decimal",
    QType.year: "year",
    QType.percent: "percent",
    QType.text: "text",
    QType.photo: "image",
}
WORD_TYPES = {word: qtype for qtype, word in TYPE_WORDS.items()}

YES, NO = "yes", "no"
CONSTRAINT_SUFFIX = "_constraint"  # the check a survey row's constraint becomes: <question>_constraint
EMPTY_TEXT = '""'  # a text that is empty in one language (a blank cell means "none given")
LIST_SEP = ";"  # aliases; also "；"
WORD_SEP = " "  # lists of keys: show, evidence, groups

# The ``report`` sheet: one row per setting (``exclusive`` may repeat).
REPORT_SETTINGS = ("targets", "exclusive", "chart", "summary")

# settings columns for the derived facts
FACT_COLUMNS = {
    "filing_lag_year": ("filing_lag", "year"),
    "village_rate_part": ("village_rate", "part"),
    "village_rate_total": ("village_rate", "total"),
    "established_question": ("established", "q"),
}


def text_column(base: str, locale: str) -> str:
    return f"{base}::{locale}"
