"""Python child processes a test starts (and a fixture kills): a script run with `-c`, the
project on its path, its first printed line as its word that it is ready."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_child(started: list[subprocess.Popen[str]], script: str, *args: str) -> tuple[int, str]:
    """A Python process running `script`; returns its pid and the first line it prints."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    started.append(process)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line, "the child process printed nothing"
    return process.pid, line
