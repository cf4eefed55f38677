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
