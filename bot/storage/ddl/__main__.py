"""`python -m bot.storage.ddl` (`make schema`): writes the statements that create the schema
of bot/storage/schema.py on an empty database, one file per engine, beside this one.

The files are what a new database is created from (bot/storage/schema_version.py), so that
creating one does not import SQLAlchemy (17 MB of a process that then runs for months);
tests/unit/test_schema.py fails while they differ from what schema.py compiles to.
"""

from __future__ import annotations

from pathlib import Path

from bot.storage.dialect import Engine

HERE = Path(__file__).parent
ENGINES: tuple[Engine, ...] = ("sqlite", "postgresql")


def compiled(engine: Engine) -> str:
    """schema.py's tables and indexes as one engine's SQL, statements ending with `;`."""
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from bot.storage.schema import metadata

    dialect = sqlite.dialect() if engine == "sqlite" else postgresql.dialect()
    statements: list[str] = []
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
    header = f"-- generated from bot/storage/schema.py by `make schema`; do not edit ({engine})"
    return header + "\n" + "".join(f"{statement};\n\n" for statement in statements)


def path(engine: Engine) -> Path:
    return HERE / f"{engine}.sql"


if __name__ == "__main__":
    for engine in ENGINES:
        path(engine).write_text(compiled(engine), encoding="utf-8")
        print(f"wrote {path(engine)}")
