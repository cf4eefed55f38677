"""A role as people read it, in their language (the township contact's name is in the
rectification section of the catalogue, the other roles' in ``people.role``)."""

from __future__ import annotations

from bot.i18n import t
from storage.models import Role


def role_text(role: str, locale: str) -> str:
    if role == Role.contact:
        return t("rectification.role", locale)
    return t(f"people.role.{role}", locale) if role in tuple(Role) else role
