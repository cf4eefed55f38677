"""Understanding typed answers, Chinese first. One function per question type.

Each parser takes the raw text and returns ``Ok(value)`` with the canonical
JSON-serialisable value, or ``Err(message)`` with a message in the user's language that
says what is expected, with an example. Parsers never raise, whatever the text: inputs
are length-checked first and the Chinese-numeral library (cn2an) is guarded.
"""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

import cn2an

from bot.i18n import normalise_locale, t

from .format import format_number, format_value
from .schema import INSPECTION_YEAR, Choice, QType, Question


@dataclass(frozen=True)
class ParseContext:
    inspection_year: int
    locale: str = "zh-CN"
    # What the registry knows of the township (``Known`` operands of the checks read it).
    known: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ok:
    value: Any


@dataclass(frozen=True)
class Err:
    message: str


ParseResult = Ok | Err

MAX_INPUT = 200
"""Longest text the non-text parsers look at; longer is refused without parsing."""
MAX_NUMBER = 40
"""Longest number (after cleaning) handed to the numeral parser."""
LIMIT = Decimal(10) ** 12
"""Numbers at or above this magnitude are refused as implausible."""
TEXT_MAX_LENGTH = 1000
"""Default cap for free text answers (a question can set ``max_length``)."""

_CTX = Context(prec=80)

# ---------------------------------------------------------------------------- cleaning

_LEFT_STRIP = " \t\r\n\u3000'\"“”‘’「」『』()（）[]【】<>《》"
_RIGHT_STRIP = _LEFT_STRIP + "。.!！?？~～,，;；:：、…"


def _clean(text: Any) -> str | None:
    """NFKC (full-width → ASCII), no control characters, trimmed, case-folded."""
    if not isinstance(text, str) or len(text) > MAX_INPUT:
        return None
    s = unicodedata.normalize("NFKC", text)
    s = "".join(ch for ch in s if not unicodedata.category(ch).startswith("C"))
    return s.lstrip(_LEFT_STRIP).rstrip(_RIGHT_STRIP).strip(_LEFT_STRIP).casefold()


def _strip_affixes(s: str, prefixes: tuple[str, ...], suffixes: tuple[str, ...]) -> str:
    for _ in range(4):
        before = s
        for p in prefixes:
            if s.startswith(p) and len(s) > len(p):
                s = s[len(p) :]
                break
        for x in suffixes:
            if s.endswith(x) and len(s) > len(x):
                s = s[: -len(x)]
                break
        if s == before:
            break
    return s


_COMMON_PREFIXES = ("大约", "大概", "一共", "总共", "共计", "合计", "约", "共", "有", "about", "approx.", "~")
_COMMON_SUFFIXES = ("左右", "上下", "整")
_INT_SUFFIXES = (
    *_COMMON_SUFFIXES,
    "个村(社区)",
    "个社区",
    "个村",
    "村(社区)",
    "社区",
    "个",
    "次",
    "人",
    "名",
    "位",
    "家",
    "处",
    "间",
    "项",
    "件",
    "份",
    "卷",
    "盒",
    "册",
    "times",
    "time",
    "villages",
    "village",
)
_AMOUNT_PREFIXES = (*_COMMON_PREFIXES, "人民币", "rmb", "cny", "¥", "$")
_AMOUNT_SUFFIXES = (*_COMMON_SUFFIXES, "元人民币", "人民币", "块钱", "元", "圆", "块", "yuan", "rmb", "cny")
_YEAR_PREFIXES = ("公元", "截至", "截止到", "截止", "到", "至", "in")
_YEAR_SUFFIXES = ("年度", "年底", "年末", "年份", "年", "度")
_PERCENT_SUFFIXES = (*_COMMON_SUFFIXES, "个百分点", "percent", "pct", "%")

_ARABIC = re.compile(r"[+-]?\d+(?:\.\d+)?")
_ARABIC_MULT = re.compile(r"([+-]?\d+(?:\.\d+)?)(万亿|千万|百万|十万|[十百千万亿]|k|w)")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_MULTIPLIERS = {
    "十": 10,
    "百": 100,
    "千": 1000,
    "k": 1000,
    "万": 10**4,
    "w": 10**4,
    "十万": 10**5,
    "百万": 10**6,
    "千万": 10**7,
    "亿": 10**8,
    "万亿": 10**12,
}
_CN_DIGITS = "零〇一壹幺二贰两兩三叁四肆五伍六陆七柒八捌九玖"
_CN_CHARS = frozenset(_CN_DIGITS + "十拾百佰千仟万萬亿億点負负廿")
_DIGIT_CHARS = frozenset("0123456789.")


def _cn2an(s: str, mode: str) -> Decimal | None:
    """cn2an, guarded: any exception or odd result is 'not a number'."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = cn2an.cn2an(s, mode)
    except Exception:
        return None
    if isinstance(result, bool) or not isinstance(result, int | float):
        return None
    if isinstance(result, float) and not math.isfinite(result):
        return None
    try:
        return Decimal(str(result))
    except InvalidOperation:
        return None


def _to_decimal(s: str) -> Decimal | None:
    """A number written in digits, Chinese numerals, or a mix (``1.2万``, ``一百零五``)."""
    s = re.sub(r"\s+", "", s)
    if not s or len(s) > MAX_NUMBER:
        return None
    if _THOUSANDS.fullmatch(s):
        s = s.replace(",", "")
    if _ARABIC.fullmatch(s):
        return Decimal(s)
    m = _ARABIC_MULT.fullmatch(s)
    if m:
        return _CTX.multiply(Decimal(m.group(1)), Decimal(_MULTIPLIERS[m.group(2)]))
    if s[0] in "+-" and len(s) > 1 and s[1] not in "+-":
        inner = _to_decimal(s[1:])
        return None if inner is None else (-inner if s[0] == "-" else inner)
    if s[0] in "点." or s[-1] in "点.":
        return None
    chars = set(s)
    if chars <= _CN_CHARS:
        return _cn2an(s, "normal")
    if chars <= _CN_CHARS | _DIGIT_CHARS:
        return _cn2an(s, "smart")
    return None


def _dec_to_value(d: Decimal) -> int | float:
    """int if whole, else float."""
    if d == d.to_integral_value():
        return int(d)
    return float(d)


def _loc(ctx: ParseContext) -> str:
    return normalise_locale(ctx.locale)


# ---------------------------------------------------------------------------- yes / no

_YES = frozenset(
    {
        "是",
        "有",
        "没问题",
        "没错",
        "对",
        "已",
        "已经",
        "已有",
        "有的",
        "是的",
        "对的",
        "已完成",
        "完成",
        "已落实",
        "已配备",
        "已建立",
        "已明确",
        "已纳入",
        "已安排",
        "已取得",
        "已参加",
        "好",
        "行",
        "可以",
        "嗯",
        "具备",
        "配备",
        "落实",
        "纳入",
        "明确",
        "肯定",
        "当然",
        "是滴",
        "√",
        "✓",
        "✔",
        "☑",
        "✅",
        "👍",
        "⭕",
        "yes",
        "y",
        "yeah",
        "yep",
        "yup",
        "true",
        "t",
        "ok",
        "okay",
        "sure",
    }
)
_NO = frozenset(
    {
        "否",
        "不是",
        "没有",
        "没",
        "无",
        "不",
        "不对",
        "未",
        "未完成",
        "没完成",
        "还没有",
        "还没",
        "尚未",
        "未落实",
        "未配备",
        "未建立",
        "未明确",
        "未纳入",
        "未安排",
        "未取得",
        "未参加",
        "没有的",
        "不有",
        "不行",
        "不具备",
        "没配备",
        "没落实",
        "暂无",
        "暂时没有",
        "目前没有",
        "并没有",
        "×",
        "✗",
        "✘",
        "❌",
        "❎",
        "👎",
        "x",
        "no",
        "n",
        "nope",
        "nah",
        "false",
        "f",
        "none",
    }
)
_PARTICLES = "的啊呀了吧呢哦嘛哈喔噢"
_SPLIT = re.compile(r"[\s,，。;；:：、!！?？/]+")


def _yesno_word(s: str) -> bool | None:
    if s in _YES:
        return True
    if s in _NO:
        return False
    trimmed = s.rstrip(_PARTICLES)
    if trimmed != s and trimmed:
        if trimmed in _YES:
            return True
        if trimmed in _NO:
            return False
    return None


# Verbs whose plain "done" form answers yes (参加了, 参加过, 培训过) and whose negated form no
# (没参加, 未参加过, 从没培训过).
_DONE_VERBS = frozenset(
    {
        "参加",
        "参训",
        "培训",
        "完成",
        "落实",
        "配备",
        "建立",
        "取得",
        "拿到",
        "纳入",
        "安排",
        "明确",
        "设立",
        "设置",
        "整理",
        "归档",
        "通过",
        "考取",
        "持有",
        "持证",
    }
)
_NOT_DONE = (
    "从来没有",
    "从来没",
    "从没有",
    "从没",
    "从未",
    "还没有",
    "还没",
    "没有",
    "尚未",
    "没",
    "未",
    "不",
)


def _done_verb(word: str) -> bool | None:
    """参加了 / 参加过 → True; 没参加 / 从未参加过 → False; None for anything else."""
    stem = word.rstrip("了过的")
    if stem in _DONE_VERBS:
        return True
    for negation in _NOT_DONE:
        if stem.startswith(negation) and stem[len(negation) :] in _DONE_VERBS:
            return False
    return None


def parse_yesno(text: str, ctx: ParseContext) -> ParseResult:
    """是/否/有/没有/无/对/不是/已/未, 参加了/没参加过, yes/no/y/n, ✓/✗ → bool; ``1``/``2``
    as the buttons are numbered (是 first)."""
    err = Err(t("parse.yesno.invalid", _loc(ctx)))
    s = _clean(text)
    if not s:
        return err
    found = _yesno_word(s)
    if found is None:
        found = _done_verb(s)
    if found is None and s in ("1", "2"):  # the buttons' numbers, as on a choice
        found = s == "1"
    if found is not None:
        return Ok(found)
    first = _SPLIT.split(s, maxsplit=1)[0]
    if first and first != s:
        found = _yesno_word(first)
        if found is None:
            found = _done_verb(first)
        if found is not None:
            return Ok(found)
    # Short forms such as 已建档 / 未建档 / 没有档案室 / 无专人.
    if len(first) <= 8:
        for prefix in ("没有", "尚未", "还没", "没", "未", "无"):
            if first.startswith(prefix):
                return Ok(False)
        if first.startswith(("已", "有")) and not any(neg in first for neg in ("未", "没", "不", "无")):
            return Ok(True)
    return err


# ---------------------------------------------------------------------------- numbers


def _number_text(text: str, prefixes: tuple[str, ...], suffixes: tuple[str, ...]) -> str | None:
    s = _clean(text)
    if s is None:
        return None
    s = re.sub(r"\s+", "", s)
    return _strip_affixes(s, prefixes, suffixes)


# A count said as "never / none": 没换过, 没有调换, 一次也没有, 从未, 无.
_ZERO = re.compile(
    r"(?:一次也|一次都|一个也|一个都|一直)?(?:从来没有|从来没|从没有|从没|从未|没有|没|无|未)[^\d零〇一二两三四五六七八九十百千万]*"
)


def parse_integer(text: str, ctx: ParseContext) -> ParseResult:
    """``12``, ``12个``, ``十二``, ``一百零五``, ``1.2万``, ``１２``, ``没换过`` (0) → int."""
    loc = _loc(ctx)
    s = _number_text(text, _COMMON_PREFIXES, _INT_SUFFIXES)
    d = _to_decimal(s) if s else None
    if d is None and s and _ZERO.fullmatch(s):
        return Ok(0)
    if d is None:
        return Err(t("parse.integer.invalid", loc))
    if abs(d) >= LIMIT:
        return Err(t("parse.number.too_large", loc, example="12"))
    if d != d.to_integral_value():
        return Err(t("parse.integer.not_whole", loc))
    return Ok(int(d))


def parse_amount(text: str, ctx: ParseContext) -> ParseResult:
    """``5000``, ``5000元``, ``五千``, ``0.5万元``, ``¥1,200.50`` → yuan (int if whole, else float)."""
    loc = _loc(ctx)
    s = _number_text(text, _AMOUNT_PREFIXES, _AMOUNT_SUFFIXES)
    d = _to_decimal(s) if s else None
    if d is None:
        return Err(t("parse.amount.invalid", loc))
    if abs(d) >= LIMIT:
        return Err(t("parse.number.too_large", loc, example="5000"))
    d = d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=_CTX)
    return Ok(_dec_to_value(d))


def _two_digit_year(yy: int, inspection_year: int) -> int:
    year = inspection_year // 100 * 100 + yy
    return year - 100 if year > inspection_year else year


def parse_year(text: str, ctx: ParseContext) -> ParseResult:
    """``2006``, ``2006年``, ``二〇〇六年``, ``二零零六``, ``两千零六年``, ``06年`` → int.

    Two-digit years up to the inspection year's last two digits are 20xx, the rest 19xx.
    The plausible range (1949..inspection year) is the question's min/max.
    """
    err = Err(t("parse.year.invalid", _loc(ctx)))
    s = _number_text(text, _YEAR_PREFIXES, _YEAR_SUFFIXES)
    if not s:
        return err
    s = s.lstrip("'’")
    digits: str | None = None
    if s.isascii() and s.isdigit():
        digits = s
    elif set(s) <= set(_CN_DIGITS):
        try:
            converted = cn2an.cn2an(s, "direct")
        except Exception:
            converted = None
        if isinstance(converted, str) and converted.isascii() and converted.isdigit():
            digits = converted
    if digits is not None:
        if len(digits) == 4 and digits[0] != "0":
            return Ok(int(digits))
        if len(digits) == 2:
            return Ok(_two_digit_year(int(digits), ctx.inspection_year))
        return err
    d = _to_decimal(s)
    if d is not None and d == d.to_integral_value() and 1000 <= d <= 9999:
        return Ok(int(d))
    return err


_CHENG = re.compile(r"(.+?)成(.?)")
_FRACTION = re.compile(r"(.+?)分之(.+)")  # 三分之一


def parse_percent(text: str, ctx: ParseContext) -> ParseResult:
    """``80``, ``80%``, ``百分之八十``, ``八成``, ``八成五`` → 0..100 (int if whole, else float)."""
    loc = _loc(ctx)
    s = _number_text(text, _COMMON_PREFIXES, _PERCENT_SUFFIXES)
    d: Decimal | None = None
    if s:
        fraction = _FRACTION.fullmatch(s)
        if s in ("一半", "半数", "一半儿"):
            d = Decimal(50)
        elif s.startswith("百分之") and len(s) > 3:
            d = _to_decimal(s[3:])
        elif fraction is not None:
            whole, part = _to_decimal(fraction.group(1)), _to_decimal(fraction.group(2))
            if whole and part is not None and 0 <= part <= whole:
                d = part * 100 / whole
        elif (m := _CHENG.fullmatch(s)) is not None:
            tenths = _to_decimal(m.group(1))
            extra = _to_decimal(m.group(2)) if m.group(2) else Decimal(0)
            if (
                tenths is not None
                and extra is not None
                and 0 <= tenths <= 10
                and 0 <= extra <= 9
                and extra == extra.to_integral_value()
            ):
                d = tenths * 10 + extra
        else:
            d = _to_decimal(s)
    if d is None:
        return Err(t("parse.percent.invalid", loc))
    if not 0 <= d <= 100:
        return Err(t("parse.percent.range", loc))
    d = d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=_CTX)
    return Ok(_dec_to_value(d))


# ---------------------------------------------------------------------------- choices

_AMBIGUOUS = "\x00ambiguous"


def _choice_words(choice: Choice) -> tuple[str, ...]:
    return choice.words


def _choice_number(s: str, count: int) -> int | None:
    m = re.fullmatch(r"(?:第|no\.?|#)?(.+?)(?:个|项|号|个选项|\.)?", s)
    if not m:
        return None
    d = _to_decimal(m.group(1))
    if d is None or d != d.to_integral_value() or not 1 <= d <= count:
        return None
    return int(d)


_NEGATIONS = ("不", "没", "未", "非", "无")


def _contained(s: str, choices: list[Choice]) -> list[str]:
    """Keys of the choices one of whose words (2+ characters) appears in ``s`` un-negated."""
    found: list[str] = []
    for choice in choices:
        for word in _choice_words(choice):
            if len(word) >= 2 and word in s:
                rest = s.replace(word, " ")
                if not any(neg in rest for neg in _NEGATIONS):
                    found.append(choice.key)
                    break
    return found


def _exact_choice(s: str, choices: list[Choice]) -> str | None:
    for choice in choices:
        if s in _choice_words(choice):
            return choice.key
    return None


def _resolve_choice(s: str, choices: list[Choice]) -> str | None:
    """Choice key for one token: key, label, alias, number shown, or unique containment.

    Returns ``_AMBIGUOUS`` when the token names more than one choice.
    """
    if not s:
        return None
    exact = _exact_choice(s, choices)
    if exact is not None:
        return exact
    number = _choice_number(s, len(choices))
    if number is not None:
        return choices[number - 1].key
    contained = _contained(s, choices)
    if len(contained) == 1:
        return contained[0]
    if len(contained) > 1:
        return _AMBIGUOUS
    if len(s) >= 2 and not any(neg in s for neg in _NEGATIONS):
        within = [c.key for c in choices if any(s in w for w in _choice_words(c))]
        if len(within) == 1:
            return within[0]
    return None


def _options(choices: list[Choice], loc: str) -> str:
    return " / ".join(f"{i}. {c.text(loc)}" for i, c in enumerate(choices, 1))


def parse_choice(text: str, choices: list[Choice], ctx: ParseContext) -> ParseResult:
    """One choice by label (either locale), by the number shown (1-based), or by key → key."""
    loc = _loc(ctx)
    example = choices[0].text(loc) if choices else ""
    s = _clean(text)
    key = _resolve_choice(s, choices) if s else None
    if key == _AMBIGUOUS and s:
        names = "、".join(c.text(loc) for c in choices if c.key in _contained(s, choices))
        return Err(t("parse.choice.ambiguous", loc, matches=names, example=example))
    if key is None:
        return Err(t("parse.choice.invalid", loc, options=_options(choices, loc), example=example))
    return Ok(key)


_ALL_WORDS = frozenset(
    {
        "全部",
        "全",
        "全都有",
        "都有",
        "全有",
        "所有",
        "全选",
        "全部都有",
        "都具备",
        "全部具备",
        "齐全",
        "都是",
        "以上都有",
        "以上全部",
        "all",
        "all of them",
        "everything",
        "both",
    }
)
_NONE_WORDS = frozenset(
    {
        "都没有",
        "都没",
        "全无",
        "都无",
        "没有",
        "无",
        "一个都没有",
        "一项都没有",
        "全都没有",
        "都不具备",
        "都不是",
        "以上都没有",
        "以上都不是",
        "均无",
        "none",
        "nothing",
        "neither",
        "no",
        "none of them",
    }
)
_MULTI_SPLIT = re.compile(r"\s*(?:[,，、;；/|+&]|以及|和|及|与|跟|\band\b)\s*")

# "All but X", said the ways people say it: 除了X都有 / 除X以外都落实了 / X以外都有 /
# 都有，就是没有X / 全部具备，只缺X. And "only X": 只有X / 仅X.
_ALL = (
    r"(?:其他|其余|别的|剩下的)?(?:的)?(?:都|全|均|全都|全部)"
    r"(?:有|是|具备|落实|做到|配备|到位|齐全|做了|可以)?(?:了)?"
)
_BUT_FORMS = (
    r"除(?:了|去)?{x}(?:以外|之外|外)?[,，\s]*" + _ALL,
    r"{x}(?:以外|之外)[,，\s]*" + _ALL,
    r"(?:都有|全有|全部都有|全都有|都具备|全部具备|都落实了?|全部落实了?|齐全)[,，\s]*"
    r"(?:就是|但是|只是|除了|唯独|只|仅)?(?:没有|缺少|缺|少了|少|不包括|差|没){x}(?:了)?",
    r"(?:all|everything)\s+(?:but|except)\s+{x}",
)
_ONLY_FORMS = (r"(?:只有|仅有|只是|只|仅|就只有|就){x}(?:这一项|一项|这项|了)?", r"only\s+{x}")


def _forms(forms: tuple[str, ...]) -> list[re.Pattern[str]]:
    """Each form with X as long as it can be, and as short: 除了防火，其他都有 reads one way
    only when no choice is called 其他."""
    return [re.compile(f.format(x=x)) for f in forms for x in ("(?P<x>.+)", "(?P<x>.+?)")]


_BUT = _forms(_BUT_FORMS)
_ONLY = _forms(_ONLY_FORMS)
_MISSING = re.compile(r"(?:没有|缺少|缺|没|未|无)(?P<x>.+?)(?:了)?")


def _segment(token: str, choices: list[Choice]) -> list[str] | None:
    """Split an unseparated run of labels such as 防火防盗防虫 (longest match first)."""
    vocab: list[tuple[str, str]] = sorted(
        ((w, c.key) for c in choices for w in _choice_words(c)), key=lambda p: -len(p[0])
    )
    keys: list[str] = []
    i = 0
    while i < len(token):
        if token[i].isspace():
            i += 1
            continue
        for word, key in vocab:
            if token.startswith(word, i):
                keys.append(key)
                i += len(word)
                break
        else:
            return None
    return keys


def _token_keys(token: str, choices: list[Choice]) -> list[str] | None:
    key = _resolve_choice(token, choices)
    if key is not None and key != _AMBIGUOUS:
        return [key]
    keys: list[str] = []
    for part in token.split():
        k = _resolve_choice(part, choices)
        found = [k] if k is not None and k != _AMBIGUOUS else _segment(part, choices)
        if not found:
            return None
        keys.extend(found)
    return keys or None


def _keys_of(text: str, choices: list[Choice]) -> set[str] | None:
    """The choices a list such as 防火、防盗 names; None if a part names none."""
    picked: set[str] = set()
    for token in (p for p in _MULTI_SPLIT.split(text) if p and not p.isspace()):
        keys = _token_keys(token.strip(), choices)
        if keys is None:
            return None
        picked.update(keys)
    return picked or None


def _all_but_or_only(s: str, choices: list[Choice]) -> set[str] | str | None:
    """The choices meant by "all but X" (every one except those X names) or "only X"; None
    if the text says neither; ``_AMBIGUOUS`` if it can be read two ways (除了税改，其他都有,
    where 其他 is a choice too)."""
    every = {c.key for c in choices}
    readings: set[frozenset[str]] = set()
    for patterns, but in ((_BUT, True), (_ONLY, False)):
        for pattern in patterns:
            m = pattern.fullmatch(s)
            if m is not None and (named := _keys_of(m.group("x"), choices)) is not None:
                readings.add(frozenset(every - named if but else named))
        if readings:
            break
    if len(readings) > 1:
        return _AMBIGUOUS
    return set(next(iter(readings))) if readings else None


def names_every_choice(text: str, choices: list[Choice]) -> bool:
    """The text answers for every choice at once (全部, 都没有, 除了X都有, 只有X), rather than
    listing some: on top of choices already ticked it replaces them instead of adding."""
    s = _clean(text)
    if not s:
        return False
    return s in _ALL_WORDS or s in _NONE_WORDS or _all_but_or_only(s, choices) is not None


def parse_multi(text: str, choices: list[Choice], ctx: ParseContext) -> ParseResult:
    """Several choices: ``1,3,5``, ``防火、防盗``, ``防火防盗``, ``全部``, ``都没有`` → keys.

    Keys come back in the order of the choices, without repeats.
    """
    loc = _loc(ctx)
    labels = [c.text(loc) for c in choices]
    example = t("checklist.value.list_separator", loc).join(labels[:2])
    options = _options(choices, loc)
    s = _clean(text)
    if not s:
        return Err(t("parse.multi.empty", loc, options=options, example=example))
    if s in _ALL_WORDS:
        return Ok([c.key for c in choices])
    if s in _NONE_WORDS:
        return Ok([])
    exact = _exact_choice(s, choices)
    if exact is not None:
        return Ok([exact])
    named = _all_but_or_only(s, choices)
    if named == _AMBIGUOUS:
        return Err(t("parse.multi.two_ways", loc, example=example))
    if isinstance(named, set):
        return Ok([c.key for c in choices if c.key in named])
    missing = _MISSING.fullmatch(s)
    if missing is not None and (gone := _keys_of(missing.group("x"), choices)) is not None:
        # 没有防火 says what is missing, not what is there: ask, rather than guess the rest.
        sep = t("checklist.value.list_separator", loc)
        names = sep.join(c.text(loc) for c in choices if c.key in gone)
        rest = sep.join([c.text(loc) for c in choices if c.key not in gone][:2])
        return Err(t("parse.multi.only_missing", loc, names=names, example=rest))
    picked: set[str] = set()
    for token in (p for p in _MULTI_SPLIT.split(s) if p and not p.isspace()):
        keys = _token_keys(token.strip(), choices)
        if keys is None:
            shown = token.strip() if len(token.strip()) <= 20 else token.strip()[:19] + "…"
            return Err(t("parse.multi.invalid", loc, token=shown, options=options, example=example))
        picked.update(keys)
    if not picked:
        return Err(t("parse.multi.empty", loc, options=options, example=example))
    return Ok([c.key for c in choices if c.key in picked])


# ---------------------------------------------------------------------------- text and photo


def parse_text(text: str, ctx: ParseContext, max_length: int = TEXT_MAX_LENGTH) -> ParseResult:
    """Free text: control characters removed, trimmed, non-empty, at most ``max_length`` characters."""
    loc = _loc(ctx)
    if not isinstance(text, str):
        return Err(t("parse.text.empty", loc))
    if len(text) > max_length * 4 + 1000:
        return Err(t("parse.text.too_long", loc, length=len(text), max=max_length))
    s = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")).strip()
    if not s:
        return Err(t("parse.text.empty", loc))
    if len(s) > max_length:
        return Err(t("parse.text.too_long", loc, length=len(s), max=max_length))
    return Ok(s)


def parse_photo(text: str, ctx: ParseContext) -> ParseResult:
    """A photo question answered with text: ask for the photo."""
    return Err(t("parse.photo.expected", _loc(ctx)))


# ---------------------------------------------------------------------------- dispatch

_EXAMPLES: dict[QType, int] = {QType.integer: 12, QType.amount: 5000, QType.year: 2006, QType.percent: 80}


def _bound(bound: Any, ctx: ParseContext) -> int | float | None:
    if bound is None:
        return None
    if bound == INSPECTION_YEAR:
        return ctx.inspection_year
    if isinstance(bound, int | float) and not isinstance(bound, bool):
        return bound
    return None


def _check_range(question: Question, value: int | float, ctx: ParseContext) -> Err | None:
    lo = _bound(question.min, ctx)
    hi = _bound(question.max, ctx)
    if (lo is None or value >= lo) and (hi is None or value <= hi):
        return None
    loc = _loc(ctx)
    example: int | float = _EXAMPLES.get(question.type, 12)
    if hi is not None:
        example = min(hi, example)
    if lo is not None:
        example = max(lo, example)
    shown = {
        "example": format_value(question, example, loc),
        "min": format_number(lo) if lo is not None else "",
        "max": format_number(hi) if hi is not None else "",
    }
    if lo is not None and hi is not None:
        return Err(t("parse.range.between", loc, **shown))
    if lo is not None:
        return Err(t("parse.range.min", loc, **shown))
    return Err(t("parse.range.max", loc, **shown))


def _strip_unit(question: Question, text: str) -> str:
    if not question.unit or not isinstance(text, str) or len(text) > MAX_INPUT:
        return text
    s = text.strip()
    for unit in sorted((u for u in question.unit.values() if u), key=len, reverse=True):
        if s.casefold().endswith(unit.casefold()) and len(s) > len(unit):
            return s[: -len(unit)]
    return text


def _other_answer(question: Question, text: str) -> str | None:
    """The key of one of the question's other answers (从未归档) the text names, if any."""
    s = _clean(text)
    if not s:
        return None
    key = _exact_choice(s, question.other_answers)
    if key is None:
        found = _contained(s, question.other_answers)
        key = found[0] if len(found) == 1 else None
    return key


def parse_answer(question: Question, text: str, ctx: ParseContext) -> ParseResult:
    """Understand ``text`` as an answer to ``question``; applies the question's min/max."""
    qtype = question.type
    result: ParseResult
    if qtype is QType.yesno:
        return parse_yesno(text, ctx)
    if qtype is QType.single:
        return parse_choice(text, question.choices, ctx)
    if qtype is QType.multi:
        return parse_multi(text, question.choices, ctx)
    if qtype is QType.text:
        return parse_text(text, ctx, question.max_length or TEXT_MAX_LENGTH)
    if qtype is QType.photo:
        return parse_photo(text, ctx)
    if question.other_answers and (other := _other_answer(question, text)) is not None:
        return Ok(other)
    text = _strip_unit(question, text)
    if qtype is QType.integer:
        result = parse_integer(text, ctx)
    elif qtype is QType.amount:
        result = parse_amount(text, ctx)
    elif qtype is QType.year:
        result = parse_year(text, ctx)
    else:
        result = parse_percent(text, ctx)
    if isinstance(result, Ok):
        out_of_range = _check_range(question, result.value, ctx)
        if out_of_range is not None:
            return out_of_range
    return result
