"""The deployment files (issue 15, operations): deploy/lapor.service passes `systemd-analyze
verify` (where systemd is installed; otherwise its lines are parse-checked) and is hardened;
deploy/Containerfile builds from files that exist, runs as a user, and its health check works
against a running service. Both environments make a valid configuration."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from app_server import ROOT, service_on

from bot.settings import load_settings

UNIT = ROOT / "deploy" / "lapor.service"
CONTAINERFILE = ROOT / "deploy" / "Containerfile"
INSTALLED = "/opt/lapor/.venv/bin/lapor"


def unit_entries() -> list[tuple[str, str, str]]:
    """(section, key, value) of every setting, in order; fails on a line that is neither."""
    section, entries = "", []
    for number, raw in enumerate(UNIT.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if match := re.fullmatch(r"\[(\w+)\]", line):
            section = match[1]
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z]+", key), f"line {number}: {raw!r}"
        assert section in ("Unit", "Service", "Install"), f"line {number}: outside a section"
        entries.append((section, key, value))
    return entries


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unit_entries()  # parse-checked below; no systemd here to ask
        pytest.skip("systemd-analyze not installed: the unit was parse-checked only")
    # The unit names the installed command; verify it with this checkout's instead.
    lapor = Path(sys.executable).parent / "lapor"
    assert lapor.exists()
    copy = tmp_path / "lapor.service"
    copy.write_text(UNIT.read_text().replace(INSTALLED, str(lapor)))
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "" and done.stderr.strip() == "", done.stderr  # no unknown key


def test_the_systemd_unit_is_hardened_and_restarts_on_failure() -> None:
    entries = unit_entries()
    service = {key: value for section, key, value in entries if section == "Service"}
    assert service["DynamicUser"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes" and service["CapabilityBoundingSet"] == ""
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # a refused configuration stays down
    assert service["EnvironmentFile"].startswith("/etc/lapor/")
    assert shlex.split(service["ExecStart"])[:2] == [INSTALLED, "serve"]
    assert shlex.split(service["ExecStartPre"]) == [INSTALLED, "migrate"]
    # What it keeps lives in its state directory, which ProtectSystem=strict leaves writable.
    state = f"/var/lib/{service['StateDirectory']}"
    environment = dict(
        value.split("=", 1) for section, key, value in entries if key == "Environment"
    )
    assert state in environment["LAPOR_STORAGE__DATABASE_URL"]
    assert environment["LAPOR_STORAGE__MEDIA_DIR"].startswith(state)
    assert environment["PROMETHEUS_MULTIPROC_DIR"].startswith(f"/run/{service['RuntimeDirectory']}")
    overrides = {
        k: v for k, v in environment.items() if k.startswith("LAPOR_") and k != "LAPOR_CONFIG"
    }
    load_settings(ROOT / "config.example.toml", overrides)  # a valid configuration


def containerfile() -> list[tuple[str, str]]:
    """(instruction, arguments), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            found.append((instruction.upper(), rest.strip()))
    return found


def container_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, rest in containerfile():
        if instruction == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(rest)))
    return env


def test_the_containerfile_is_slim_runs_as_a_user_and_copies_what_exists() -> None:
    steps = containerfile()
    assert re.fullmatch(r"python:3\.1[1-9]-slim", steps[0][1]), steps[0]
    users = [rest for instruction, rest in steps if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    for instruction, rest in steps:
        if instruction == "COPY":
            *sources, _ = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
    env = container_env()
    assert ("EXPOSE", env["LAPOR_SERVICE__PORT"]) in steps
    assert json.loads(next(r for i, r in steps if i == "ENTRYPOINT")) == ["lapor"]
    config = {k: v for k, v in env.items() if k.startswith("LAPOR_") and k != "LAPOR_CONFIG"}
    settings = load_settings(ROOT / "config.example.toml", config)
    assert settings.service.host == "0.0.0.0"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "data/*.db", "data/media"} <= set(ignored)


def test_the_container_needs_a_token_of_its_own(sqlite_url: str, tmp_path: Path) -> None:
    """On 0.0.0.0 with the example configuration's token, `lapor serve` refuses to start."""
    env = {k: v for k, v in container_env().items() if k != "LAPOR_STORAGE__DATABASE_URL"}
    env.update(
        LAPOR_CONFIG=str(ROOT / "config.example.toml"),
        LAPOR_STORAGE__DATABASE_URL=sqlite_url,
        LAPOR_STORAGE__MEDIA_DIR=str(tmp_path / "media"),
        PATH="/usr/bin:/bin",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "example token" in done.stderr


async def test_the_containers_health_check_passes_on_a_running_service(
    sqlite_url: str, tmp_path: Path
) -> None:
    check = json.loads(
        next(rest for i, rest in containerfile() if i == "HEALTHCHECK").split(" CMD ", 1)[1]
    )
    assert check[:2] == ["python", "-c"] and "http://127.0.0.1:8080/healthz" in check[2]
    async with service_on(sqlite_url, tmp_path, {}) as (_, client):
        here = check[2].replace("http://127.0.0.1:8080", str(client.base_url).rstrip("/"))
        assert await python(here) == 0  # the loop keeps serving while the check runs
    assert await python(here) != 0  # the service stopped: unhealthy


async def python(code: str) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stderr=asyncio.subprocess.DEVNULL
    )
    return await asyncio.wait_for(process.wait(), timeout=30)
