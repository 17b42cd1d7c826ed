"""A bounded schemathesis run against the app's own OpenAPI document: never a server error.

The service runs for real (uvicorn on a loopback port, SQLite, every channel enabled with its
secrets, sending nowhere) with one filed report. schemathesis reads ``/openapi.json`` over
HTTP and sends each operation (the REST API, the dashboard, the webhook routes, health and
readiness) requests generated from its parameters and bodies, with the API token; half of the
ticket parameters name the report that exists (a schemathesis dictionary), so the actions on a
report run too. The one property: no answer is a 5xx. Signed webhook bodies are fuzzed by
tests/test_fuzz_routes.py (hypothesis).

Bounded: 10 examples per operation and phase, 40 seconds, deterministic generation. It found
the 500s of huge offsets and far dates on SQLite before they were fixed (issue 14).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import telegram_updates as tg
from app_server import API_TOKEN, settings_for
from procs import ThreadedApp, text_script
from test_fuzz_routes import TELEGRAM_SECRET, channels_env

from bot.compose import Service, build_senders, create_app, prepare_database

EXAMPLES = 10  # per operation and phase
MAX_SECONDS = 40
NO_COLOUR = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"}
TICKET = "MDN-00001"


def file_a_report(base_url: str) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for said, _ in text_script(0):
            response = client.post("/webhooks/telegram", json=tg.text(said), headers=headers)
            assert response.status_code == 200, response.text
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        assert client.get(f"/api/reports/{TICKET}", headers=auth).status_code == 200


@pytest.fixture(scope="module")
def running_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedApp]:
    tmp_path: Path = tmp_path_factory.mktemp("openapi")
    url = f"sqlite+aiosqlite:///{tmp_path / 'lapor.db'}"
    app_settings = settings_for(url, tmp_path, **channels_env("android"))
    prepare_database(app_settings)
    service = Service(app_settings, senders=build_senders(app_settings))
    with ThreadedApp(create_app(service)) as app:
        file_a_report(app.base_url)
        yield app


def test_no_operation_answers_with_a_server_error(running_app: ThreadedApp, tmp_path: Path) -> None:
    """`schemathesis run` itself: the examples, coverage (boundary values: huge numbers, far
    dates, NUL characters...) and fuzzing phases, valid and invalid requests, check
    `not_a_server_error` only (the document describes no answers), bounded in examples, time
    and seed."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'[dictionaries.tickets]\nvalues = ["{TICKET}"]\n\n'
        '[parameters]\n"path.ticket" = { dictionary = "tickets", probability = 0.5 }\n'
    )
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        f"--config-file={config}",
        "run",
        f"{running_app.base_url}/openapi.json",
        "--checks=not_a_server_error",
        f"--max-examples={EXAMPLES}",
        f"--max-time={MAX_SECONDS}",
        "--phases=examples,coverage,fuzzing",
        "--mode=all",
        "--seed=14",
        "--generation-deterministic",
        "--workers=1",
        "--request-timeout=10",
        "--continue-on-failure",
        f"--header=Authorization: Bearer {API_TOKEN}",
        f"--report-dir={tmp_path}",
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS + 120,
        env=NO_COLOUR,
        cwd=tmp_path,  # where it keeps its cache (.schemathesis/)
    )
    summary = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, summary
    document = httpx.get(f"{running_app.base_url}/openapi.json", timeout=10).json()
    operations = sum(len(methods) for methods in document["paths"].values())
    assert operations >= 13, document["paths"].keys()  # the REST API and every webhook
    selected = f"Selected: {operations}/{operations}"
    assert selected in done.stdout and f"Tested: {operations}" in done.stdout, summary


def test_the_document_lists_every_route(running_app: ThreadedApp) -> None:
    with httpx.Client(base_url=running_app.base_url, timeout=10) as client:
        paths = set(json.loads(client.get("/openapi.json").text)["paths"])
    assert {"/api/reports", "/api/reports/{ticket}/status", "/api/stats", "/dashboard"} <= paths
    assert {"/webhooks/telegram", "/webhooks/whatsapp", "/webhooks/sms/android"} <= paths
