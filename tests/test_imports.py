"""The shape of the code: no import cycle under ``bot/`` or ``storage/`` (counting imports
inside functions and under TYPE_CHECKING too: hiding a cycle is not removing it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGES = ("bot", "storage")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module ``name`` imports, anywhere in it."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: {m for m in imports(name, path, known) if m in known and m != name}
        for name, path in known.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected part that has one (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]


# What code outside storage/ may take from the database libraries: the session's type (to pass
# it to a query function) and the errors (to say what went wrong). Queries live in storage/.
SQL_ALLOWED = {"sqlmodel.ext.asyncio.session", "sqlalchemy.exc"}


def sql_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        found.update(n for n in names if n.split(".")[0] in ("sqlalchemy", "sqlmodel", "alembic"))
    return found - SQL_ALLOWED


def test_no_sql_outside_storage() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(found)
        for path in (ROOT / "bot").rglob("*.py")
        if (found := sql_imports(path))
    }
    assert offenders == {}


def test_the_sql_finder_finds_a_query(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from sqlmodel import select\nimport sqlalchemy.orm\nfrom sqlalchemy.exc import X\n")
    assert sql_imports(module) == {"sqlmodel", "sqlalchemy.orm"}
