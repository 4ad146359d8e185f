"""The layers of bot/ and the direction data walks (README, "How it is built"):

update -> handler (parse, call a service, render) -> service (rules) -> repository (SQL) -> DB;
the services import nothing of bot.storage: they ask for the protocols in
bot/services/stores.py, which the repositories implement structurally (mypy checks each where
the composition root passes it), in the domain's values (bot/domain imports nothing of the bot
outside itself). The outbound side that must know Telegram lives in bot/notifications and
reaches the services through the protocols in bot/services/ports.py. These tests read every
module's imports (also those inside functions and under TYPE_CHECKING) and hold the rules, and
that nothing circles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted (for `from a import b`: a.b if a.b is a module)
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(package: Path) -> Iterator[Import]:
    root = package.parent
    modules = {module_name(p, root) for p in package.rglob("*.py")}
    for path in sorted(package.rglob("*.py")):
        name = module_name(path, root)
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against this module's package
                    anchor = name.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    yield Import(name, sub if sub in modules else base, node.lineno)


def within(target: str, *prefixes: str) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def violations(
    package: Path, layer: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()
) -> list[str]:
    return [
        f"{i.module}:{i.line} imports {i.target}"
        for i in imports_of(package)
        if within(i.module, layer)
        and within(i.target, *forbidden)
        and not within(i.target, *allowed)
    ]


def cycles(package: Path) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    top = package.name
    for i in imports_of(package):
        graph.setdefault(i.module, set())
        if within(i.target, top) and i.target != i.module:
            graph[i.module].add(i.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


BOT = ROOT / "bot"
TELEGRAM = ("aiogram", "aiogram_i18n", "fluent")
SQL = ("aiosqlite", "sqlite3", "bot.storage.db")

RULES = [
    # (layer, what it must not import, why)
    ("bot.domain", ("bot", *TELEGRAM, *SQL), "the domain is plain rules, nothing of the bot"),
    ("bot.services", TELEGRAM, "services hold rules; Telegram is the handlers' and notifications'"),
    (
        "bot.services",
        ("bot.storage", *SQL),
        "services reach storage only through the protocols of bot/services/stores.py",
    ),
    (
        "bot.services",
        ("bot.app", "bot.handlers", "bot.notifications", "bot.keyboards", "bot.middlewares"),
        "services are called, they call nothing above them",
    ),
    ("bot.handlers", ("bot.storage", "bot.app", "bot.notifications"), "handlers get services"),
    ("bot.storage", ("bot.services", "bot.handlers", "bot.notifications", "bot.app"), "SQL only"),
    ("bot.notifications", ("bot.handlers", "bot.app"), "the outbound side is used, not using"),
]


@pytest.mark.parametrize(
    ("layer", "forbidden", "why"), RULES, ids=[r[0] + ":" + r[2] for r in RULES]
)
def test_each_layer_imports_only_what_lies_below_it(
    layer: str, forbidden: tuple[str, ...], why: str
) -> None:
    assert violations(BOT, layer, forbidden, allowed=(layer,)) == [], why


def test_no_module_of_the_bot_imports_one_that_imports_it_back() -> None:
    assert cycles(BOT) == []


def test_services_hold_no_sql_text() -> None:
    keywords = ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM")
    offending = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in (BOT / "services").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and any(k in node.value.upper() for k in keywords)
    ]
    assert offending == []


# The checker itself, on a package made for the purpose: each rule can fail.


def make_package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path / "pkg"


def test_the_checker_sees_imports_inside_functions_and_type_checking(tmp_path: Path) -> None:
    pkg = make_package(
        tmp_path,
        {
            "__init__.py": "",
            "services/__init__.py": "",
            "services/a.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.app import App\n"
                "def f():\n    import aiogram\n"
            ),
            "app.py": "from .services import a\n",
        },
    )
    assert violations(pkg, "pkg.services", ("aiogram",)) == ["pkg.services.a:5 imports aiogram"]
    assert violations(pkg, "pkg.services", ("pkg.app",)) == ["pkg.services.a:3 imports pkg.app"]
    assert cycles(pkg) == [["pkg.app", "pkg.services.a"]]


def test_the_checker_finds_no_circle_where_imports_go_one_way(tmp_path: Path) -> None:
    pkg = make_package(
        tmp_path,
        {"__init__.py": "", "a.py": "from pkg import b\n", "b.py": "import pkg.c\n", "c.py": ""},
    )
    assert cycles(pkg) == []


# The shape issue 10 asks for: no file in bot/ over 400 lines, no function over 60, unless
# the line that defines it says why ("# long: <reason>").
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def too_long(package: Path) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        if len(lines) > MAX_FILE_LINES and "# long:" not in lines[0]:
            found.append(f"{path.name}: {len(lines)} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES and "# long:" not in lines[node.lineno - 1]:
                    found.append(f"{path.name}: {node.name} {length} lines")
    return found


def test_no_file_of_the_bot_over_400_lines_nor_function_over_60() -> None:
    assert too_long(BOT) == []


def test_the_length_check_sees_a_long_function_unless_it_says_why(tmp_path: Path) -> None:
    body = "".join(f"    x{n} = {n}\n" for n in range(60))
    pkg = make_package(
        tmp_path,
        {"a.py": f"def long():\n{body}\n\ndef said():  # long: a table\n{body}"},
    )
    assert too_long(pkg) == ["a.py: long 61 lines"]
