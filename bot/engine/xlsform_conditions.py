"""Conditions written the way XLSForm writes them, to and from the checklist's condition language.

``${has_room} = 'yes'``, ``. <= ${villages_total}``, ``selected(${protections}, 'fire')``,
``not(...)``, ``and``, ``or`` and parentheses are XLSForm's own. What the checklist can say and
XLSForm has no word for is written as a few functions of this project's (see README):
``selected-any/selected-all/missing-any(${q}, 'a', 'b')``, ``one-of(${q}, 'a', 'b')``,
``flag('key')`` (a report group naming a finding), ``${inspection_year}`` (``- 3``: three years
before it) and ``${registry_villages}`` (the registry's count of the township's villages).
An answered test is XLSForm's ``${q} != ''`` (``= ''``: not answered).

Expressions are lexed by pyxform's own lexer (the one its XLSForm checks use); the grammar on top
is small enough to read. ``render`` writes exactly what ``compile_condition`` reads back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyxform.parsing.expression import parse_expression

from .schema import INSPECTION_YEAR, REGISTRY_FACTS, Cond, Known, QType, Ref, YearOffset

SELF = "."
REGISTRY_PREFIX = "registry_"
RESERVED_NAMES = frozenset({INSPECTION_YEAR, *(REGISTRY_PREFIX + f for f in REGISTRY_FACTS)})

_COMPARE = {"=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}
_LIST_FUNCS = {
    "selected-any": "has_any",
    "selected-all": "has_all",
    "missing-any": "missing_any",
    "one-of": "in",
}


class ExpressionError(ValueError):
    """An expression that cannot be read: ``fault`` is a ``checklists.fault.*`` key."""

    def __init__(self, fault: str, **params: Any) -> None:
        super().__init__(fault, params)
        self.fault = fault
        self.params = params


@dataclass
class _Tok:
    kind: str
    text: str


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    for tok in parse_expression(text):
        kind, value = tok.type, str(tok)
        if kind == "WHITESPACE":
            continue
        if kind == "OPS_BOOL":
            value = value.strip()
        # pyxform lexes "<=" as "<" and "="
        if (
            kind == "OPS_COMP"
            and value == "="
            and out
            and out[-1].kind == "OPS_COMP"
            and out[-1].text in "<>"
        ):
            out[-1].text += "="
            continue
        out.append(_Tok(kind, value))
    return out


class _Parser:
    def __init__(self, text: str, types: dict[str, QType], self_key: str | None, flags: bool) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.pos = 0
        self.types = types
        self.self_key = self_key
        self.flags = flags

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, kind: str | None = None, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or (kind is not None and tok.kind != kind) or (text is not None and tok.text != text):
            shown = tok.text if tok is not None else "…"
            raise ExpressionError("expression_syntax", near=shown)
        self.pos += 1
        return tok

    def parse(self) -> dict[str, Any]:
        if not self.toks:
            raise ExpressionError("expression_empty")
        cond = self.or_expr()
        if self.peek() is not None:
            raise ExpressionError("expression_syntax", near=self.peek().text)  # type: ignore[union-attr]
        return cond

    def or_expr(self) -> dict[str, Any]:
        items = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OPS_BOOL" and tok.text == "or":
            self.pos += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else {"any": items}

    def and_expr(self) -> dict[str, Any]:
        items = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind == "OPS_BOOL" and tok.text == "and":
            self.pos += 1
            items.append(self.unary())
        return items[0] if len(items) == 1 else {"all": items}

    def unary(self) -> dict[str, Any]:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("expression_syntax", near="…")
        if tok.kind == "OPEN_PAREN":
            self.pos += 1
            inner = self.or_expr()
            self.take("CLOSE_PAREN")
            return inner
        if tok.kind == "FUNC_CALL":
            return self.call()
        return self.comparison()

    def call(self) -> dict[str, Any]:
        name = self.take("FUNC_CALL").text[:-1]
        if name == "not":
            inner = self.or_expr()
            self.take("CLOSE_PAREN")
            return {"not": inner}
        if name == "flag":
            key = self.literal()
            self.take("CLOSE_PAREN")
            if not self.flags:
                raise ExpressionError("expression_flag_not_here")
            return {"flag": key}
        if name == "selected" or name in _LIST_FUNCS:
            key = self.question_ref()
            values: list[str] = []
            while self.peek() is not None and self.peek().kind == "COMMA":  # type: ignore[union-attr]
                self.pos += 1
                values.append(self.literal())
            self.take("CLOSE_PAREN")
            if not values or (name == "selected" and len(values) != 1):
                raise ExpressionError("expression_function_args", function=name)
            qtype = self.types[key]
            if name == "selected":
                if qtype is QType.multi:
                    return {"q": key, "has_any": values}
                return {"q": key, "eq": self.value(key, values[0])}
            op = _LIST_FUNCS[name]
            if op == "in":
                return {"q": key, "in": [self.value(key, v) for v in values]}
            return {"q": key, op: values}
        raise ExpressionError("expression_unknown_function", function=name)

    def literal(self) -> str:
        tok = self.take("SYSTEM_LITERAL")
        return tok.text[1:-1]

    def question_ref(self) -> str:
        tok = self.take()
        if tok.kind == "SELF_REF":
            if self.self_key is None:
                raise ExpressionError("expression_self_not_here")
            return self.self_key
        if tok.kind != "PYXFORM_REF":
            raise ExpressionError("expression_syntax", near=tok.text)
        name = tok.text[2:-1]
        if name not in self.types:
            raise ExpressionError("expression_unknown_question", ref=name)
        return name

    def value(self, key: str, raw: str) -> Any:
        """A quoted value compared with question ``key``'s answer, as the checklist stores it."""
        qtype = self.types[key]
        if qtype is QType.yesno:
            if raw not in ("yes", "no"):
                raise ExpressionError("expression_yesno_value", ref=key, value=raw)
            return raw == "yes"
        return raw

    def operand(self) -> Any:
        """The right-hand side of a comparison: a number, a quoted word, a question, the year…"""
        tok = self.take()
        if tok.kind == "NUMBER":
            return ("number", _number(tok.text))
        if tok.kind == "SYSTEM_LITERAL":
            return ("word", tok.text[1:-1])
        if tok.kind == "SELF_REF":
            if self.self_key is None:
                raise ExpressionError("expression_self_not_here")
            return ("q", self.self_key)
        if tok.kind == "PYXFORM_REF":
            name = tok.text[2:-1]
            if name == INSPECTION_YEAR:
                nxt = self.peek()
                if nxt is not None and nxt.kind == "OPS_MATH" and nxt.text in "+-":
                    self.pos += 1
                    amount = self.take("NUMBER").text
                    offset = int(amount) if nxt.text == "+" else -int(amount)
                    return ("offset", offset)
                if nxt is not None and nxt.kind == "NUMBER" and nxt.text.startswith("-"):
                    self.pos += 1
                    return ("offset", int(nxt.text))
                return ("year", INSPECTION_YEAR)
            if name.startswith(REGISTRY_PREFIX) and name[len(REGISTRY_PREFIX) :] in REGISTRY_FACTS:
                return ("registry", name[len(REGISTRY_PREFIX) :])
            if name not in self.types:
                raise ExpressionError("expression_unknown_question", ref=name)
            return ("q", name)
        raise ExpressionError("expression_syntax", near=tok.text)

    def comparison(self) -> dict[str, Any]:
        left = self.operand()
        tok = self.take("OPS_COMP")
        if tok.text not in _COMPARE:
            raise ExpressionError("expression_syntax", near=tok.text)
        op = _COMPARE[tok.text]
        right = self.operand()
        if left[0] != "q":
            if right[0] != "q":
                raise ExpressionError("expression_no_question")
            left, right = right, left
            op = _FLIP[op]
        key = left[1]
        kind, raw = right
        if kind == "word" and raw == "" and op in ("eq", "ne"):
            return {"q": key, "answered": op == "ne"}
        if op in ("eq", "ne"):
            if kind == "word":
                return {"q": key, op: self.value(key, raw)}
            if kind == "number":
                return {"q": key, op: raw}
            raise ExpressionError("expression_compare_value", ref=key)
        if kind == "number":
            return {"q": key, op: raw}
        if kind == "q":
            return {"q": key, op: {"q": raw}}
        if kind == "year":
            return {"q": key, op: INSPECTION_YEAR}
        if kind == "offset":
            return {"q": key, op: {"inspection_year": raw}}
        if kind == "registry":
            return {"q": key, op: {"registry": raw}}
        raise ExpressionError("expression_compare_value", ref=key)


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def compile_condition(
    text: str, types: dict[str, QType], *, self_key: str | None = None, flags: bool = False
) -> dict[str, Any]:
    """``text`` (XLSForm syntax) as a condition document (``Cond.model_validate`` reads it).

    ``types``: every question's type by key (a yes/no compares with 'yes'/'no'); ``self_key``:
    the question ``.`` stands for (a constraint); ``flags``: ``flag('key')`` is allowed."""
    return _Parser(text, types, self_key, flags).parse()


# ---------------------------------------------------------------------------- rendering


def _quote(value: str) -> str:
    return f'"{value}"' if "'" in value else f"'{value}'"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "'yes'" if value else "'no'"
    if isinstance(value, str):
        return _quote(value)
    return _num(value)


def _num(value: int | float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _operand(value: Any) -> str:
    if isinstance(value, Ref):
        return "${" + value.q + "}"
    if isinstance(value, YearOffset):
        n = value.inspection_year
        return "${" + INSPECTION_YEAR + "}" + (f" - {-n}" if n < 0 else f" + {n}")
    if isinstance(value, Known):
        return "${" + REGISTRY_PREFIX + value.registry + "}"
    if value == INSPECTION_YEAR:
        return "${" + INSPECTION_YEAR + "}"
    return _num(value)


_SYMBOLS = {v: k for k, v in _COMPARE.items()}


def render(cond: Cond, self_key: str | None = None) -> str:
    """``cond`` in XLSForm syntax (``self_key`` written as ``.``)."""

    def ref(key: str) -> str:
        return SELF if key == self_key else "${" + key + "}"

    def child(c: Cond) -> str:
        text = render(c, self_key)
        return f"({text})" if c.all_ is not None or c.any_ is not None else text

    if cond.all_ is not None:
        return " and ".join(child(c) for c in cond.all_)
    if cond.any_ is not None:
        return " or ".join(child(c) for c in cond.any_)
    if cond.not_ is not None:
        return f"not({render(cond.not_, self_key)})"
    if cond.flag is not None:
        return f"flag({_quote(cond.flag)})"
    assert cond.q is not None
    q = ref(cond.q)
    if cond.answered is not None:
        return f"{q} != ''" if cond.answered else f"{q} = ''"
    for op in ("eq", "ne"):
        value = getattr(cond, op)
        if value is not None:
            return f"{q} {_SYMBOLS[op]} {_scalar(value)}"
    for op in ("lt", "le", "gt", "ge"):
        value = getattr(cond, op)
        if value is not None:
            return f"{q} {_SYMBOLS[op]} {_operand(value)}"
    if cond.in_ is not None:
        return f"one-of({q}, " + ", ".join(_scalar(v) for v in cond.in_) + ")"
    if cond.has_any is not None and len(cond.has_any) == 1:
        return f"selected({q}, {_quote(cond.has_any[0])})"
    for op, name in (
        ("has_any", "selected-any"),
        ("has_all", "selected-all"),
        ("missing_any", "missing-any"),
    ):
        values = getattr(cond, op)
        if values is not None:
            return f"{name}({q}, " + ", ".join(_quote(v) for v in values) + ")"
    return "?"
