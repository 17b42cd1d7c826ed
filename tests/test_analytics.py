"""The figures of `lapor stats` on generated reports with known answers, on SQLite and
PostgreSQL.

Seven reports in Kota Madiun (times in WIB, UTC+7; Thursday 5 March 2026 is a configured
holiday; "now" is Monday 16 March 2026 12:00):

1. telegram, jalan, Mon 02/03 09:00: verified 11:00 (officer), in progress Tue 10/03 13:00,
   resolved Wed 11/03 09:00; rated 5.
2. whatsapp, sampah, Mon 02/03 10:00: verified Fri 06/03 15:00 (late), nothing since.
3. whatsapp, sampah, Sat 07/03 20:00: nothing (verification overdue).
4. sms, jalan, Tue 03/03 08:00: rejected 09:30 (officer).
5. telegram, pju, Wed 04/03 12:00: verified Mon 09/03 12:00 by "system", in progress Mon
   16/03 10:00 by "api".
6. console, jalan, Thu 05/03 07:00: verified 07:30, resolved Fri 06/03 07:00, reopened by the
   citizen Sat 07/03 09:00, resolved Mon 09/03 07:00; rated 3.
7. whatsapp, jalan, Mon 23/02 09:00: nothing (before the period of most tests).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from app_server import API_TOKEN, api, make_service, serve, settings_for
from sqlalchemy import text

from bot import cli
from bot.analytics.stats import StatsQuery, compute_stats
from bot.compose import create_app
from bot.settings import Settings
from intake.analytics import topic_terms
from intake.types import GeoPoint, PlaceMatch, ReportDraft
from storage import Database, Store
from storage.analytics import AnalyticsRepository, StatsReader
from storage.migrate import upgrade
from storage.models import ReportDesk

WIB = timezone(timedelta(hours=7))
HOLIDAY_ENV = {"LAPOR_SLA__HOLIDAYS": '["2026-03-05"]'}
NOW = datetime(2026, 3, 16, 12, 0, tzinfo=WIB)
MARCH = datetime(2026, 3, 1, tzinfo=WIB)
KEJURON = PlaceMatch("Kejuron", "Taman", "35.77.03.1006", GeoPoint(-7.6349, 111.5236), "")
TAMAN = PlaceMatch("Taman", "Taman", "35.77.03.1009", GeoPoint(-7.6407, 111.5262), "")


def wib(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


@dataclass
class Planned:
    channel: str
    category: str
    agency: str
    place: PlaceMatch
    description: str
    filed: datetime
    events: list[tuple[str, str, datetime]]  # (status, actor, at); status "" = keep
    rating: int | None = None


REPORTS = [
    Planned(
        "telegram", "jalan", "dpupr", KEJURON, "Jalan berlubang besar di depan pasar",
        wib(2, 9),
        [("verified", "officer:1", wib(2, 11)), ("in_progress", "officer:1", wib(10, 13)),
         ("resolved", "officer:1", wib(11, 9))],
        rating=5,
    ),
    Planned(
        "whatsapp", "sampah", "dlh", KEJURON, "Sampah menumpuk di pinggir jalan", wib(2, 10),
        [("verified", "officer:2", wib(6, 15))],
    ),
    Planned(
        "whatsapp", "sampah", "dlh", TAMAN, "Sampah belum diangkut tiga hari", wib(7, 20), [],
    ),
    Planned(
        "sms", "jalan", "dpupr", TAMAN, "Jalan rusak parah", wib(3, 8),
        [("rejected", "officer:1", wib(3, 9, 30))],
    ),
    Planned(
        "telegram", "pju", "disperkim", TAMAN, "Lampu jalan mati total", wib(4, 12),
        [("verified", "system", wib(9, 12)), ("in_progress", "api", wib(16, 10))],
    ),
    Planned(
        "console", "jalan", "dpupr", KEJURON, "Aspal jalan mengelupas lagi", wib(5, 7),
        [("verified", "officer:3", wib(5, 7, 30)), ("resolved", "officer:3", wib(6, 7)),
         ("in_progress", "citizen", wib(7, 9)), ("resolved", "officer:3", wib(9, 7))],
        rating=3,
    ),
    Planned(
        "whatsapp", "jalan", "dpupr", TAMAN, "Jalan rusak di gang sempit", wib(23, 9, month=2),
        [],
    ),
]  # fmt: skip


async def file_planned(store: Store, plans: list[Planned] = REPORTS) -> None:
    """File the reports and play their lifecycles through the storage API the desk uses."""
    for i, plan in enumerate(plans):
        draft = ReportDraft(plan.description, plan.category, plan.place)
        async with store.unit_of_work() as uow:
            report = await uow.reports.file(
                draft,
                ticket_prefix="MDN",
                channel=plan.channel,
                chat_id=f"chat-{i}",
                contact_id=None,
                agency_id=plan.agency,
                now=plan.filed,
            )
            assert report.id is not None
            repo = AnalyticsRepository(uow.session, uow.reports.dialect)
            await repo.add_terms(report.id, plan.filed, topic_terms(plan.description))
            for status, actor, at in plan.events:
                await uow.reports.add_event(report.id, status, actor, None, at)
                await uow.reports.set_status(report, status, at)
            if plan.rating is not None:
                uow.session.add(
                    ReportDesk(
                        report_id=report.id, rating=plan.rating, rated_at=NOW, updated_at=NOW
                    )
                )


@pytest.fixture
async def figures_db(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, Settings]]:
    store = Store(Database(database_url))
    try:
        await file_planned(store)
    finally:
        await store.dispose()
    yield database_url, settings_for(database_url, tmp_path, **HOLIDAY_ENV)


async def stats_of(
    url: str, settings: Settings, query: StatsQuery, now: datetime = NOW
) -> dict[str, Any]:
    db = Database(url)
    try:
        return await compute_stats(StatsReader(db), settings, query, now=now)
    finally:
        await db.dispose()


async def test_the_ministry_figures_of_a_period(figures_db: tuple[str, Settings]) -> None:
    stats = await stats_of(*figures_db, StatsQuery(since=MARCH))
    assert stats["reports"] == {
        "total": 6,
        "in_process": 3,  # 2 verified, 3 received, 5 in progress
        "followed_up": 5,  # all but 3 ("system" does not count, "api" does)
        "followed_up_share": 0.8333,
        "resolved": 2,
        "resolved_share": 0.3333,
        "by_status": {
            "received": 1,
            "verified": 1,
            "in_progress": 1,
            "resolved": 2,
            "rejected": 1,
        },
    }
    assert stats["hours"] == {
        # 0.5, 1.5, 2, 101, 120: the median is the middle one, p90 interpolates 101..120
        "verification": {"reports": 5, "median": 2.0, "p90": 112.4},
        # report 5 waited for "api": 0.5, 1.5, 2, 101, 286
        "first_response": {"reports": 5, "median": 2.0, "p90": 212.0},
        # report 1 took 216 h; report 6 counts to its second resolution: 96 h
        "resolution": {"reports": 2, "median": 156.0, "p90": 204.0},
    }
    assert stats["sla"] == {
        "verify_days": 3,
        "respond_days": 5,
        # 2: due Fri 10:00 (Thu is a holiday), verified 15:00. 5 would be late but for it.
        "verify": {"late": 1, "overdue": 1},  # 3: filed on Saturday, due Thu 12/03 00:00
        # 1: due Tue 10/03 11:00, in progress 13:00; 2: waiting since Fri 06/03 15:00
        "respond": {"late": 1, "overdue": 1},
        "breaches": 4,
    }
    assert stats["satisfaction"] == {"average": 4.0, "ratings": 2}
    assert stats["top_topics"]["categories"] == [
        {"id": "jalan", "name": "Infrastruktur Jalan, Jembatan & Trotoar", "reports": 3},
        {"id": "sampah", "name": "Sampah & Kebersihan", "reports": 2},
        {"id": "pju", "name": "Penerangan Jalan Umum (PJU)", "reports": 1},
    ]
    words = stats["top_topics"]["words"]
    assert words[:4] == [
        {"word": "jalan", "reports": 5},
        {"word": "sampah", "reports": 2},
        {"word": "aspal", "reports": 1},
        {"word": "berlubang", "reports": 1},
    ]
    assert {w["word"] for w in words}.isdisjoint({"di", "depan", "belum", "hari", "lagi"})
    assert [(c["channel"], c["reports"]) for c in stats["channels"]] == [
        ("telegram", 2),
        ("whatsapp", 2),
        ("console", 1),
        ("sms", 1),
    ]
    assert stats["summary"]["id"] == (
        "Periode 1 Maret 2026 s.d. 16 Maret 2026: Total 6 laporan, 3 masih dalam proses, "
        "83,3% sudah ditindaklanjuti dan 33,3% selesai. Topik terbanyak: Infrastruktur Jalan, "
        "Jembatan & Trotoar (3), Sampah & Kebersihan (2), Penerangan Jalan Umum (PJU) (1). "
        "Kanal: Telegram 2, WhatsApp 2, Console 1, SMS 1. Median waktu tanggapan pertama "
        "petugas 2,0 jam; 4 laporan melewati batas waktu. Kepuasan pelapor 4,0 dari 5 "
        "(2 penilaian)."
    )
    assert stats["summary"]["en"].startswith(
        "1 March 2026 to 16 March 2026: Total 6 reports, 3 still in process, 83.3% followed "
        "up and 33.3% resolved. Top topics: Roads, bridges & sidewalks (3), Waste & "
        "cleanliness (2), Street lighting (1)."
    )


async def test_without_a_holiday_report_five_is_late(database_url: str, tmp_path: Path) -> None:
    store = Store(Database(database_url))
    try:
        await file_planned(store)
    finally:
        await store.dispose()
    stats = await stats_of(database_url, settings_for(database_url, tmp_path), StatsQuery(MARCH))
    # 5: due Mon 09/03 12:00 and verified exactly then. 1: due Mon 09/03 11:00, acted Tue 10/03.
    assert stats["sla"]["verify"] == {"late": 2, "overdue": 1}
    assert stats["sla"]["respond"] == {"late": 1, "overdue": 1}


async def test_periods_are_local_days_and_until_is_exclusive(
    figures_db: tuple[str, Settings],
) -> None:
    everything = await stats_of(*figures_db, StatsQuery())
    assert everything["reports"]["total"] == 7
    assert everything["sla"]["verify"]["overdue"] == 2  # 7 was never looked at either
    assert everything["summary"]["id"].startswith("Total 7 laporan")
    first_days = await stats_of(*figures_db, StatsQuery(since=MARCH, until=wib(4, 0)))
    assert first_days["reports"]["total"] == 3  # 1, 2 and 4; 5 was filed on the 4th
    assert first_days["summary"]["id"].startswith("Periode 1 Maret 2026 s.d. 3 Maret 2026:")
    # 7 was filed at 09:00 WIB on 23/02, which is 02:00 UTC: a UTC "since" shows the zone counts
    utc = await stats_of(*figures_db, StatsQuery(since=datetime(2026, 2, 23, 2, tzinfo=UTC)))
    assert utc["reports"]["total"] == 7
    later = await stats_of(*figures_db, StatsQuery(since=datetime(2026, 2, 23, 2, 1, tzinfo=UTC)))
    assert later["reports"]["total"] == 6
    nothing = await stats_of(
        *figures_db, StatsQuery(since=wib(1, 0, month=1), until=MARCH.replace(month=1, day=2))
    )
    assert nothing["reports"]["total"] == 0
    assert nothing["reports"]["followed_up_share"] is None
    assert nothing["hours"]["verification"] == {"reports": 0, "median": None, "p90": None}
    assert nothing["summary"] == {
        "id": "Periode 1 Januari 2026 s.d. 1 Januari 2026: Belum ada laporan.",
        "en": "1 January 2026 to 1 January 2026: No reports.",
    }


async def test_figures_per_channel_agency_category_and_kelurahan(
    figures_db: tuple[str, Settings],
) -> None:
    by_agency = await stats_of(*figures_db, StatsQuery(since=MARCH, by="agency"))
    groups = {g["key"]: g for g in by_agency["groups"]}
    assert [g["key"] for g in by_agency["groups"]] == ["dpupr", "dlh", "disperkim"]
    dpupr = groups["dpupr"]
    assert dpupr["name"] == "Dinas Pekerjaan Umum dan Tata Ruang"
    assert dpupr["reports"]["total"] == 3 and dpupr["reports"]["in_process"] == 0
    assert dpupr["reports"]["resolved_share"] == 0.6667
    # 1, 4 and 6 verified after 2, 1.5 and 0.5 hours
    assert dpupr["hours"]["verification"] == {"reports": 3, "median": 1.5, "p90": 1.9}
    assert dpupr["sla"]["breaches"] == 1 and dpupr["satisfaction"] == {"average": 4.0, "ratings": 2}
    assert groups["dlh"]["sla"]["verify"] == {"late": 1, "overdue": 1}
    assert groups["dlh"]["hours"]["first_response"] == {"reports": 1, "median": 101.0, "p90": 101.0}
    assert groups["disperkim"]["hours"]["first_response"]["median"] == 286.0

    by_channel = await stats_of(*figures_db, StatsQuery(since=MARCH, by="channel"))
    telegram = next(g for g in by_channel["groups"] if g["key"] == "telegram")
    assert telegram["name"] == "Telegram"
    assert telegram["hours"]["verification"] == {"reports": 2, "median": 61.0, "p90": 108.2}
    assert telegram["hours"]["first_response"]["median"] == 144.0

    by_category = await stats_of(*figures_db, StatsQuery(since=MARCH, by="category"))
    assert {g["key"]: g["reports"]["total"] for g in by_category["groups"]} == {
        "jalan": 3,
        "sampah": 2,
        "pju": 1,
    }
    by_place = await stats_of(*figures_db, StatsQuery(since=MARCH, by="kelurahan"))
    assert {g["name"]: g["reports"]["total"] for g in by_place["groups"]} == {
        "Kejuron (Taman)": 3,
        "Taman (Taman)": 3,
    }
    # the overall figures do not change with the grouping
    assert by_place["reports"] == by_agency["reports"] == by_channel["reports"]
    assert by_place["hours"] == by_agency["hours"]


async def test_facts_follow_reassignment_and_status_changes(
    figures_db: tuple[str, Settings],
) -> None:
    url, settings = figures_db
    store = Store(Database(url))
    try:
        async with store.unit_of_work() as uow:
            report = await uow.reports.get("MDN-00003")
            assert report is not None and report.id is not None
            report.agency_id = "disperkim"  # reassigned (/alihkan)
            uow.session.add(report)
            await uow.reports.add_event(report.id, "verified", "officer:9", None, wib(16, 9))
            await uow.reports.set_status(report, "verified", wib(16, 9))
    finally:
        await store.dispose()
    stats = await stats_of(url, settings, StatsQuery(since=MARCH, by="agency"))
    groups = {g["key"]: g for g in stats["groups"]}
    assert groups["disperkim"]["reports"]["total"] == 2
    assert groups["dlh"]["reports"]["total"] == 1
    assert stats["reports"]["followed_up"] == 6
    assert stats["sla"]["verify"] == {"late": 2, "overdue": 0}  # 3 was verified, days late


# -- the command and the API -------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = cli.main(["stats", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_env(
    figures_db: tuple[str, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    url, _ = figures_db
    for key, value in {
        "LAPOR_STORAGE__DATABASE_URL": url,
        "LAPOR_STORAGE__MEDIA_DIR": str(tmp_path / "media"),
        **HOLIDAY_ENV,
    }.items():
        monkeypatch.setenv(key, value)
    return url


def test_lapor_stats_prints_a_table_json_and_csv(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, cli_env, "--since", "2026-03-01")
    assert code == 0
    assert "Total 6 laporan, 3 masih dalam proses, 83,3% sudah ditindaklanjuti" in out
    assert "Total 6 reports, 3 still in process, 83.3% followed up" in out
    assert re.search(r"verification +5 +2\.0 +112\.4", out)

    code, out, _ = run_cli(capsys, cli_env, "--since", "2026-03-01", "--format", "json")
    data = json.loads(out)
    assert data["reports"]["total"] == 6 and data["period"]["time_zone"] == "Asia/Jakarta"
    assert data["period"]["since"] == "2026-02-28T17:00:00+00:00"  # local midnight

    code, out, _ = run_cli(
        capsys, cli_env, "--since", "2026-03-01", "--by", "agency", "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["group"], r["key"], r["reports"]) for r in rows] == [
        ("all", "", "6"),
        ("agency", "dpupr", "3"),
        ("agency", "dlh", "2"),
        ("agency", "disperkim", "1"),
        # the example configuration's campaigns, which brought nothing here
        ("campaign", "pasar-besar", "0"),
        ("campaign", "radio-suara-madiun", "0"),
    ]
    assert rows[-1]["conversations"] == "0" and rows[-1]["completion_share"] == ""
    assert rows[0]["verification_median_h"] == "2.0" and rows[0]["verify_late"] == "1"
    assert rows[3]["satisfaction"] == ""


def test_lapor_stats_explains_bad_input(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, cli_env, "--since", "kemarin")
    assert code == 2 and "--since: 'kemarin' is not a date" in err
    with pytest.raises(SystemExit):
        cli.main(["stats", "--by", "kecamatan"])


async def test_the_stats_api(figures_db: tuple[str, Settings], tmp_path: Path) -> None:
    url, _ = figures_db
    service = make_service(url, tmp_path, **HOLIDAY_ENV)
    service.clock = lambda: NOW.astimezone(UTC)
    async with serve(create_app(service, workers=False)) as base_url:
        async with api(base_url, token=None) as anonymous:
            assert (await anonymous.get("/api/stats")).status_code == 401
        async with api(base_url, token=API_TOKEN) as client:
            answer = await client.get("/api/stats", params={"since": "2026-03-01", "by": "agency"})
            assert answer.status_code == 200
            body = answer.json()
            assert body["reports"]["total"] == 6
            assert body["sla"]["breaches"] == 4
            assert [g["key"] for g in body["groups"]] == ["dpupr", "dlh", "disperkim"]
            assert body["summary"]["id"].startswith("Periode 1 Maret 2026 s.d. 16 Maret 2026")
            bad = await client.get("/api/stats", params={"until": "besok"})
            assert bad.status_code == 422
            assert bad.json()["errors"][0]["where"] == "query.until"
            assert (await client.get("/api/stats", params={"by": "rt"})).status_code == 422


LATER_REPORT_COLUMNS = (
    "ALTER TABLE reports ADD COLUMN campaign VARCHAR",
    "ALTER TABLE reports DROP COLUMN campaign",
)


@pytest.fixture(params=["sqlite_url", "postgres_url"], ids=["sqlite", "postgresql"])
def unmigrated_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


async def test_the_migration_counts_reports_filed_before_it(
    unmigrated_url: str, tmp_path: Path
) -> None:
    upgrade(unmigrated_url, "0005")
    store = Store(Database(unmigrated_url))
    try:
        # Today's Report model has the columns later migrations add (0012: campaign): the old
        # schema gets them while these reports are filed, and loses them before migrating.
        async with store.unit_of_work() as uow:
            await uow.session.exec(text(LATER_REPORT_COLUMNS[0]))
        async with store.unit_of_work() as uow:
            for plan in REPORTS[:2]:
                report = await uow.reports.file(
                    ReportDraft(plan.description, plan.category, plan.place),
                    ticket_prefix="MDN",
                    channel=plan.channel,
                    chat_id="c",
                    contact_id=None,
                    agency_id=plan.agency,
                    now=plan.filed,
                )
                assert report.id is not None
                for status, actor, at in plan.events:
                    await uow.reports.add_event(report.id, status, actor, None, at)
                    await uow.reports.set_status(report, status, at)
        async with store.unit_of_work() as uow:
            await uow.session.exec(text(LATER_REPORT_COLUMNS[1]))
    finally:
        await store.dispose()
    upgrade(unmigrated_url)
    stats = await stats_of(
        unmigrated_url, settings_for(unmigrated_url, tmp_path, **HOLIDAY_ENV), StatsQuery(MARCH)
    )
    assert stats["reports"]["total"] == 2 and stats["reports"]["resolved"] == 1
    assert stats["hours"]["resolution"] == {"reports": 1, "median": 216.0, "p90": 216.0}
    assert stats["sla"]["verify"] == {"late": 1, "overdue": 0}
    assert stats["sla"]["respond"] == {"late": 1, "overdue": 1}
    assert stats["top_topics"]["words"][0] == {"word": "jalan", "reports": 2}
