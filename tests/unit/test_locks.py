"""The lock files agree with pyproject.toml: a dependency added, dropped or re-ranged there
without `make lock` fails here, so no install (the Makefile's, the image's) runs on a stale lock.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"
PROJECT = "meter-readings-bot (pyproject.toml)"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


@dataclass
class Pin:
    version: str
    hashes: int = 0
    direct: bool = False  # pyproject.toml asks for it by name
    lines: list[str] = field(default_factory=list)


def read_lock(name: str) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in (LOCKS / name).read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = pins[canonicalize_name(match[1])] = Pin(match[2])
        elif current is not None:
            current.hashes += "--hash=sha256:" in line
            current.direct |= PROJECT in line
    return pins


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirements(specs: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(req.name): req for req in map(Requirement, specs)}


def runtime() -> dict[str, Requirement]:
    return requirements(pyproject()["project"]["dependencies"])


def with_test_extra() -> dict[str, Requirement]:
    return runtime() | requirements(pyproject()["project"]["optional-dependencies"]["test"])


def disagreements(lock: dict[str, Pin], wanted: dict[str, Requirement]) -> list[str]:
    problems = []
    for name, req in wanted.items():
        pin = lock.get(name)
        if pin is None:
            problems.append(f"{req} is not in the lock")
        elif not req.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{req}: the lock pins {pin.version}")
    stale = {name for name, pin in lock.items() if pin.direct} - wanted.keys()
    problems += [f"{name} is locked for pyproject.toml, which no longer asks" for name in stale]
    return problems


@pytest.mark.parametrize(
    ("lock", "wanted"),
    [("runtime.txt", runtime), ("test.txt", with_test_extra)],
)
def test_the_locks_hold_what_pyproject_asks_for(
    lock: str, wanted: Callable[[], dict[str, Requirement]]
) -> None:
    problems = disagreements(read_lock(lock), wanted())
    assert not problems, f"requirements/{lock} is stale, run `make lock`: " + "; ".join(problems)


def test_the_build_lock_holds_what_the_build_system_needs() -> None:
    wanted = requirements(pyproject()["build-system"]["requires"])
    assert disagreements(read_lock("build.txt"), wanted) == []


@pytest.mark.parametrize("lock", ["runtime.txt", "test.txt", "build.txt"])
def test_every_pin_carries_its_hashes(lock: str) -> None:
    pins = read_lock(lock)
    assert pins
    assert [name for name, pin in pins.items() if pin.hashes == 0] == []


def test_the_test_lock_pins_the_runtime_as_the_runtime_lock_does() -> None:
    # the image runs on runtime.txt, the tests on test.txt: the same versions, or the tests
    # would vouch for other code than the image ships
    test_lock = read_lock("test.txt")
    differing = {
        name: (pin.version, test_lock[name].version)
        for name, pin in read_lock("runtime.txt").items()
        if name in test_lock and test_lock[name].version != pin.version
    }
    assert differing == {}


def test_a_dependency_added_to_pyproject_alone_is_caught() -> None:
    wanted = runtime() | requirements(["xlsxwriter>=3.2"])
    assert disagreements(read_lock("runtime.txt"), wanted) == ["xlsxwriter>=3.2 is not in the lock"]
