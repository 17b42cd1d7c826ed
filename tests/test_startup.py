"""What `lapor serve` checks and says as it starts (issue 15, operations): it refuses the
example API token, or a short one, on a host other than loopback (one line, exit code 2), and it
names the enabled channels with their webhook addresses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from app_server import API_TOKEN, ROOT
from procs import ServiceProcess, service_env

from bot.web.exposure import EXAMPLE_TOKEN, MIN_TOKEN_LENGTH

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
LONG_TOKEN = "k3J9-vQ2xLm8_pR4tZ7wYb1nC6dF0hS5"


def lapor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("tokens", "host", "why"),
    [
        (f'["{EXAMPLE_TOKEN}"]', "0.0.0.0", "is the example token"),
        (f'["{LONG_TOKEN}", "{EXAMPLE_TOKEN}"]', "192.0.2.10", "api_tokens[1] is the example"),
        ('["short-but-mine"]', "0.0.0.0", f"14 characters, fewer than {MIN_TOKEN_LENGTH}"),
        (f'["{EXAMPLE_TOKEN}"]', "lapor.example.go.id", "is the example token"),
    ],
)
def test_serve_refuses_a_weak_api_token_on_a_public_host(
    sqlite_url: str, tmp_path: Path, tokens: str, host: str, why: str
) -> None:
    env = service_env(sqlite_url, tmp_path, LAPOR_SERVICE__API_TOKENS=tokens)
    done = lapor(env, "serve", "--host", host, "--port", "1")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cannot start: service.api_tokens["), lines
    assert why in lines[0] and host in lines[0]
    assert LONG_TOKEN not in done.stderr and "short-but-mine" not in done.stderr
    assert not Path(sqlite_url.split("///", 1)[1]).exists()  # refused before touching anything


def test_the_host_from_the_configuration_counts_too(sqlite_url: str, tmp_path: Path) -> None:
    env = service_env(
        sqlite_url,
        tmp_path,
        LAPOR_SERVICE__API_TOKENS=f'["{EXAMPLE_TOKEN}"]',
        LAPOR_SERVICE__HOST="::",
    )
    done = lapor(env, "serve", "--workers", "2")
    assert done.returncode == 2
    assert "example token and the host '::' is not loopback" in done.stderr


def test_the_example_token_is_fine_on_loopback_and_channels_are_named(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = service_env(
        sqlite_url,
        tmp_path,
        LAPOR_SERVICE__API_TOKENS=f'["{EXAMPLE_TOKEN}"]',
        LAPOR_SERVICE__PUBLIC_URL="https://lapor.example.go.id",
        LAPOR_CHANNELS__WHATSAPP__ENABLED="true",
        LAPOR_CHANNELS__WHATSAPP__PHONE_NUMBER_ID="106540352242922",
        LAPOR_CHANNELS__WHATSAPP__ACCESS_TOKEN="wa-access-token-for-the-test",
        LAPOR_CHANNELS__WHATSAPP__APP_SECRET="wa-app-secret-for-the-test",
        LAPOR_CHANNELS__WHATSAPP__VERIFY_TOKEN="wa-verify-token-for-the-test",
        LAPOR_CHANNELS__WHATSAPP__GRAPH_BASE="http://127.0.0.1:9",
        LAPOR_CHANNELS__SMS__ENABLED="true",
        LAPOR_CHANNELS__SMS__PROVIDER="android",
        LAPOR_CHANNELS__SMS__GATEWAY_URL="http://127.0.0.1:9/",
        LAPOR_CHANNELS__SMS__USERNAME="sms",
        LAPOR_CHANNELS__SMS__PASSWORD="gateway-password-for-the-test",
        LAPOR_CHANNELS__SMS__WEBHOOK_SECRET="gateway-signing-key-for-the-test",
    )
    with ServiceProcess(env) as service:  # `serve --host 127.0.0.1`
        log = service.log_text()
    assert "INFO bot.cli: channel whatsapp: webhook GET+POST " in log
    assert "https://lapor.example.go.id/webhooks/whatsapp" in log
    assert (
        "channel sms (android): webhook POST https://lapor.example.go.id/webhooks/sms/android"
        in (log)
    )
    assert "channel telegram" not in log


def test_no_channel_is_said_too_and_last_runs_counts_are_forgotten(
    sqlite_url: str, tmp_path: Path
) -> None:
    counts = tmp_path / "metrics"
    counts.mkdir()
    (counts / "counter_4242.db").write_bytes(b"left by the last run, or by a crash")
    env = service_env(sqlite_url, tmp_path, PROMETHEUS_MULTIPROC_DIR=str(counts))
    with ServiceProcess(env) as service:
        log = service.log_text()
        scraped = httpx.get(f"{service.base_url}/metrics", headers=AUTH, timeout=10)
    assert "no platform channel enabled" in log
    assert not (counts / "counter_4242.db").exists()
    assert scraped.status_code == 200 and "lapor_outbox_messages" in scraped.text
