"""`python -m bot copy-db --to URL` as a real process (SPEC §3): no BOT_TOKEN; the comparison
table and one closing line when every table matches; each refusal one line on stderr and a
non-zero exit (a target holding rows, the configured database itself, a URL of another kind, a
server that does not answer, a bot running on the file)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.services.importer import import_file
from bot.storage.copy import TABLES
from bot.storage.engines import opened
from bot.storage.imports import ImportRepository
from bot.storage.instance_lock import hold_instance_lock
from bot.storage.schema_version import HEAD
from tests.e2e.processes import closed_port, lines
from tests.e2e.test_cli_refusals import EXAMPLE, process

TABLE_LINES = 1 + len(TABLES)  # the header, then one line per table


@pytest.fixture
async def source(tmp_path: Path) -> Path:
    """A SQLite database holding the example accounts (a dozen, with their meters)."""
    path = tmp_path / "source.sqlite3"
    async with opened(path) as db:
        report = await import_file(
            ImportRepository(db), EXAMPLE, now=datetime(2026, 11, 20, tzinfo=UTC)
        )
        assert report.imported and not report.errors
    return path


async def test_a_copy_prints_the_comparison_then_one_line(tmp_path: Path, source: Path) -> None:
    target = tmp_path / "copy" / "bot.sqlite3"
    done = process(tmp_path, "copy-db", "--to", f"sqlite:///{target}", db=source)
    assert done.returncode == 0, done.stderr
    out = lines(done.stdout)
    assert len(out) == TABLE_LINES + 1
    # the target's schema created, logged; no progress line for tables this small
    assert [line.split(" ", 3)[-1] for line in lines(done.stderr)] == [
        f"bot.storage.schema_version: creating the database schema (revision {HEAD})"
    ]
    assert out[0].split()[:3] == ["table", "rows", "rows"]
    accounts = next(line for line in out if line.startswith("accounts "))
    assert accounts.split()[1:3] == ["12", "12"] and accounts.endswith(" ok")
    assert all(line.endswith(" ok") for line in out[1:TABLE_LINES])
    assert out[-1].startswith(f"copied to {target}: ")
    assert out[-1].endswith(" rows, every table's count and checksum equal")

    again = process(tmp_path, "copy-db", "--to", f"sqlite:///{target}", db=source)
    assert again.returncode == 1 and again.stdout == ""
    assert lines(again.stderr) == [
        "error: the target database already holds rows: accounts (12), meters (36);"
        " copy-db fills only a new, empty database"
    ]


async def test_a_copy_into_postgresql(tmp_path: Path, source: Path, postgres_url: str) -> None:
    done = process(tmp_path, "copy-db", "--to", postgres_url, db=source)
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout)[-1].startswith("copied to PostgreSQL postgres@127.0.0.1:5432/test")


async def test_refusals_are_one_line(tmp_path: Path, source: Path) -> None:
    def refusal(url: str) -> tuple[int, list[str]]:
        done = process(tmp_path, "copy-db", "--to", url, db=source)
        assert done.stdout == ""
        return done.returncode, lines(done.stderr)

    assert refusal(f"sqlite:///{source}") == (
        1,
        ["error: --to names the configured database itself"],
    )
    assert refusal("mysql://db/bot") == (
        2,
        ["error: Invalid value for --to: expected sqlite:///path or postgresql://…"],
    )
    with closed_port() as url:
        port = url.rsplit(":", 1)[1]
        code, said = refusal(f"postgresql://postgres@127.0.0.1:{port}/bot")
    assert code == 1 and len(said) == 1
    assert said[0].startswith(f"error: the database PostgreSQL postgres@127.0.0.1:{port}/bot")
    assert said[0].endswith("(--to)")
    with hold_instance_lock(source):  # a bot running on the source
        code, said = refusal(f"sqlite:///{tmp_path / 'copy.sqlite3'}")
    assert code == 1 and len(said) == 1
    assert said[0].startswith("error: another bot process (pid ")
