"""Socialisation campaigns end to end: a campaign's Telegram deep link, WhatsApp prefilled text,
SMS keyword and web chat link credit the conversation and its report, which `lapor stats`, the
stats API and the dashboard count per campaign; `lapor campaigns` prints the links and writes
their QR codes; the configuration refuses ambiguous campaigns; migration 0012 on both databases.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import segno
import telegram_updates as tg
import whatsapp_payloads as wa
from alembic import command as alembic
from app_server import ROOT, api, service_on, telegram_env, twilio_env, web_env, whatsapp_env
from fake_sms import FakeTwilio
from fake_telegram import FakeTelegram
from fake_whatsapp import FakeGraph
from PIL import Image
from sqlalchemy import create_engine, inspect
from sqlmodel import select
from test_sms import TwilioPhone
from test_telegram import TelegramCitizen
from test_whatsapp import WhatsApp
from web_citizen import WebCitizen

from bot import cli
from bot.compose import Service
from bot.settings import ConfigError, load_settings
from intake.flow import ConversationState
from storage import Database, Store
from storage.migrate import alembic_config, sync_url, upgrade
from storage.models import Conversation

POSTER = {
    "id": "uji-poster",
    "name": "Poster uji di Pasar Besar",
    "keyword": "LAPOR UJI",
    "text": "Halo, saya lihat poster uji.",
}
OLD = {
    "id": "lama",
    "name": "Kampanye yang sudah lewat",
    "keyword": "LAPOR LAMA",
    "ends": "2020-01-31",
}
CAMPAIGNS_ENV = {
    "LAPOR_CAMPAIGNS": json.dumps([POSTER, OLD]),
    "LAPOR_CHANNELS__TELEGRAM__BOT_USERNAME": "LaporUjiBot",
    "LAPOR_CHANNELS__WHATSAPP__DISPLAY_NUMBER": "+62 811-0000-1111",
    "LAPOR_CHANNELS__SMS__DISPLAY_NUMBER": "+62 811-0000-2222",
}
GREETING = "Apakah Anda setuju?"
ASK_DESCRIPTION = "Ceritakan"


async def conversation(service: Service, key: str) -> Conversation | None:
    async with service.store.unit_of_work() as uow:
        return (await uow.session.exec(select(Conversation).where(Conversation.key == key))).first()


async def state_of(service: Service, key: str) -> ConversationState:
    row = await conversation(service, key)
    assert row is not None
    return ConversationState.from_dict(row.state)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`lapor` run in this process sees the campaigns (the database is set per test)."""
    for key, value in {**CAMPAIGNS_ENV, "LAPOR_STORAGE__MEDIA_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(key, value)


@asynccontextmanager
async def telegram(url: str, tmp_path: Path, fake: FakeTelegram) -> AsyncIterator[TelegramCitizen]:
    env = {**telegram_env(fake), **CAMPAIGNS_ENV}
    async with service_on(url, tmp_path, env) as (service, client):
        yield TelegramCitizen(client, fake, service)


# -- Telegram: a deep link, a report, the figures -----------------------------------------------


async def test_a_deep_link_report_is_counted_for_its_campaign(
    database_url: str,
    tmp_path: Path,
    fake_telegram: FakeTelegram,
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with telegram(database_url, tmp_path, fake_telegram) as citizen:
        # The poster's QR code opened t.me/LaporUjiBot?start=uji-poster: Telegram sends this.
        greeted = await citizen.say(tg.command("/start uji-poster"), GREETING)
        assert "uji-poster" not in greeted
        await citizen.say(tg.callback_query("agree"), ASK_DESCRIPTION)
        await citizen.say(tg.text("PDAM mati dari kemarin, air gak ngalir"), "Air Bersih")
        await citizen.say(tg.text("ya"), "Di mana")
        await citizen.say(tg.text("Jl. Salak 5, kel. Taman"), "Kirim foto")
        await citizen.say(tg.text("lewati"), "privasi")
        await citizen.say(tg.text("biasa"), "Periksa")
        await citizen.say(tg.text("kirim"), "MDN-00001")

        service = citizen.service
        async with service.store.unit_of_work() as uow:
            report = await uow.reports.get("MDN-00001")
        assert report is not None and report.campaign == "uji-poster"
        assert report.description == "PDAM mati dari kemarin, air gak ngalir"
        row = await conversation(service, f"telegram:{tg.CITIZEN_ID}")
        assert row is not None and row.campaign == "uji-poster"

        base_url = str(citizen.client.base_url).rstrip("/")
        async with api(base_url) as officers:
            listed = (await officers.get("/api/reports/MDN-00001")).json()
            assert listed["campaign"] == "uji-poster"
            stats = (await officers.get("/api/stats")).json()
            page = await officers.get("/dashboard")
        assert page.status_code == 200

    poster = next(c for c in stats["campaigns"] if c["id"] == "uji-poster")
    assert poster == {
        "id": "uji-poster",
        "name": "Poster uji di Pasar Besar",
        "configured": True,
        "running": True,
        "conversations": 1,
        "filed": 1,
        "in_progress": 0,
        "completion_rate": 1.0,
        "reports": 1,
    }
    old = next(c for c in stats["campaigns"] if c["id"] == "lama")
    assert old["running"] is False and old["reports"] == 0 and old["conversations"] == 0

    html = page.text
    section = html[html.index("Kampanye sosialisasi") :]
    row_html = section[section.index("Poster uji di Pasar Besar") :].split("</tr>")[0]
    cells = re.findall(r'<td class="n">([^<]*)</td>', row_html)
    assert cells == ["1", "1", "100,0%", "1"], row_html
    assert "<code>uji-poster</code>" in row_html

    monkeypatch.setenv("LAPOR_STORAGE__DATABASE_URL", database_url)
    code, out, _ = await asyncio.to_thread(run_cli, capsys, "stats")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("Poster uji"))
    assert line.split()[-5:] == ["uji-poster", "1", "1", "100.0%", "1"]
    assert "Kampanye yang sudah lewat (not running)" in out
    code, out, _ = await asyncio.to_thread(run_cli, capsys, "stats", "--format", "csv")
    rows = [r for r in csv.DictReader(io.StringIO(out)) if r["group"] == "campaign"]
    assert [(r["key"], r["reports"], r["conversations"], r["filed"]) for r in rows] == [
        ("uji-poster", "1", "1", "1"),
        ("lama", "0", "0", "0"),
    ]
    assert rows[0]["completion_share"] == "1.0"
    code, out, _ = await asyncio.to_thread(run_cli, capsys, "stats", "--format", "json")
    assert json.loads(out)["campaigns"][0]["reports"] == 1


async def test_an_unknown_or_ended_start_parameter_is_a_plain_start(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with telegram(sqlite_url, tmp_path, fake_telegram) as citizen:
        await citizen.say(tg.command("/start poster-palsu"), GREETING)
        key = f"telegram:{tg.CITIZEN_ID}"
        assert (await state_of(citizen.service, key)).campaign is None
        await citizen.say(tg.command("/start lama"), GREETING)  # the campaign ended in 2020
        assert (await state_of(citizen.service, key)).campaign is None
        await citizen.say(tg.callback_query("agree"), ASK_DESCRIPTION)
        await citizen.say(tg.text("Lampu jalan mati total di depan sekolah"), "Penerangan")
        row = await conversation(citizen.service, key)
        assert row is not None and row.campaign is None


# -- WhatsApp: the prefilled text ------------------------------------------------------------------


async def test_the_whatsapp_prefilled_text_is_a_greeting_never_a_description(
    database_url: str, tmp_path: Path, graph: FakeGraph
) -> None:
    env = {**whatsapp_env(graph), **CAMPAIGNS_ENV}
    async with service_on(database_url, tmp_path, env) as (service, client):
        app = WhatsApp(client, graph, service)
        # exactly what wa.me/62811...?text=... typed for the citizen
        await app.say(wa.text("Halo, saya lihat poster uji. [#uji-poster]"), GREETING)
        key = f"whatsapp:{wa.CITIZEN['wa_id']}"
        state = await state_of(service, key)
        assert state.campaign == "uji-poster" and state.draft.description == ""
        await app.say(
            wa.button_reply("agree", "Setuju"), ASK_DESCRIPTION
        )  # asked, not taken as told
        row = await conversation(service, key)
        assert row is not None and row.campaign == "uji-poster"
        # the poster scanned again mid-report: the question stands, nothing is taken as told
        await app.say(wa.text("Halo, saya lihat poster uji. [#uji-poster]"), ASK_DESCRIPTION)
        assert (await state_of(service, key)).draft.description == ""

        # A neighbour adds their own words to the prefilled text: those are the description.
        await app.say(
            wa.text(
                "Halo, saya lihat poster uji. [#uji-poster] Sampah numpuk di pinggir pasar",
                person=wa.NEIGHBOUR,
            ),
            "etuju",  # the notice, with the description kept
            person=wa.NEIGHBOUR,
        )
        neighbour = await state_of(service, f"whatsapp:{wa.NEIGHBOUR['wa_id']}")
        assert neighbour.campaign == "uji-poster"
        assert neighbour.draft.description == "Sampah numpuk di pinggir pasar"


# -- SMS: the keyword --------------------------------------------------------------------------


async def test_the_sms_keyword_credits_the_campaign_and_keeps_the_rest(
    sqlite_url: str, tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    env = {**twilio_env(fake_twilio), **CAMPAIGNS_ENV}
    async with service_on(sqlite_url, tmp_path, env) as (service, client):
        phone = TwilioPhone(client, fake_twilio, service)
        await phone.text("lapor uji", "setuju")
        state = await state_of(service, f"sms:{phone.number}")
        assert state.campaign == "uji-poster" and state.draft.description == ""

        other = TwilioPhone(client, fake_twilio, service, number="+6281299990000")
        await other.text("LAPOR UJI jalan berlubang besar depan SD Taman", "setuju")
        state = await state_of(service, f"sms:{other.number}")
        assert state.campaign == "uji-poster"
        assert state.draft.description == "jalan berlubang besar depan SD Taman"

        # an ended campaign's keyword credits nobody, and is not left in the description
        third = TwilioPhone(client, fake_twilio, service, number="+6281299991111")
        await third.text("LAPOR LAMA lampu jalan mati di Jl. Pahlawan", "setuju")
        state = await state_of(service, f"sms:{third.number}")
        assert state.campaign is None
        assert state.draft.description == "lampu jalan mati di Jl. Pahlawan"


# -- the web chat -------------------------------------------------------------------------------


async def test_the_web_chat_opened_from_a_campaign_link(sqlite_url: str, tmp_path: Path) -> None:
    async with service_on(sqlite_url, tmp_path, {**web_env(), **CAMPAIGNS_ENV}) as (svc, client):
        base_url = str(client.base_url).rstrip("/")
        page = await client.get("/chat", params={"campaign": "uji-poster"})
        assert '"campaign": "uji-poster"' in page.text  # the page passes it along
        odd = await client.get("/chat", params={"campaign": "<script>"})
        assert odd.status_code == 200 and '"campaign": null' in odd.text

        citizen = await WebCitizen.open(base_url, campaign="uji-poster")
        try:
            answer = await citizen.post(text="halo", campaign="uji-poster")
            assert answer.status_code == 200, answer.text
            assert GREETING in "\n".join(m["text"] for m in await citizen.new_replies())
            chat_id = citizen.client.cookies["lapor_chat"]
            rows = await all_conversations(svc)
            assert [(r.channel, r.campaign) for r in rows] == [("web", "uji-poster")], chat_id
            # an unknown id from a hand-made link: the chat goes on, nobody credited
            other = await WebCitizen.open(base_url)
            try:
                assert (await other.post(text="halo", campaign="tidak-ada")).status_code == 200
                await other.new_replies()
            finally:
                await other.aclose()
            assert sorted(str(r.campaign) for r in await all_conversations(svc)) == [
                "None",
                "uji-poster",
            ]
        finally:
            await citizen.aclose()


async def all_conversations(service: Service) -> list[Conversation]:
    async with service.store.unit_of_work() as uow:
        return list((await uow.session.exec(select(Conversation))).all())


# -- `lapor campaigns` ----------------------------------------------------------------------------


def test_lapor_campaigns_prints_the_links_and_writes_qr_codes(
    cli_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "campaigns")
    assert code == 0
    assert "uji-poster: Poster uji di Pasar Besar" in out
    assert "https://t.me/LaporUjiBot?start=uji-poster" in out
    wa_link = (
        "https://wa.me/6281100001111?text=Halo%2C%20saya%20lihat%20poster%20uji."
        "%20%5B%23uji-poster%5D"
    )
    assert wa_link in out
    assert 'send "LAPOR UJI" to +6281100002222' in out
    assert "/chat?campaign=uji-poster" in out
    assert "lama: Kampanye yang sudah lewat [... to 2020-01-31]" in out

    qr = tmp_path / "qr"
    code, out, _ = run_cli(capsys, "campaigns", "--qr", str(qr), "--format", "json")
    assert code == 0
    rows = {(r["campaign"], r["channel"]): r for r in json.loads(out)}
    whatsapp = rows[("uji-poster", "whatsapp")]
    assert whatsapp["link"] == wa_link and whatsapp["problem"] is None
    assert rows[("uji-poster", "sms")]["qr"] == "SMSTO:+6281100002222:LAPOR UJI "
    svg_path = qr / "uji-poster-whatsapp.svg"
    assert str(svg_path) in whatsapp["files"]
    root = ET.parse(svg_path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}path") is not None
    # The PNG holds exactly the QR code of the link (8 pixels a module, a 4-module border).
    expected = segno.make(wa_link, error="m")
    with Image.open(qr / "uji-poster-whatsapp.png") as image:
        pixels = image.convert("1")
        size = len(expected.matrix)
        drawn = [
            [pixels.getpixel(((4 + x) * 8 + 4, (4 + y) * 8 + 4)) == 0 for x in range(size)]
            for y in range(size)
        ]
    assert drawn == [[bool(v) for v in row] for row in expected.matrix]
    # web: no public_url in this configuration, so no code for a relative address
    assert rows[("uji-poster", "web")]["qr"] is None
    assert "public_url" in rows[("uji-poster", "web")]["problem"]


def test_lapor_campaigns_says_what_it_does_not_know(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAPOR_CAMPAIGNS", json.dumps([POSTER]))
    code, out, _ = run_cli(capsys, "campaigns")
    assert code == 0
    assert "bot username unknown: set channels.telegram.bot_username" in out
    assert "number unknown: set channels.whatsapp.display_number" in out
    assert "t.me/" not in out and "wa.me/" not in out


# -- configuration ------------------------------------------------------------------------------


def test_the_configuration_refuses_ambiguous_campaigns() -> None:
    environ = {
        "LAPOR_CAMPAIGNS": json.dumps(
            [
                POSTER,
                {"id": "Uji-Poster", "name": "the same id, other case"},
                {"id": "radio", "name": "radio", "keyword": "lapor  uji"},
                {"id": "x", "name": "dates", "starts": "2027-02-01", "ends": "2027-01-01"},
            ]
        ),
        "LAPOR_CHANNELS__WHATSAPP__DISPLAY_NUMBER": "0811 0000 1111",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(ROOT / "config.example.toml", environ)
    problems = {p.key: p.message for p in caught.value.problems}
    assert problems["campaigns[1].id"] == "duplicate id 'uji-poster' (also campaigns[0])"
    assert problems["campaigns[2].keyword"] == (
        "duplicate keyword 'lapor  uji' (also campaigns[0])"
    )
    assert problems["campaigns[3].ends"] == "2027-01-01 is before starts (2027-02-01)"
    assert "international form" in problems["channels.whatsapp.display_number"]
    # not a Telegram start parameter: refused with the pattern it must match
    bad = {"LAPOR_CAMPAIGNS": json.dumps([{"id": "poster pasar", "name": "a space"}])}
    with pytest.raises(ConfigError) as caught:
        load_settings(ROOT / "config.example.toml", bad)
    [problem] = caught.value.problems
    assert problem.key == "campaigns[0].id" and "A-Za-z0-9_-" in problem.message


# -- the migration --------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite_url", "postgres_url"], ids=["sqlite", "postgresql"])
def unmigrated_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


def campaign_columns(url: str) -> dict[str, bool]:
    engine = create_engine(sync_url(url))
    try:
        found = inspect(engine)
        return {
            table: any(c["name"] == "campaign" for c in found.get_columns(table))
            for table in ("conversations", "reports", "funnel_sessions")
        }
    finally:
        engine.dispose()


async def test_migration_0012_adds_and_removes_the_campaign_columns(
    unmigrated_url: str, tmp_path: Path
) -> None:
    upgrade(unmigrated_url, "0011")
    assert campaign_columns(unmigrated_url) == dict.fromkeys(
        ("conversations", "reports", "funnel_sessions"), False
    )
    upgrade(unmigrated_url)
    assert set(campaign_columns(unmigrated_url).values()) == {True}
    store = Store(Database(unmigrated_url))
    try:
        async with store.unit_of_work() as uow:
            await uow.conversations.save(
                "web:x", "web", "x", {"step": "idle", "campaign": "uji-poster"}, None, None
            )
        async with store.unit_of_work() as uow:
            row = await uow.session.get(Conversation, "web:x")
            assert row is not None and row.campaign == "uji-poster"
    finally:
        await store.dispose()
    alembic.downgrade(alembic_config(unmigrated_url), "0011")
    assert set(campaign_columns(unmigrated_url).values()) == {False}
    upgrade(unmigrated_url)  # and forward again
    assert set(campaign_columns(unmigrated_url).values()) == {True}
