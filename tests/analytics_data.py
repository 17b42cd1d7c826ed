"""Synthetic reports, status events and funnel sessions for the dashboard test and the stats
benchmark, written with bulk inserts (sqlite3 `executemany`, PostgreSQL `COPY`).

The rows look like a year of a city's complaints on the example configuration: channels,
categories (with their agencies), kelurahan, descriptions built from the category keywords, a
lifecycle with officer actors, and a conversation funnel with abandoned sessions. Deterministic
for a given seed. Bench scripts import it as `tests.analytics_data`.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

try:
    import madiun
except ImportError:  # imported from bench/ as tests.analytics_data
    from tests import madiun

from intake.analytics import FUNNEL_STAGES, STEP_BITS, place_words, topic_terms

CHANNELS = (("whatsapp", 0.55), ("telegram", 0.25), ("sms", 0.15), ("console", 0.05))
PHRASES = (
    "{kw} di dekat {place}, mohon segera ditangani",
    "sudah {n} hari {kw} di {place} belum ada tindakan",
    "tolong pak {kw} depan rumah saya di {place}",
    "{kw} lagi di {place}, warga resah",
    "{kw} parah sekitar {place} sejak {n} hari",
)
RATINGS = (1, 2, 3, 4, 5)
ABANDON = (("cancelled", 0.3), ("expired", 0.5), ("restarted", 0.1), ("declined", 0.1))
COLUMNS = {
    "reports": (
        "id", "ticket", "status", "category_id", "agency_id", "description", "lat", "lon",
        "kelurahan", "kecamatan", "kelurahan_code", "address", "anonymous", "confidential",
        "channel", "chat_id", "contact_id", "created_at", "updated_at",
    ),
    "status_events": ("id", "report_id", "status", "actor", "note", "created_at"),
    "funnel_sessions": (
        "id", "conversation_key", "channel", "started_at", "last_at", "last_step", "steps",
        "messages", "outcome", "end_step", "ended_at", "duration_s", "report_id",
    ),
    "report_terms": ("report_id", "term", "created_at"),
    "report_desk": ("report_id", "rating", "rated_at", "updated_at"),
}  # fmt: skip


@dataclass
class Generated:
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def count(self, table: str) -> int:
        return len(self.rows.get(table, []))


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([w for w, _ in weighted], [p for _, p in weighted])[0]


def generate(reports: int, *, end: datetime, days: int = 365, seed: int = 7) -> Generated:
    """`reports` reports filed over the `days` days before `end`, with their history."""
    rng = random.Random(seed)
    config = madiun.config()
    categories = config["categories"]
    category_weights = [1.0 / (i + 1) for i in range(len(categories))]
    areas = config["areas"]
    start = end - timedelta(days=days)
    span = (end - start).total_seconds()
    out = Generated({name: [] for name in COLUMNS})
    reports_rows, events, sessions, terms, desk = (
        out.rows["reports"],
        out.rows["status_events"],
        out.rows["funnel_sessions"],
        out.rows["report_terms"],
        out.rows["report_desk"],
    )
    places = place_words(madiun.areas(), "Kota Madiun")
    path_bits = sum(STEP_BITS[s] for _, steps in FUNNEL_STAGES for s in steps[:1])
    event_id = session_id = 0
    for rid in range(1, reports + 1):
        created = start + timedelta(seconds=rng.random() * span * 0.995)
        channel = _pick(rng, CHANNELS)
        category = rng.choices(categories, category_weights)[0]
        area = rng.choice(areas)
        keyword = rng.choice(category["keywords"])
        description = rng.choice(PHRASES).format(
            kw=keyword, place=area["kelurahan"], n=rng.randint(2, 9)
        )
        status, history = _lifecycle(rng, created, end)
        reports_rows.append(
            (
                rid, f"MDN-{rid:05d}", status, category["id"], category["agency"], description,
                area["lat"], area["lon"], area["kelurahan"], area["kecamatan"], area["code"],
                None, rng.random() < 0.2, rng.random() < 0.05, channel, f"c{rid}", None,
                created, history[-1][2] if history else created,
            )
        )  # fmt: skip
        if status == "resolved" and rng.random() < 0.4:  # some reporters rate
            rated = history[-1][2] + timedelta(hours=rng.randint(1, 48))
            if rated < end:
                desk.append((rid, rng.choices(RATINGS, (1, 1, 3, 8, 7))[0], rated, rated))
        for state, actor, at in [("received", "citizen", created), *history]:
            event_id += 1
            events.append((event_id, rid, state, actor, None, at))
        for term in topic_terms(description, places):
            terms.append((rid, term, created))
        session_id += 1
        took = timedelta(seconds=rng.randint(90, 1800))
        sessions.append(
            (
                session_id, f"{channel}:c{rid}", channel, created - took, created, "confirm",
                path_bits, rng.randint(6, 14), "filed", "confirm", created,
                int(took.total_seconds()), rid,
            )
        )  # fmt: skip
        if rng.random() < 0.4:  # someone else gave up on a report around the same time
            session_id += 1
            sessions.append(_abandoned(rng, session_id, channel, created, end))
    return out


def _lifecycle(
    rng: random.Random, created: datetime, end: datetime
) -> tuple[str, list[tuple[str, str, datetime]]]:
    officer = f"officer:{rng.randint(1, 40)}"
    history: list[tuple[str, str, datetime]] = []

    def later(at: datetime, hours: float) -> datetime | None:
        t = at + timedelta(hours=hours)
        return t if t < end else None

    roll = rng.random()
    verified = later(created, rng.lognormvariate(3.0, 0.9))
    if roll < 0.05 or verified is None:
        return "received", history
    if roll < 0.08:
        history.append(("rejected", officer, verified))
        return "rejected", history
    history.append(("verified", officer, verified))
    acted = later(verified, rng.lognormvariate(3.5, 1.0))
    if roll < 0.15 or acted is None:
        return "verified", history
    if roll < 0.9:
        history.append(("in_progress", officer, acted))
        done = later(acted, rng.lognormvariate(4.0, 0.8))
        if roll < 0.3 or done is None:
            return "in_progress", history
        history.append(("resolved", officer, done))
        return "resolved", history
    history.append(("resolved", officer, acted))
    return "resolved", history


def _abandoned(
    rng: random.Random, session_id: int, channel: str, around: datetime, end: datetime
) -> tuple[Any, ...]:
    stages = [steps[0] for _, steps in FUNNEL_STAGES]
    reached = rng.randint(1, len(stages))
    bits = sum(STEP_BITS[s] for s in stages[:reached])
    step = stages[reached - 1]
    reason = _pick(rng, ABANDON)
    started = around - timedelta(seconds=rng.randint(60, 7200))
    last = started + timedelta(seconds=rng.randint(30, 900))
    key = f"{channel}:a{session_id}"
    common = (session_id, key, channel, started, last, step, bits, reached)
    if reason == "expired" and rng.random() < 0.7:  # never came back: left open
        return (*common, None, None, None, None, None)
    ended = min(last + timedelta(seconds=30), end)
    return (*common, reason, step, ended, int((ended - started).total_seconds()), None)


# -- writing ----------------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _chunks(rows: list[tuple[Any, ...]], size: int = 20_000) -> Iterator[list[tuple[Any, ...]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def write(database_url: str, data: Generated, *, ticket_prefix: str = "MDN") -> None:
    """Insert the rows into a migrated, empty database (the async URL is accepted)."""
    url = make_url(database_url)
    last_ticket = data.count("reports")
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database or "")
        try:
            conn.execute("PRAGMA synchronous=OFF")
            for table, columns in COLUMNS.items():
                marks = ", ".join("?" for _ in columns)
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                for chunk in _chunks(data.rows[table]):
                    conn.executemany(sql, [tuple(map(_sqlite_value, r)) for r in chunk])
            conn.execute(
                "INSERT INTO ticket_counters (prefix, next_value) VALUES (?, ?)",
                (ticket_prefix, last_ticket + 1),
            )
            conn.commit()
            conn.execute("ANALYZE")
        finally:
            conn.close()
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            for table, columns in COLUMNS.items():
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in data.rows[table]:
                        copy.write_row(row)
                if "id" in columns:
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
            cur.execute(
                "INSERT INTO ticket_counters (prefix, next_value) VALUES (%s, %s)",
                (ticket_prefix, last_ticket + 1),
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
