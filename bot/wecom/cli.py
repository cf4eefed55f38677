"""``archive-bot wecom …``: WeCom chores for operators."""

from __future__ import annotations

import asyncio

import typer

from bot.cli_support import err, h, out, settings_or_exit
from bot.i18n import t

wecom_app = typer.Typer(help=h("wecom"), no_args_is_help=True)

MENU = ("inspect", "cancel", "help")


def menu_buttons(locale: str | None) -> list[dict[str, str]]:
    """The application's menu: each item a click whose key is a command the dialog knows."""
    return [{"type": "click", "name": t(f"wecom.menu.{key}", locale), "key": key} for key in MENU]


@wecom_app.command("menu", help=h("wecom_menu"))
def menu() -> None:
    from bot.wecom.client import WeComClient, WeComError

    settings = settings_or_exit()
    if not settings.wecom_enabled:
        err.print(t("wecom.setup_hint", settings.bot_locale), highlight=False)
        raise typer.Exit(1)
    assert settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id is not None
    buttons = menu_buttons(settings.bot_locale)

    async def create() -> None:
        async with WeComClient(
            settings.wecom_corp_id or "",
            settings.wecom_secret.get_secret_value() if settings.wecom_secret else "",
            settings.wecom_agent_id or 0,
            base_url=settings.wecom_api_base_url,
        ) as client:
            await client.create_menu(buttons)

    try:
        asyncio.run(create())
    except WeComError as exc:
        err.print(str(exc), highlight=False)
        raise typer.Exit(1) from None
    items = " · ".join(b["name"] for b in buttons)
    out.print(t("wecom.menu_created", settings.bot_locale, agent_id=settings.wecom_agent_id, items=items))
