"""``archive-bot checklist validate FILE``, ``show``, ``export --out F.xlsx`` and ``import F.xlsx``.

(``install`` and ``list`` work on the database: bot/admin/checklists_cli.py.)
"""

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape as _escape
from rich.table import Table

from bot.i18n import normalise_locale, t

from .conditions import describe
from .files import FileError, load_any, write_any
from .loader import ChecklistError, builtin_checklist, load_checklist
from .schema import Checklist
from .workbook_import import WorkbookError

HELP_LOCALE = normalise_locale(os.environ.get("BOT_LOCALE"))


def _h(key: str) -> str:
    return t(f"checklists.cli.help_{key}", HELP_LOCALE)


checklist_app = typer.Typer(help=t("cli.help.checklist", HELP_LOCALE), no_args_is_help=True)
LocaleOption = Annotated[str, typer.Option("--locale", "-l", help=_h("locale"))]


@checklist_app.command("validate", help=_h("validate"))
def validate(
    file: Annotated[Path, typer.Argument(help=_h("validate_file"))],
    locale: LocaleOption = HELP_LOCALE,
) -> None:
    console = Console(highlight=False)
    try:
        checklist = load_checklist(file)
    except ChecklistError as exc:
        Console(stderr=True, highlight=False).print(exc.message(locale), markup=False)
        raise typer.Exit(code=1) from None
    console.print(
        t(
            "checklist.cli.validate_ok",
            locale,
            name=checklist.name,
            version=checklist.version,
            count=len(checklist.questions()),
        ),
        markup=False,
    )


def render(checklist: Checklist, locale: str, console: Console) -> None:
    """Print the checklist's sections, questions, checks, flags and score weights."""
    console.print(
        t(
            "checklist.cli.title",
            locale,
            title=checklist.text(locale),
            name=checklist.name,
            version=checklist.version,
            count=len(checklist.questions()),
        ),
        style="bold",
        markup=False,
    )
    yes, no = t("checklist.value.yes", locale), t("checklist.value.no", locale)
    number = 0
    for section in checklist.sections:
        console.print()
        console.print(f"[bold underline]{_escape(section.text(locale))}[/] [dim]({section.key})[/]")
        for q in section.questions:
            number += 1
            qtype = t(f"checklist.type.{q.type.value}", locale)
            if q.min is not None or q.max is not None:
                qtype += f" [{'' if q.min is None else q.min}..{'' if q.max is None else q.max}]"
            if q.unit_text(locale):
                qtype += f" {q.unit_text(locale)}"
            required = f"{t('checklist.cli.required', locale)}: {yes if q.required else no}"
            console.print(
                f"{number:>3}. [bold]{q.key}[/]  [cyan]{_escape(qtype)}[/]  [dim]{_escape(required)}[/]"
            )
            console.print(f"     {_escape(q.text(locale))}")
            help_text = q.help_text(locale)
            if help_text:
                console.print(f"     [dim]{_escape(help_text)}[/]")
            if q.choices:
                choices = " / ".join(f"{i}. {c.text(locale)} ({c.key})" for i, c in enumerate(q.choices, 1))
                console.print(f"     {_escape(t('checklist.cli.choices', locale))}: {_escape(choices)}")
            if q.when is not None:
                console.print(
                    f"     [yellow]{_escape(t('checklist.cli.when', locale))}: {_escape(describe(q.when))}[/]"
                )
    if checklist.checks:
        table = Table(title=t("checklist.cli.checks", locale), title_justify="left")
        table.add_column(t("checklist.cli.key", locale), no_wrap=True)
        table.add_column(t("checklist.cli.when", locale))
        for check in checklist.checks:
            table.add_row(check.key, _escape(describe(check.rule)))
        console.print(table)
    if checklist.flags:
        table = Table(title=t("checklist.cli.flags", locale), title_justify="left")
        table.add_column(t("checklist.cli.key", locale), no_wrap=True)
        table.add_column(t("checklist.cli.severity", locale))
        table.add_column(t("checklist.cli.label", locale))
        table.add_column(t("checklist.cli.when", locale))
        for flag in checklist.flags:
            table.add_row(
                flag.key,
                flag.severity,
                _escape(flag.label.get(locale) or flag.label.get("zh-CN", "")),
                _escape(describe(flag.when)),
            )
        console.print(table)
    if checklist.score:
        total = sum(item.weight for item in checklist.score)
        table = Table(title=t("checklist.cli.score", locale, total=total), title_justify="left")
        table.add_column(t("checklist.cli.key", locale), no_wrap=True)
        table.add_column(t("checklist.cli.weight", locale), justify="right")
        table.add_column(t("checklist.cli.when", locale))
        for item in checklist.score:
            if item.when is not None:
                source = describe(item.when)
            elif item.map is not None:
                source = f"{item.map.q}: " + ", ".join(f"{k}={v}" for k, v in item.map.values.items())
            elif item.share is not None:
                source = f"share of {item.share}"
            else:
                source = f"fact {item.fact}"
                if item.fact == "filing_lag":
                    source += f" (1 at ≤{item.full_at}, 0 at ≥{item.zero_at})"
            table.add_row(item.key, str(item.weight), _escape(source))
        console.print(table)


@checklist_app.command("show", help=_h("show"))
def show(
    locale: LocaleOption = HELP_LOCALE,
    file: Annotated[Path | None, typer.Option("--file", "-f", help=_h("show_file"))] = None,
) -> None:
    try:
        checklist = load_checklist(file) if file is not None else builtin_checklist()
    except ChecklistError as exc:
        Console(stderr=True, highlight=False).print(exc.message(locale), markup=False)
        raise typer.Exit(code=1) from None
    render(checklist, locale, Console(highlight=False))


def _fail(exc: FileError, locale: str) -> typer.Exit:
    Console(stderr=True, highlight=False, soft_wrap=True).print(exc.message(locale), markup=False)
    return typer.Exit(code=1)


def _write(checklist: Checklist, out: Path, locale: str) -> None:
    try:
        write_any(checklist, out)
    except ValueError:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            t("checklists.cli.bad_suffix", locale, file=out), markup=False
        )
        raise typer.Exit(code=1) from None
    Console(highlight=False, soft_wrap=True).print(
        t(
            "checklists.cli.exported",
            locale,
            file=out,
            name=checklist.name,
            version=checklist.version,
            count=len(checklist.questions()),
        ),
        markup=False,
    )


@checklist_app.command("export", help=_h("export"))
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help=_h("out"))],
    file: Annotated[Path | None, typer.Option("--file", "-f", help=_h("file"))] = None,
    name: Annotated[str, typer.Option("--name", help=_h("name"))] = "township_archive",
    locale: LocaleOption = HELP_LOCALE,
) -> None:
    try:
        checklist = load_any(file) if file is not None else builtin_checklist(name)
    except (ChecklistError, WorkbookError) as exc:
        raise _fail(exc, locale) from None
    _write(checklist, out, locale)


@checklist_app.command("import", help=_h("import"))
def import_(
    file: Annotated[Path, typer.Argument(help=_h("file"))],
    out: Annotated[Path | None, typer.Option("--out", "-o", help=_h("out"))] = None,
    locale: LocaleOption = HELP_LOCALE,
) -> None:
    try:
        checklist = load_any(file)
    except (ChecklistError, WorkbookError) as exc:
        raise _fail(exc, locale) from None
    if out is None:
        render(checklist, locale, Console(highlight=False, soft_wrap=True))
        Console(highlight=False, soft_wrap=True).print(
            t(
                "checklist.cli.validate_ok",
                locale,
                name=checklist.name,
                version=checklist.version,
                count=len(checklist.questions()),
            ),
            markup=False,
        )
    else:
        _write(checklist, out, locale)
