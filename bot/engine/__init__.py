"""The checklist engine: the checklist YAML, answer understanding, skip logic, derived facts.

Nothing here touches Telegram, WeCom or the database; the dialog, the storage and the
report build on these functions.
"""

from .conditions import applicable, describe, effective_answers, evaluate, holds, validate_answer
from .derived import SEVERITIES, Derived, Flag, derive, filing_lag, score_parts, village_rate
from .format import format_number, format_value
from .loader import ChecklistError, builtin_checklist, builtin_path, load_checklist, parse_checklist
from .parsers import (
    Err,
    Ok,
    ParseContext,
    ParseResult,
    parse_amount,
    parse_answer,
    parse_choice,
    parse_integer,
    parse_multi,
    parse_percent,
    parse_photo,
    parse_text,
    parse_year,
    parse_yesno,
)
from .schema import (
    INSPECTION_YEAR,
    Check,
    Checklist,
    Choice,
    Cond,
    FlagDef,
    QType,
    Question,
    ScoreItem,
    Section,
)

__all__ = [
    "INSPECTION_YEAR",
    "SEVERITIES",
    "Check",
    "Checklist",
    "ChecklistError",
    "Choice",
    "Cond",
    "Derived",
    "Err",
    "Flag",
    "FlagDef",
    "Ok",
    "ParseContext",
    "ParseResult",
    "QType",
    "Question",
    "ScoreItem",
    "Section",
    "applicable",
    "builtin_checklist",
    "builtin_path",
    "derive",
    "describe",
    "effective_answers",
    "evaluate",
    "filing_lag",
    "format_number",
    "format_value",
    "holds",
    "load_checklist",
    "parse_amount",
    "parse_answer",
    "parse_checklist",
    "parse_choice",
    "parse_integer",
    "parse_multi",
    "parse_percent",
    "parse_photo",
    "parse_text",
    "parse_year",
    "parse_yesno",
    "score_parts",
    "validate_answer",
    "village_rate",
]
