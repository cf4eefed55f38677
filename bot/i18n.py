"""Message catalogue: one YAML file per locale in ``bot/locales``; zh-CN is the default.

Keys are dotted paths (``parse.integer.invalid``). A key missing from a locale falls back
to zh-CN, and a key missing everywhere is returned as itself so a gap is visible, not fatal.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")
_DIR = Path(__file__).parent / "locales"


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = str(value)
    return flat


@cache
def catalogue(locale: str) -> dict[str, str]:
    path = _DIR / f"{locale}.yaml"
    if not path.exists():
        return {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ten times faster
    return _flatten(yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {})


_NORMAL = frozenset({DEFAULT_LOCALE, "en"})


def normalise_locale(locale: str | None) -> str:
    if locale in _NORMAL:  # the common case, every text of every turn
        return locale
    if not locale:
        return DEFAULT_LOCALE
    if locale.lower().startswith("en"):
        return "en"
    return DEFAULT_LOCALE


def t(key: str, locale: str | None = None, /, **params: Any) -> str:
    """The text for ``key`` in ``locale`` with ``{name}`` placeholders filled from ``params``."""
    loc = normalise_locale(locale)
    text = catalogue(loc).get(key) or catalogue(DEFAULT_LOCALE).get(key) or key
    return text.format(**params) if params else text
