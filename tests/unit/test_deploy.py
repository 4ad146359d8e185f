"""The image, the compose set and the systemd unit name what exists: no Docker engine runs here
(nor on CI), so these read the files and check each command, path and key against the
repository. README "Deploying" says what else was validated, and how (hadolint,
`docker compose config`, `systemd-analyze verify`).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import cli
from bot.run import STOP_BUDGET_SECONDS

ROOT = Path(__file__).resolve().parents[2]
HEALTH_PATHS = re.compile(r'add_get\("(/\w+)"')


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments), continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def served_paths() -> set[str]:
    return set(HEALTH_PATHS.findall((ROOT / "bot" / "web.py").read_text()))


def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(document, dict), "compose.yaml is not a mapping"
    return document


def unit() -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in (ROOT / "deploy" / "meterbot.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def test_the_image_is_built_in_stages_and_runs_as_a_user_of_its_own() -> None:
    steps = dockerfile()
    assert sum(1 for op, _ in steps if op == "FROM") >= 2
    user = [args for op, args in steps if op == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")


def test_the_image_copies_only_what_the_repository_holds() -> None:
    for op, args in dockerfile():
        if op == "COPY" and "--from" not in args:
            *sources, _target = shlex.split(args)
            for source in sources:
                assert list(ROOT.glob(source.rstrip("/"))), f"COPY {source}: not in the repo"


def test_the_image_installs_from_the_locks_with_their_hashes() -> None:
    installs = [args for op, args in dockerfile() if op == "RUN" and "pip install" in args]
    locked = " ".join(installs)
    for lock in re.findall(r"-r (\S+)", locked):
        assert (ROOT / lock).is_file(), lock
    assert "--require-hashes -r requirements/runtime.txt" in locked
    # the project itself without dependencies of its own: they all came from the lock
    assert all("--require-hashes" in args or "--no-deps" in args for args in installs)


def test_the_image_runs_python_m_bot_and_checks_healthz() -> None:
    steps = dict(dockerfile())
    assert json_list(steps["ENTRYPOINT"]) == ["python", "-m", "bot"]
    assert json_list(steps["CMD"])[0] in cli.commands
    healthcheck = steps["HEALTHCHECK"]
    assert "/healthz" in healthcheck and "/healthz" in served_paths()


def json_list(args: str) -> list[str]:
    words = yaml.safe_load(args)  # an exec-form list is JSON, which YAML reads
    assert isinstance(words, list), f"not in exec form: {args}"  # shell form: a plain string
    assert all(isinstance(word, str) for word in words), args
    return words


BOTS = ("bot-a", "bot-b")


def test_compose_runs_two_webhook_replicas_on_postgresql_and_redis() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", *BOTS, "caddy"} <= services.keys()
    for name in BOTS:
        bot = services[name]
        env = bot["environment"]
        assert env["RUN_MODE"] == "webhook"
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert bot["build"] == "." and (ROOT / "Dockerfile").is_file()


def test_compose_migrates_once_before_the_replicas() -> None:
    migrate = compose()["services"]["migrate"]
    assert migrate["command"] == ["migrate"] and "migrate" in cli.commands
    assert migrate["restart"] == "no"
    assert "migrate" not in migrate["depends_on"]


def test_compose_keeps_the_data_in_volumes() -> None:
    document = compose()
    volumes = {
        mount.split(":")[0]
        for service in document["services"].values()
        for mount in service.get("volumes", [])
    }
    named = {name for name in volumes if not name.startswith(".")}
    assert {"postgres-data", "redis-data"} <= named <= document["volumes"].keys()
    for path in volumes - named:
        assert (ROOT / path).exists(), f"compose mounts {path}: not in the repo"


def seconds(duration: str) -> float:
    """'20s', '1m30s', '30' (systemd's and compose's plain forms) in seconds."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s?)?", duration.strip())
    assert parts and duration.strip(), f"not a duration: {duration!r}"
    minutes, secs = parts.groups()
    return 60 * int(minutes or 0) + int(secs or 0)


def test_supervisors_wait_for_the_whole_stop_before_they_kill() -> None:
    """Docker kills after 10 s unless told otherwise: a replica stopped in the middle of its
    updates must not be cut before its graces have run out."""
    services = compose()["services"]
    for name in BOTS:
        assert seconds(services[name]["stop_grace_period"]) > STOP_BUDGET_SECONDS
    [timeout] = unit()["TimeoutStopSec"]
    assert seconds(timeout) > STOP_BUDGET_SECONDS
    readme = (ROOT / "README.md").read_text()
    assert f"stop it within {STOP_BUDGET_SECONDS:g} s" in readme


def test_the_proxy_passes_only_the_webhook_to_both_replicas() -> None:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert re.search(r"reverse_proxy bot-a:8080 bot-b:8080", caddyfile)
    assert "health_uri /readyz" in caddyfile and "/readyz" in served_paths()
    assert "respond 404" in caddyfile  # /metrics and the rest stay on the inner network


HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "DynamicUser": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
}


def test_the_unit_runs_the_bot_hardened() -> None:
    keys = unit()
    assert keys["ExecStart"][0].endswith("/.venv/bin/python -m bot run")
    assert {key: keys[key][0] for key in HARDENING} == HARDENING
    # the only place it may write: the database and backups
    assert keys["StateDirectory"] == ["meterbot"]
    assert "sqlite:////var/lib/meterbot/" in keys["Environment"][0]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    # verify checks ExecStart's program exists: this Python stands in for the install's
    text = (ROOT / "deploy" / "meterbot.service").read_text()
    installed = tmp_path / "meterbot.service"
    installed.write_text(text.replace("/opt/meterbot/.venv/bin/python", sys.executable))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(installed)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
