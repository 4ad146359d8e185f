"""The offline commands through the real command line (SPEC §2, §3): a refusal is one clear line
on stderr and a non-zero exit, with --skip-invalid or without; no BOT_TOKEN needed; a database
that does not exist is named, not created.

Most cases run the click group in-process (click's CliRunner, stderr apart from stdout, any
exception other than an exit raised into the test): each `python -m bot` costs seconds of
imports. The last tests run the same refusals as real processes, to prove `python -m bot`
itself: its entry point, its exit codes and what reaches the terminal."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli as command_line
from bot.logs import QUIETED_LOGGERS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "accounts.csv"
HEADER = "account;phone;address;meter;resource"
PROG = "python -m bot"


def environment(cwd: Path, db: Path | None, env: dict[str, str]) -> dict[str, str]:
    """The variables a command sees beyond PATH and HOME (every other upper-case one is unset)."""
    return {
        "DATABASE_URL": f"sqlite:///{db or cwd / 'db' / 'bot.sqlite3'}",
        "LANG": "C.UTF-8",
        **env,
    }


def process(
    cwd: Path, *args: str, db: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` as a real process."""
    clean = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    clean.update(PYTHONPATH=os.environ.get("PYTHONPATH", str(ROOT)))
    clean.update(environment(cwd, db, env))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """The command sets up logging on the runner's stderr; put the test's logging back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quieted = {name: logging.getLogger(name).level for name in QUIETED_LOGGERS}
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, lowest in quieted.items():
            logging.getLogger(name).setLevel(lowest)


def cli(
    cwd: Path, *args: str, db: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in this process, in `cwd`, with the environment `process` gives."""
    unset: dict[str, str | None] = {
        k: None for k in os.environ if k.isupper() and k not in ("PATH", "HOME")
    }
    runner = CliRunner(env={**unset, **environment(cwd, db, env)})
    with contextlib.chdir(cwd), logging_restored():
        # catch_exceptions=False: what would be a traceback in a process fails the test
        result = runner.invoke(command_line, list(args), catch_exceptions=False, prog_name=PROG)
    return subprocess.CompletedProcess(
        [PROG, *args], result.exit_code, result.stdout, result.stderr
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The refusal: a non-zero exit, one line on stderr, no traceback, nothing on stdout."""
    assert result.returncode != 0, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return lines[0]


def accounts(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM accounts").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the example file imported (made once, copied for each test)."""
    folder = tmp_path_factory.mktemp("loaded")
    result = cli(folder, "import", str(EXAMPLE), BOT_TOKEN="424242:cli-refusals")
    assert result.returncode == 0, result.stderr
    return folder / "db" / "bot.sqlite3"


@pytest.fixture
def db(loaded_db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "db" / "bot.sqlite3"
    target.parent.mkdir()
    shutil.copy(loaded_db, target)
    return target


def write(tmp_path: Path, data: bytes, name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("skip", [[], ["--skip-invalid"]], ids=["", "skip-invalid"])
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"account;meter;resource\n5012345678;A-1;gas\n", "missing column: phone"),
        (HEADER.encode() + b"\n", "the file has a header but no rows"),
        (f"{HEADER}\n5012345678;89161234567;;A;gas\n".encode("utf-16-le"), "the file is not UTF-8"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "the file is a workbook"),
    ],
    ids=["empty", "missing-column", "header-only", "utf-16", "truncated-xlsx"],
)
def test_import_refuses_a_file_it_cannot_read_with_a_non_zero_exit_even_skipping(
    tmp_path: Path, db: Path, skip: list[str], content: bytes, reason: str
) -> None:
    path = write(tmp_path, content)
    line = one_line(cli(tmp_path, "import", *skip, str(path)))
    assert line.startswith(f"error: {path}: {reason}")
    assert line.endswith("nothing was imported")
    assert accounts(db) == 12


@pytest.mark.parametrize("skip", [[], ["--skip-invalid"]], ids=["", "skip-invalid"])
def test_a_windows_1251_file_is_refused_as_a_file_in_one_line(
    tmp_path: Path, db: Path, skip: list[str]
) -> None:
    rows = "".join(
        f"50{n:08d};89161234567;г. Химки, ул. Ленина, д. {n};W-{n};cold_water\n"
        for n in range(2_000)
    )
    path = write(tmp_path, (HEADER + "\n" + rows).encode("cp1251"))
    line = one_line(cli(tmp_path, "import", *skip, str(path)))
    assert "not UTF-8" in line and "line 2" in line
    assert accounts(db) == 12


def test_import_skipping_every_row_as_bad_exits_non_zero(tmp_path: Path, db: Path) -> None:
    path = write(tmp_path, (HEADER + "\n5012345678;+1 212 555 1234;;A;gas\n").encode())
    result = cli(tmp_path, "import", "--skip-invalid", str(path))
    assert result.returncode == 1
    assert "line 2: phone" in result.stderr and "not a Russian number" in result.stderr
    assert accounts(db) == 12


def test_export_into_a_folder_that_does_not_exist_is_refused_in_one_line(
    tmp_path: Path, db: Path
) -> None:
    line = one_line(cli(tmp_path, "export", "--period", "2026-11", "--output", "no/such.csv"))
    assert line == "error: cannot write no/such.csv: the folder no does not exist"
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    "args",
    [["export", "--period", "2026-11"], ["stats"], ["send-reminders"]],
    ids=["export", "stats", "send-reminders"],
)
def test_offline_commands_refuse_a_database_that_does_not_exist(
    tmp_path: Path, args: list[str]
) -> None:
    mistyped = tmp_path / "dta" / "bot.sqlite3"
    line = one_line(cli(tmp_path, *args, db=mistyped, BOT_TOKEN="424242:cli-refusals"))
    assert line.startswith(f"error: no database at {mistyped}")
    assert not mistyped.exists() and not mistyped.parent.exists()


@pytest.mark.parametrize(
    "args",
    [["export", "--period", "2026-11"], ["stats"], ["import", "accounts.csv"]],
    ids=["export", "stats", "import"],
)
def test_offline_commands_refuse_an_unusable_database_in_one_line(
    tmp_path: Path, args: list[str]
) -> None:
    garbage = tmp_path / "db" / "bot.sqlite3"
    garbage.parent.mkdir()
    garbage.write_bytes(b"this is not a database" * 100)
    write(tmp_path, b"account,phone,meter,resource\n")
    line = one_line(cli(tmp_path, *args, db=garbage))
    assert line.startswith(f"error: cannot open the database at {garbage}")


def test_import_export_and_stats_need_no_bot_token(tmp_path: Path) -> None:
    result = cli(tmp_path, "import", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "Accounts: 12 created" in result.stdout
    result = cli(tmp_path, "export", "--period", "2026-11", "--output", "out.csv")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.csv").read_text().startswith("account,meter,resource,period")
    result = cli(tmp_path, "stats")
    assert result.returncode == 0, result.stderr
    assert "accounts:             12" in result.stdout
    # the one that talks to Telegram still wants it
    line = one_line(cli(tmp_path, "send-reminders"))
    assert line == "configuration error: BOT_TOKEN is not set (see .env.example)"


@pytest.mark.parametrize("level", ["info", "Debug"])
def test_log_level_is_accepted_in_any_case(tmp_path: Path, db: Path, level: str) -> None:
    result = cli(tmp_path, "stats", LOG_LEVEL=level)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_support_contact_is_refused(tmp_path: Path, db: Path, value: str) -> None:
    line = one_line(cli(tmp_path, "stats", SUPPORT_CONTACT=value))
    assert line.startswith("configuration error: SUPPORT_CONTACT is invalid")


@pytest.mark.parametrize(
    "command",
    ["", "run", "import", "export", "send-reminders", "stats", "sync", "migrate", "backup"],
)
def test_help_texts_speak_to_operators_not_of_the_spec(tmp_path: Path, command: str) -> None:
    result = cli(tmp_path, *([command] if command else []), "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert "SPEC" not in result.stdout and "§" not in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["import", "no-such-file.csv"], "error: Invalid value for 'FILE': File "),
        (["import"], "error: Missing argument 'FILE'."),
        (["export", "--period", "2026-13"], "error: Invalid value for --period: expected YYYY-MM"),
        (["stats", "--period", "last"], "error: Invalid value for --period: expected YYYY-MM"),
        (["export"], "error: Missing option '--period'."),
    ],
)
def test_a_refused_argument_is_one_line(
    tmp_path: Path, db: Path, args: list[str], expected: str
) -> None:
    line = one_line(cli(tmp_path, *args))
    assert line.startswith(expected)


# The real `python -m bot`: its entry point, exit codes and streams, for each kind of refusal


def test_python_m_bot_refuses_a_missing_argument_in_one_line_with_exit_2(tmp_path: Path) -> None:
    result = process(tmp_path, "import")
    assert one_line(result) == "error: Missing argument 'FILE'."
    assert result.returncode == 2


def test_python_m_bot_refuses_a_missing_database_in_one_line_with_exit_1(tmp_path: Path) -> None:
    mistyped = tmp_path / "dta" / "bot.sqlite3"
    result = process(tmp_path, "stats", db=mistyped)
    assert one_line(result).startswith(f"error: no database at {mistyped}")
    assert result.returncode == 1
    assert not mistyped.parent.exists()


def test_python_m_bot_help_speaks_to_operators(tmp_path: Path) -> None:
    result = process(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: {PROG} ")
    assert "SPEC" not in result.stdout and "§" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [["stats"], ["import", "accounts.csv"], ["migrate"], ["export", "--period", "2026-11"]],
    ids=["stats", "import", "migrate", "export"],
)
def test_a_database_url_naming_a_folder_is_refused_as_a_folder(
    tmp_path: Path, args: list[str]
) -> None:
    folder = tmp_path / "data" / "bot.sqlite3"
    folder.mkdir(parents=True)
    write(tmp_path, b"account,phone,meter,resource\n")
    line = one_line(cli(tmp_path, *args, db=folder))
    # before: "no database at ..." or "unable to open database file"
    assert line == f"error: {folder} is a folder, not a database (DATABASE_URL=sqlite:///{folder})"


def test_copy_db_to_a_url_without_a_path_is_refused_as_an_argument(
    tmp_path: Path, db: Path
) -> None:
    # before: "the database  is unusable: it is a directory (--to)"
    line = one_line(cli(tmp_path, "copy-db", "--to", "sqlite:///"))
    assert line == "error: Invalid value for --to: expected sqlite:///path or postgresql://…"


@pytest.mark.parametrize(
    "content",
    ["SUPPORT_CONTACT=Приветствуем\n".encode("cp1251"), "LOG_LEVEL=INFO\n".encode("utf-16")],
    ids=["cp1251", "utf-16"],
)
def test_a_dotenv_that_is_not_utf8_is_refused_in_one_line(
    tmp_path: Path, db: Path, content: bytes
) -> None:
    write(tmp_path, content, ".env")
    line = one_line(cli(tmp_path, "stats"))  # before: a UnicodeDecodeError traceback
    assert line == "configuration error: .env is not UTF-8 text; save it as UTF-8 and try again"


@pytest.mark.parametrize(
    "args",
    [
        ["export", "--period", "2026-11", "--output", ""],
        ["export", "--period", "2026-11", "--format", "gis", "--output", ""],
        ["backup", "--force", ""],
    ],
    ids=["export", "export-gis", "backup"],
)
def test_an_empty_output_name_is_refused_as_a_folder(
    tmp_path: Path, db: Path, args: list[str]
) -> None:
    line = one_line(cli(tmp_path, *args))
    assert line == "error: cannot write .: it is a folder; give a file name"
