"""`python -m bench` (or `make bench`): every benchmark, each in its own process, in order.

Each prints its own figures next to their targets; `python -m bench conversation` runs one.
The conversation benchmark runs first and its target 1 line (ours / floor (b), the p99 of one
resident) is printed before everything else. `data-postgresql` (bench.data --engine
postgresql) runs when the PostgreSQL at TEST_POSTGRES_URL answers, else says in one line why not;
`scaleout` (the conversation on PostgreSQL + Redis against SQLite) likewise needs both servers.
`outbox` drains 100,000 billing events through a receiver that verifies their signatures.
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import time

from bench.postgres import address, server_url, why_not

TARGET_LINE = "target 1:"  # bench.conversation prints it; printed here before all else

BENCHMARKS = ("conversation", "broadcast", "data", "data-postgresql", "scaleout", "outbox")
# name -> the module and its arguments, where they differ from `bench.<name>`
COMMANDS = {"data-postgresql": ("bench.data", "--engine", "postgresql")}
NEEDS_POSTGRES = {"data-postgresql"}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fp:
            names = [line.split(":", 1)[1].strip() for line in fp if line.startswith("model name")]
            cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    failed = 0
    first: list[str] = []
    if "conversation" in chosen:  # its output waits, so that target 1 is the first line
        chosen.remove("conversation")
        started = time.perf_counter()
        command = [sys.executable, "-m", "bench.conversation"]
        result = subprocess.run(command, check=False, capture_output=True, text=True)
        failed += result.returncode != 0
        target = [line for line in result.stdout.splitlines() if line.startswith(TARGET_LINE)]
        print(target[0] if target else f"{TARGET_LINE} not measured (the benchmark failed)")
        first = [
            "\n=== conversation ===",
            result.stdout + result.stderr,
            f"(conversation took {time.perf_counter() - started:.0f} s)",
        ]
    print(f"machine: {machine()}")
    print("\n".join(first), flush=True)
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        if name in NEEDS_POSTGRES and (why := asyncio.run(why_not(server_url()))):
            print(f"skipped: PostgreSQL not reachable at {address(server_url())} ({why})")
            continue
        started = time.perf_counter()
        module, *args = COMMANDS.get(name, (f"bench.{name}",))
        finished = subprocess.run([sys.executable, "-m", module, *args], check=False)
        print(f"({name} took {time.perf_counter() - started:.0f} s)", flush=True)
        failed += finished.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
