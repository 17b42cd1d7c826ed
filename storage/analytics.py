"""Analytics storage: recording the conversation funnel and topic words, and the aggregate
queries behind `lapor stats`, `GET /api/stats` and `/dashboard`.

Every figure is computed by the database: it returns counts per group, the one or two values
each percentile needs, and (for working-day time limits) counts per pair of local days, never
one row per report. Report figures read `report_facts`, which triggers keep (migration 0006),
so no query joins or aggregates the status events.

Definitions (DESIGN.md lifecycle; times in whole seconds since the epoch):

- in process: status received, verified or in_progress;
- followed up: some status event by an actor other than "citizen" or "system" (an officer, an
  integration through the API); first officer response: the first such event;
- verification: the first move out of "received" (verified, or rejected as not actionable);
- resolution: the last move to "resolved", for reports whose status is resolved;
- agency follow-up (the respond limit): the first in_progress, resolved or rejected event after
  the first "verified" one.

Percentiles interpolate linearly between the two nearest ranks (PostgreSQL's
`percentile_cont`). Over all reports they walk an index in order (LIMIT/OFFSET); per group they
use a window function.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    case,
    cast,
    event,
    extract,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as SAAsyncSession
from sqlalchemy.pool import NullPool
from sqlmodel import col
from sqlmodel import select as sqlmodel_select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database
from storage.dialects import insert_ignoring_conflicts
from storage.models import (
    FUNNEL_FILED,
    FunnelSession,
    Report,
    ReportDesk,
    ReportFacts,
    ReportTerm,
)

OPEN_STATUSES = ("received", "verified", "in_progress")
KNOWN_STATUSES = ("received", "verified", "in_progress", "resolved", "rejected")
GROUPS = ("channel", "category", "agency", "kelurahan")
DURATIONS = ("verification", "first_response", "resolution")
EXPIRED = "expired"
SUPPORTED = "supported"
SECONDS_PER_DAY = 86_400
READER_CACHE_KIB = 65_536  # SQLite page cache of a statistics connection

Fraction = tuple[int, int]  # a percentile as numerator / denominator: (1, 2) is the median
Percentiles = dict[Fraction, float]


@dataclass(frozen=True)
class Window:
    """Reports filed (funnel sessions started) in since <= t < until; None: no bound."""

    since: datetime | None = None
    until: datetime | None = None


@dataclass
class ReportCounts:
    total: int = 0
    in_process: int = 0
    followed_up: int = 0
    resolved: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    timed: dict[str, int] = field(default_factory=dict)  # duration -> reports that have it


@dataclass(frozen=True)
class ClockCount:
    """`count` reports whose clock started on local day `start` and stopped on `stop` (None:
    still running). `later` says the stop (or, if running, now) is at or after the start's
    time of day. Days count from 1970-01-01 in the city's time zone."""

    group: str | None
    start: int
    stop: int | None
    later: bool
    count: int


@dataclass
class ChannelFunnel:
    channel: str
    started: int = 0
    filed: int = 0
    supported: int = 0  # backed a similar open report instead of filing
    in_progress: int = 0
    reached: dict[str, int] = field(default_factory=dict)  # stage -> sessions
    abandoned: dict[tuple[str, str], int] = field(default_factory=dict)  # (step, reason) -> n


@dataclass
class CampaignCounts:
    """What one campaign brought in a window: funnel sessions started (conversations that
    began a report), how many of them filed, how many are still going, and reports filed."""

    campaign: str
    started: int = 0
    filed: int = 0
    in_progress: int = 0
    reports: int = 0


def interpolate(values: Sequence[float], n: int, fraction: Fraction) -> float:
    """The percentile from the values at its 0-based rank k // den and the next one."""
    numerator, denominator = fraction
    part = numerator * (n - 1) % denominator
    if part == 0 or len(values) < 2:
        return float(values[0])
    return values[0] + (values[1] - values[0]) * part / denominator


def _rank(n: int, fraction: Fraction) -> int:
    numerator, denominator = fraction
    return numerator * (n - 1) // denominator


class AnalyticsRepository:
    """Recording, inside the message's transaction (the pipeline's funnel observer).

    A conversation has at most one open funnel session (ux_funnel_sessions_open), so a message
    in a report being written is one statement: insert the session, or update the open one.
    """

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    async def touch(
        self,
        conversation_key: str,
        channel: str,
        step: str,
        bit: int,
        now: datetime,
        *,
        campaign: str | None = None,
    ) -> None:
        """One more message in the conversation's open session (started by this one if none is
        open), which is now at `step`; a session keeps the first campaign it was given."""
        table = FunnelSession.__table__.c  # type: ignore[attr-defined]
        insert = _dialect_insert(self.dialect, FunnelSession).values(
            conversation_key=conversation_key,
            channel=channel,
            started_at=now,
            last_at=now,
            last_step=step,
            steps=bit,
            messages=1,
            campaign=campaign,
        )
        stmt = insert.on_conflict_do_update(
            index_elements=["conversation_key"],
            index_where=table.ended_at.is_(None),
            set_={
                "last_at": insert.excluded.last_at,
                "last_step": insert.excluded.last_step,
                "steps": table.steps.op("|")(bit),
                "messages": table.messages + 1,
                "campaign": func.coalesce(table.campaign, insert.excluded.campaign),
            },
        )
        await self.session.exec(stmt)

    async def end(
        self,
        conversation_key: str,
        outcome: str,
        step: str,
        now: datetime,
        *,
        count_message: bool,
        report_id: int | None = None,
    ) -> bool:
        """Close the open session (False if there was none). `count_message`: the message
        that ends it belongs to it ("batal", "kirim")."""
        table = FunnelSession.__table__.c  # type: ignore[attr-defined]
        values: dict[str, Any] = {
            "outcome": outcome,
            "end_step": step,
            "ended_at": now,
            "duration_s": _seconds(now) - _epoch(self.dialect, table.started_at),
            "report_id": report_id,
        }
        if count_message:
            values |= {"messages": table.messages + 1, "last_at": now}
        stmt = (
            update(FunnelSession)
            .where(table.conversation_key == conversation_key, table.ended_at.is_(None))
            .values(values)
        )
        result = await self.session.exec(stmt)
        return bool(result.rowcount)

    async def record_ended(
        self,
        conversation_key: str,
        channel: str,
        outcome: str,
        step: str,
        bit: int,
        now: datetime,
        report_id: int | None = None,
        *,
        campaign: str | None = None,
    ) -> None:
        """A session that starts and ends with one message (e.g. filed by a conversation that
        began before analytics were recorded)."""
        self.session.add(
            FunnelSession(
                conversation_key=conversation_key,
                channel=channel,
                started_at=now,
                last_at=now,
                last_step=step,
                steps=bit,
                messages=1,
                outcome=outcome,
                end_step=step,
                ended_at=now,
                duration_s=0,
                report_id=report_id,
                campaign=campaign,
            )
        )
        await self.session.flush()

    async def report_id(self, ticket: str) -> int | None:
        stmt = sqlmodel_select(col(Report.id)).where(col(Report.ticket) == ticket)
        found: int | None = (await self.session.exec(stmt)).first()
        return found

    async def add_terms(self, report_id: int, created_at: datetime, terms: Iterable[str]) -> None:
        rows = [{"report_id": report_id, "term": t, "created_at": created_at} for t in terms]
        if rows:
            stmt = insert_ignoring_conflicts(self.dialect, ReportTerm, "report_id", "term")
            await self.session.exec(stmt.values(rows))


class StatsReader:
    """Sessions for the aggregate queries: one consistent snapshot that never takes a lock
    writers wait for.

    The service's SQLite engine begins every transaction with BEGIN IMMEDIATE (the write lock);
    statistics read through their own engine whose transactions are plain (deferred) reads,
    which WAL mode lets run beside the writers. On PostgreSQL they share the service's pool,
    in a read-only REPEATABLE READ transaction.
    """

    def __init__(self, db: Database) -> None:
        self.dialect = db.dialect
        self.engine: AsyncEngine
        if db.is_sqlite:
            self.engine = create_async_engine(db.url, poolclass=NullPool)
            event.listen(self.engine.sync_engine, "connect", _sqlite_reader_on_connect)
            event.listen(self.engine.sync_engine, "begin", _sqlite_reader_on_begin)
        else:
            self.engine = db.engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )

    @asynccontextmanager
    async def queries(self) -> AsyncIterator[AnalyticsQueries]:
        async with SAAsyncSession(self.engine) as session:
            try:
                yield AnalyticsQueries(session, self.dialect)
            finally:
                await session.rollback()


def _sqlite_reader_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # our "begin" listener emits BEGIN
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute("PRAGMA temp_store=MEMORY")  # sorts for GROUP BY stay off the disk
        cursor.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
    finally:
        cursor.close()


def _sqlite_reader_on_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")  # deferred: a read snapshot, no write lock


class AnalyticsQueries:
    """Aggregates, read in one session."""

    def __init__(self, session: SAAsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    @staticmethod
    def group_column(by: str | None) -> Any:
        f = ReportFacts
        match by:
            case None:
                return literal_column("'all'")
            case "channel":
                return col(f.channel)
            case "category":
                return col(f.category_id)
            case "agency":
                return col(f.agency_id)
            case "kelurahan":
                return col(f.kelurahan_code)
        raise ValueError(f"cannot group by {by!r}: choose one of {', '.join(GROUPS)}")

    def grouping(self, by: str | None) -> list[Any]:
        """GROUP BY columns: none for the overall figures (PostgreSQL refuses a constant)."""
        return [] if by is None else [self.group_column(by)]

    def _filed_in(self, window: Window) -> list[ColumnElement[bool]]:
        """Reports filed in the window, to the second (facts keep whole seconds).

        On SQLite the bound is on `filed_s + 0`, which no index serves: its planner would
        otherwise read most rows through ix_report_facts_filed_s and the table, several times
        slower than one pass over the table (or a covering index). PostgreSQL's planner
        estimates ranges well and gets the column itself.
        """
        filed: Any = col(ReportFacts.filed_s)
        if self.dialect == "sqlite":
            filed = filed + _lit(0)
        conditions = []
        if window.since is not None:
            conditions.append(filed >= _seconds(window.since))
        if window.until is not None:
            conditions.append(filed < _seconds(window.until))
        return conditions

    @staticmethod
    def _between(column: Any, window: Window) -> list[ColumnElement[bool]]:
        conditions = []
        if window.since is not None:
            conditions.append(column >= window.since)
        if window.until is not None:
            conditions.append(column < window.until)
        return conditions

    def _durations(self) -> dict[str, tuple[Any, list[ColumnElement[bool]]]]:
        f = ReportFacts
        return {
            "verification": (col(f.verification_s), []),
            "first_response": (col(f.response_s), []),
            "resolution": (col(f.resolution_s), [col(f.status) == "resolved"]),
        }

    # -- reports --------------------------------------------------------------------------------

    def _count_columns(self) -> list[ColumnElement[int]]:
        """total, in process, followed up, one count per status, one per duration."""
        f = ReportFacts
        status = col(f.status)
        return [
            func.count(),
            _count_if(status.in_(OPEN_STATUSES)),
            func.count(col(f.officer_s)),
            *(_count_if(status == s) for s in KNOWN_STATUSES),
            func.count(col(f.verification_s)),
            func.count(col(f.response_s)),
            func.count(case((status == "resolved", col(f.resolution_s)))),
        ]

    def _counts(self, row: Sequence[Any]) -> ReportCounts:
        total, in_process, followed, *rest = (int(v or 0) for v in row)
        statuses = dict(zip(KNOWN_STATUSES, rest[: len(KNOWN_STATUSES)], strict=True))
        return ReportCounts(
            total=total,
            in_process=in_process,
            followed_up=followed,
            resolved=statuses["resolved"],
            by_status={s: n for s, n in statuses.items() if n},
            timed=dict(zip(DURATIONS, rest[len(KNOWN_STATUSES) :], strict=True)),
        )

    async def overview(
        self, window: Window
    ) -> tuple[ReportCounts, dict[str, int], dict[str | None, int]]:
        """All reports' counts (one pass over report_facts), and reports per channel and per
        category (from their indexes)."""
        stmt = select(*self._count_columns()).where(*self._filed_in(window))
        row = (await self.session.execute(stmt)).one()
        channels = await self.count_by(window, "channel")
        categories = await self.count_by(window, "category")
        return self._counts(row), {str(k): n for k, n in channels.items()}, categories

    async def report_counts(self, window: Window, by: str) -> dict[str | None, ReportCounts]:
        """Counts per channel, category, agency or kelurahan code."""
        grp = self.group_column(by)
        stmt = select(grp, *self._count_columns()).where(*self._filed_in(window)).group_by(grp)
        return {key: self._counts(rest) for key, *rest in (await self.session.execute(stmt)).all()}

    async def duration_percentiles(
        self,
        window: Window,
        by: str | None,
        counts: Mapping[str | None, ReportCounts],
        fractions: Sequence[Fraction],
        durations: Sequence[str] = DURATIONS,
    ) -> dict[tuple[str | None, str], Percentiles]:
        """Seconds from filing to verification, first officer response and resolution (or only
        the `durations` named), per group (`counts` from report_counts) or, with `by` None, over
        all reports (`counts` has the key None)."""
        out: dict[tuple[str | None, str], Percentiles] = {}
        for name, (value, conditions) in self._durations().items():
            if name not in durations:
                continue
            where = [*self._filed_in(window), value.is_not(None), *conditions]
            sizes = {key: c.timed.get(name, 0) for key, c in counts.items()}
            if by is None:
                found = await self._walk(value, where, sizes.get(None, 0), fractions)
                if found:
                    out[(None, name)] = found
                continue
            ranked = await self._window(value, self.group_column(by), where, sizes, fractions)
            for key, percentiles in ranked.items():
                out[(key, name)] = percentiles
        return out

    async def _walk(
        self,
        value: Any,
        where: Sequence[ColumnElement[bool]],
        n: int,
        fractions: Sequence[Fraction],
    ) -> Percentiles:
        """Percentiles of `value` over its `n` rows, reading the one or two rows at each rank
        in the order of an index on `value` (no sort)."""
        out: Percentiles = {}
        if n <= 0:
            return out
        for fraction in fractions:
            stmt = (
                select(value)
                .where(*where, value.is_not(None))
                .order_by(value)
                .offset(_rank(n, fraction))
                .limit(2)
            )
            values = [float(v) for v in (await self.session.execute(stmt)).scalars()]
            if values:
                out[fraction] = interpolate(values, n, fraction)
        return out

    async def _window(
        self,
        value: Any,
        grp: Any,
        where: Sequence[ColumnElement[bool]],
        sizes: Mapping[str | None, int],
        fractions: Sequence[Fraction],
    ) -> dict[str | None, Percentiles]:
        """Percentiles of `value` per group (of `sizes[group]` rows), numbering each group's
        rows in order (ROW_NUMBER) and reading only the ranks some group needs."""
        ranks = sorted(
            {
                rank
                for n in sizes.values()
                if n > 0
                for fraction in fractions
                for rank in (_rank(n, fraction) + 1, _rank(n, fraction) + 2)
            }
        )
        if not ranks:
            return {}
        ranked = (
            select(
                grp.label("grp"),
                value.label("v"),
                func.row_number().over(partition_by=grp, order_by=value).label("rn"),
            )
            .where(*where)
            .subquery()
        )
        stmt = select(ranked.c.grp, ranked.c.rn, ranked.c.v).where(ranked.c.rn.in_(ranks))
        by_rank: dict[str | None, dict[int, float]] = {}
        for key, rn, v in (await self.session.execute(stmt)).all():
            by_rank.setdefault(key, {})[int(rn) - 1] = float(v)
        out: dict[str | None, Percentiles] = {}
        for key, values in by_rank.items():
            n = sizes.get(key, 0)
            if n <= 0:
                continue
            out[key] = {}
            for fraction in fractions:
                k = _rank(n, fraction)
                found = [values[i] for i in (k, k + 1) if i in values]
                if found:
                    out[key][fraction] = interpolate(found, n, fraction)
        return out

    async def clocks(
        self,
        window: Window,
        by: str | None,
        utc_offset: int,
        now: datetime,
        limits: tuple[int, int],
    ) -> tuple[list[ClockCount], list[ClockCount]]:
        """Counts per (group, start day, stop day, later) for the two time limits, of the
        reports that may be late: `limits` working days last at least as many calendar days,
        so a clock that stopped sooner, or started less long ago, is on time.

        Verify: from filing to the first decision (still "received": running). Respond: from
        the first verification to the agency's first follow-up, verified reports only. Local
        days and times of day use `utc_offset` seconds east of UTC.
        """
        f = ReportFacts
        grp = self.group_column(by).label("grp")
        now_s = _seconds(now)
        now_time = (now_s + utc_offset) % SECONDS_PER_DAY

        def day(seconds: Any) -> ColumnElement[int]:
            return (seconds + _lit(utc_offset)) // _lit(SECONDS_PER_DAY)

        def time_of_day(seconds: Any) -> ColumnElement[int]:
            return (seconds + _lit(utc_offset)) % _lit(SECONDS_PER_DAY)

        # (start, duration, conditions of a running clock); stop = start + duration. Both
        # columns are in the duration's index, so the candidates are read from it alone.
        clocks: list[tuple[Any, Any, list[ColumnElement[bool]]]] = [
            (  # verify: started at filing, stopped by the first decision
                col(f.filed_s),
                col(f.verification_s),
                [col(f.status) == "received"],
            ),
            (  # respond: started by the first verification, stopped by the first follow-up
                col(f.disposed_s),
                col(f.follow_up_s),
                [col(f.disposed_s).is_not(None)],
            ),
        ]
        out = []
        for (start, took, running), days in zip(clocks, limits, strict=True):
            least = days * SECONDS_PER_DAY
            stop = start + took
            stopped = select(
                grp,
                day(start).label("a"),
                day(stop).label("b"),
                (time_of_day(stop) >= time_of_day(start)).label("later"),
            ).where(*self._filed_in(window), took >= least)
            waiting = select(
                grp,
                day(start).label("a"),
                literal_column("NULL").label("b"),
                (time_of_day(start) <= _lit(now_time)).label("later"),
            ).where(*self._filed_in(window), took.is_(None), *running, start <= now_s - least)
            both = stopped.union_all(waiting).subquery()
            stmt = select(both.c.grp, both.c.a, both.c.b, both.c.later, func.count()).group_by(
                both.c.grp, both.c.a, both.c.b, both.c.later
            )
            out.append(
                [
                    ClockCount(
                        g if by is not None else None,
                        int(x),
                        None if y is None else int(y),
                        bool(z),
                        int(n),
                    )
                    for g, x, y, z, n in (await self.session.execute(stmt)).all()
                ]
            )
        return out[0], out[1]

    async def satisfaction(
        self, window: Window, by: str | None
    ) -> dict[str | None, tuple[float, int]]:
        """Average rating (1-5) and number of ratings of reports filed in the window (ratings
        are report_desk.rating, from the officer desk)."""
        d, f = ReportDesk, ReportFacts
        keys = self.grouping(by)
        stmt = (
            select(*keys, func.avg(col(d.rating)), func.count(col(d.rating)))
            .select_from(d)
            .join(f, col(f.report_id) == col(d.report_id))
            .where(col(d.rating).is_not(None), *self._filed_in(window))
            .group_by(*keys)
        )
        out: dict[str | None, tuple[float, int]] = {}
        for row in (await self.session.execute(stmt)).all():
            key = row[0] if by is not None else None
            avg, n = row[-2], row[-1]
            if n:
                out[key] = (float(avg), int(n))
        return out

    async def count_by(self, window: Window, by: str) -> dict[str | None, int]:
        """Reports per channel, category, agency or kelurahan code."""
        key = self.group_column(by)
        stmt = select(key, func.count()).where(*self._filed_in(window)).group_by(key)
        return {k: int(n) for k, n in (await self.session.execute(stmt)).all()}

    async def top_terms(self, window: Window, limit: int) -> list[tuple[str, int]]:
        """The words found in most reports' descriptions."""
        n = func.count().label("n")
        stmt = (
            select(col(ReportTerm.term), n)
            .where(*self._between(col(ReportTerm.created_at), window))
            .group_by(col(ReportTerm.term))
            .order_by(n.desc(), col(ReportTerm.term))
            .limit(limit)
        )
        return [(t, int(k)) for t, k in (await self.session.execute(stmt)).all()]

    async def weekly(self, window: Window, utc_offset: int) -> list[tuple[int, str, int]]:
        """(week, channel, reports). Weeks start on Monday, local time: week w begins on day
        7 * w - 3 counted from 1970-01-01 (a Thursday)."""
        f = ReportFacts
        days = (col(f.filed_s) + _lit(utc_offset)) // _lit(SECONDS_PER_DAY)
        week = ((days + _lit(3)) // _lit(7)).label("week")
        stmt = (
            select(week, col(f.channel), func.count())
            .where(*self._filed_in(window))
            .group_by(week, col(f.channel))
            .order_by(week, col(f.channel))
        )
        return [(int(w), c, int(n)) for w, c, n in (await self.session.execute(stmt)).all()]

    async def resolved_places(
        self, window: Window, limit: int
    ) -> list[tuple[float | None, float | None, str | None, str | None, int]]:
        """Resolved reports filed in the window that are not confidential, newest first, at
        most `limit`: (lat, lon, kelurahan code, category id, filed_s). Nothing else of the
        report (the public map's dots)."""
        f, r = ReportFacts, Report
        stmt = (
            select(
                col(r.lat), col(r.lon), col(f.kelurahan_code), col(f.category_id), col(f.filed_s)
            )
            .select_from(f)
            .join(r, col(r.id) == col(f.report_id))
            .where(
                col(f.status) == "resolved",
                col(r.confidential).is_(False),
                *self._filed_in(window),
            )
            .order_by(col(f.filed_s).desc(), col(f.report_id).desc())
            .limit(limit)
        )
        return [
            (
                None if lat is None else float(lat),
                None if lon is None else float(lon),
                code,
                category,
                int(filed),
            )
            for lat, lon, code, category, filed in (await self.session.execute(stmt)).all()
        ]

    # -- funnel ---------------------------------------------------------------------------------

    async def funnel(
        self, window: Window, stale_before: datetime, stages: Sequence[tuple[str, int]]
    ) -> dict[str, ChannelFunnel]:
        """Per channel: sessions started in the window, filed, still going, stages reached, and
        where (step, reason) the others stopped. A session idle since before `stale_before`
        counts as expired at its last step.

        Ended sessions are counted from ix_funnel_sessions_funnel alone (grouped in its order,
        no sort); open ones, few, separately, as their time decides which they are."""
        s = FunnelSession
        outcome = col(s.outcome)
        in_window = self._between(col(s.started_at), window)
        keys = (col(s.channel), outcome, col(s.end_step), col(s.steps))
        ended = select(*keys, func.count()).where(outcome.is_not(None), *in_window).group_by(*keys)
        stale = (col(s.last_at) < stale_before).label("stale")
        open_keys = (col(s.channel), col(s.last_step), col(s.steps), stale)
        still_open = (
            select(*open_keys, func.count())
            .where(outcome.is_(None), *in_window)
            .group_by(*open_keys)
        )
        out: dict[str, ChannelFunnel] = {}

        def add(channel: str, how: str, step: str, steps: int, n: int) -> None:
            funnel = out.setdefault(
                channel, ChannelFunnel(channel, reached={name: 0 for name, _ in stages})
            )
            funnel.started += n
            if how == FUNNEL_FILED:
                funnel.filed += n
            elif how == SUPPORTED:
                funnel.supported += n
            elif how == "going":
                funnel.in_progress += n
            else:
                funnel.abandoned[(step, how)] = funnel.abandoned.get((step, how), 0) + n
            for name, mask in stages:
                if how == FUNNEL_FILED or steps & mask:
                    funnel.reached[name] += n

        for channel, how, step, steps, n in (await self.session.execute(ended)).all():
            add(channel, str(how), step or "", int(steps or 0), int(n))
        for channel, step, steps, is_stale, n in (await self.session.execute(still_open)).all():
            add(channel, EXPIRED if is_stale else "going", step, int(steps or 0), int(n))
        return out

    async def campaigns(self, window: Window, stale_before: datetime) -> dict[str, CampaignCounts]:
        """Per campaign: funnel sessions started in the window, filed, still going (an open
        session idle since before `stale_before` has expired), and reports filed in the window
        (from ix_funnel_sessions_campaign and ix_reports_campaign_created_at)."""
        s, r = FunnelSession, Report
        campaign = col(s.campaign)
        going = col(s.outcome).is_(None) & (col(s.last_at) >= stale_before)
        sessions = (
            select(
                campaign,
                func.count(),
                _count_if(col(s.outcome) == FUNNEL_FILED),
                _count_if(going),
            )
            .where(campaign.is_not(None), *self._between(col(s.started_at), window))
            .group_by(campaign)
        )
        out: dict[str, CampaignCounts] = {}
        for key, started, filed, still in (await self.session.execute(sessions)).all():
            out[str(key)] = CampaignCounts(str(key), int(started), int(filed or 0), int(still or 0))
        reports = (
            select(col(r.campaign), func.count())
            .where(col(r.campaign).is_not(None), *self._between(col(r.created_at), window))
            .group_by(col(r.campaign))
        )
        for key, n in (await self.session.execute(reports)).all():
            out.setdefault(str(key), CampaignCounts(str(key))).reports = int(n)
        return out

    async def filing_effort(
        self, window: Window, filed: Mapping[str, int], fractions: Sequence[Fraction]
    ) -> dict[tuple[str, str], Percentiles]:
        """Per channel, over sessions that filed a report: seconds and messages it took.
        `filed` gives each channel's number of filed sessions in the window."""
        s = FunnelSession
        out: dict[tuple[str, str], Percentiles] = {}
        for channel, n in filed.items():
            where = [
                col(s.outcome) == FUNNEL_FILED,
                col(s.channel) == channel,
                *self._between(col(s.started_at), window),
            ]
            for measure, value in (("seconds", col(s.duration_s)), ("messages", col(s.messages))):
                found = await self._walk(value, where, n, fractions)
                if found:
                    out[(channel, measure)] = found
        return out


def _dialect_insert(dialect: str, model: Any) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"unsupported database dialect {dialect!r}")


def _epoch(dialect: str, value: Any) -> ColumnElement[int]:
    """Whole seconds since 1970-01-01 UTC of a timestamp column."""
    if dialect == "sqlite":
        return extract("epoch", value)  # CAST(STRFTIME('%s', value) AS INTEGER)
    return cast(func.floor(extract("epoch", value)), BigInteger)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _lit(value: int) -> ColumnElement[int]:
    """An integer written into the SQL: PostgreSQL matches GROUP BY expressions by text, and
    two bound parameters never match."""
    return literal_column(str(int(value)), BigInteger)


def _seconds(moment: datetime) -> int:
    return math.floor(moment.timestamp())
