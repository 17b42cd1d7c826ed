"""Analytics (issue 7): funnel sessions, report topic words, and report facts kept by triggers.

`report_facts` has one row per report with its status, grouping columns and lifecycle times in
whole seconds since the epoch. Triggers keep it: inserting or updating a report copies its
columns; inserting a status event folds the event into the times. Existing reports and events
are backfilled here, and so are the topic words of existing reports.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

# The lifecycle times (storage/analytics.py explains each); {s} is the event's time in seconds.
_FOLD = """
    verified_s = CASE WHEN {decided} THEN {s} ELSE verified_s END,
    verification_s = CASE WHEN {decided} THEN {s} - filed_s ELSE verification_s END,
    disposed_s = CASE WHEN {disposed} THEN {s} ELSE disposed_s END,
    officer_s = CASE WHEN {officer} THEN {s} ELSE officer_s END,
    response_s = CASE WHEN {officer} THEN {s} - filed_s ELSE response_s END,
    followup_s = CASE WHEN {followup} THEN {s} ELSE followup_s END,
    resolved_s = CASE WHEN {resolved} THEN {s} ELSE resolved_s END,
    resolution_s = CASE WHEN {resolved} THEN {s} - filed_s ELSE resolution_s END,
    follow_up_s = (CASE WHEN {followup} THEN {s} ELSE followup_s END)
        - (CASE WHEN {disposed} THEN {s} ELSE disposed_s END)
"""
_DECIDED = "NEW.status IN ('verified', 'rejected') AND (verified_s IS NULL OR verified_s > {s})"
_OFFICER = "NEW.actor NOT IN ('citizen', 'system') AND (officer_s IS NULL OR officer_s > {s})"
_RESOLVED = "NEW.status = 'resolved' AND (resolved_s IS NULL OR resolved_s < {s})"
_DISPOSED = "NEW.status = 'verified' AND (disposed_s IS NULL OR disposed_s > {s})"
_FOLLOWUP = (
    "NEW.status IN ('in_progress', 'resolved', 'rejected') "
    "AND (followup_s IS NULL OR followup_s > {s})"
)


def _fold(s: str) -> str:
    """SET clauses folding the event NEW (at `s` seconds) into a report_facts row. Every
    expression reads the row as it was before the update."""
    return _FOLD.format(
        s=s,
        decided=_DECIDED.format(s=s),
        officer=_OFFICER.format(s=s),
        resolved=_RESOLVED.format(s=s),
        disposed=_DISPOSED.format(s=s),
        followup=_FOLLOWUP.format(s=s),
    )


_COPY = """status = NEW.status, channel = NEW.channel, category_id = NEW.category_id,
    agency_id = NEW.agency_id, kelurahan_code = NEW.kelurahan_code"""
_REPORT_COLUMNS = "status, channel, category_id, agency_id, kelurahan_code"
_WATCHED = "status, channel, category_id, agency_id, kelurahan_code"

# Counts per group read the first four alone; percentiles walk the others in order.
FACTS_INDEXES = {
    "ix_report_facts_channel": ["channel", "filed_s"],
    "ix_report_facts_category_id": ["category_id", "filed_s"],
    "ix_report_facts_agency_id": ["agency_id", "filed_s"],
    "ix_report_facts_kelurahan_code": ["kelurahan_code", "filed_s"],
    "ix_report_facts_verification_s": ["verification_s", "filed_s"],
    "ix_report_facts_response_s": ["response_s", "filed_s"],
    "ix_report_facts_resolution_s": ["resolution_s", "status", "filed_s"],
    "ix_report_facts_follow_up_s": ["follow_up_s", "disposed_s", "filed_s"],
}
FUNNEL_INDEXES = {
    "ix_funnel_sessions_funnel": ["channel", "outcome", "end_step", "steps", "started_at"],
    "ix_funnel_sessions_duration": ["outcome", "channel", "duration_s", "started_at"],
    "ix_funnel_sessions_messages": ["outcome", "channel", "messages", "started_at"],
}

_SQLITE_EPOCH = "CAST(strftime('%s', {}) AS INTEGER)"
_PG_EPOCH = "CAST(floor(extract(epoch FROM {})) AS BIGINT)"

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER trg_report_facts_insert AFTER INSERT ON reports BEGIN
    INSERT INTO report_facts (report_id, {_REPORT_COLUMNS}, filed_s)
    VALUES (NEW.id, NEW.status, NEW.channel, NEW.category_id, NEW.agency_id,
            NEW.kelurahan_code, {_SQLITE_EPOCH.format("NEW.created_at")});
END""",
    f"""CREATE TRIGGER trg_report_facts_update AFTER UPDATE OF {_WATCHED} ON reports BEGIN
    UPDATE report_facts SET {_COPY} WHERE report_id = NEW.id;
END""",
    f"""CREATE TRIGGER trg_report_facts_event AFTER INSERT ON status_events BEGIN
    UPDATE report_facts SET {_fold(_SQLITE_EPOCH.format("NEW.created_at"))}
    WHERE report_id = NEW.report_id;
END""",
)

POSTGRES_TRIGGERS = (
    f"""CREATE FUNCTION report_facts_on_report() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO report_facts (report_id, {_REPORT_COLUMNS}, filed_s)
        VALUES (NEW.id, NEW.status, NEW.channel, NEW.category_id, NEW.agency_id,
                NEW.kelurahan_code, {_PG_EPOCH.format("NEW.created_at")});
    ELSE
        UPDATE report_facts SET {_COPY} WHERE report_id = NEW.id;
    END IF;
    RETURN NULL;
END $$""",
    f"""CREATE TRIGGER trg_report_facts_report AFTER INSERT OR UPDATE OF {_WATCHED} ON reports
    FOR EACH ROW EXECUTE FUNCTION report_facts_on_report()""",
    f"""CREATE FUNCTION report_facts_on_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s BIGINT := {_PG_EPOCH.format("NEW.created_at")};
BEGIN
    UPDATE report_facts SET {_fold("s")} WHERE report_id = NEW.report_id;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER trg_report_facts_event AFTER INSERT ON status_events
    FOR EACH ROW EXECUTE FUNCTION report_facts_on_event()""",
)


def _backfill_facts(epoch: str) -> str:
    def first(condition: str) -> str:
        return epoch.format(f"MIN(CASE WHEN {condition} THEN e.created_at END)")

    return f"""INSERT INTO report_facts (report_id, {_REPORT_COLUMNS}, filed_s, verified_s,
        disposed_s, officer_s, followup_s, resolved_s)
    SELECT r.id, r.status, r.channel, r.category_id, r.agency_id, r.kelurahan_code,
        {epoch.format("r.created_at")},
        {first("e.status IN ('verified', 'rejected')")},
        {first("e.status = 'verified'")},
        {first("e.actor NOT IN ('citizen', 'system')")},
        {first("e.status IN ('in_progress', 'resolved', 'rejected')")},
        {epoch.format("MAX(CASE WHEN e.status = 'resolved' THEN e.created_at END)")}
    FROM reports r LEFT JOIN status_events e ON e.report_id = r.id
    GROUP BY r.id, r.status, r.channel, r.category_id, r.agency_id, r.kelurahan_code,
        r.created_at"""


_BACKFILL_DURATIONS = """UPDATE report_facts SET verification_s = verified_s - filed_s,
    response_s = officer_s - filed_s, resolution_s = resolved_s - filed_s,
    follow_up_s = followup_s - disposed_s"""


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "funnel_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_key", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        _ts("started_at"),
        _ts("last_at"),
        sa.Column("last_step", sa.String(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("end_step", sa.String(), nullable=True),
        _ts("ended_at", nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name="fk_funnel_sessions_report_id", ondelete="SET NULL"
        ),
    )
    op.create_index(
        "ux_funnel_sessions_open",
        "funnel_sessions",
        ["conversation_key"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index("ix_funnel_sessions_started_at", "funnel_sessions", ["started_at", "channel"])
    for name, columns in FUNNEL_INDEXES.items():
        op.create_index(name, "funnel_sessions", columns)

    op.create_table(
        "report_terms",
        sa.Column("report_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("term", sa.String(), primary_key=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name="fk_report_terms_report_id", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_report_terms_term_created_at", "report_terms", ["term", "created_at"])

    op.create_table(
        "report_facts",
        sa.Column("report_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("category_id", sa.String(), nullable=True),
        sa.Column("agency_id", sa.String(), nullable=True),
        sa.Column("kelurahan_code", sa.String(), nullable=True),
        sa.Column("filed_s", sa.BigInteger(), nullable=False),
        sa.Column("verified_s", sa.BigInteger(), nullable=True),
        sa.Column("disposed_s", sa.BigInteger(), nullable=True),
        sa.Column("officer_s", sa.BigInteger(), nullable=True),
        sa.Column("followup_s", sa.BigInteger(), nullable=True),
        sa.Column("resolved_s", sa.BigInteger(), nullable=True),
        sa.Column("verification_s", sa.BigInteger(), nullable=True),
        sa.Column("response_s", sa.BigInteger(), nullable=True),
        sa.Column("resolution_s", sa.BigInteger(), nullable=True),
        sa.Column("follow_up_s", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name="fk_report_facts_report_id", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_report_facts_filed_s", "report_facts", ["filed_s"])
    for name, columns in FACTS_INDEXES.items():
        op.create_index(name, "report_facts", columns)

    sqlite = op.get_bind().dialect.name == "sqlite"
    op.execute(_backfill_facts(_SQLITE_EPOCH if sqlite else _PG_EPOCH))
    op.execute(_BACKFILL_DURATIONS)
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        op.execute(statement)
    _index_existing_reports()


def _index_existing_reports() -> None:
    """Topic words of reports filed before this migration (new ones are indexed at filing)."""
    from intake.analytics import topic_terms

    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, description, created_at FROM reports")).all()
    terms = [
        {"report_id": rid, "term": term, "created_at": created_at}
        for rid, description, created_at in rows
        for term in topic_terms(description or "")
    ]
    if terms:
        conn.execute(
            sa.text(
                "INSERT INTO report_terms (report_id, term, created_at) "
                "VALUES (:report_id, :term, :created_at)"
            ),
            terms,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "trg_report_facts_insert",
            "trg_report_facts_update",
            "trg_report_facts_event",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_report_facts_event ON status_events")
        op.execute("DROP TRIGGER IF EXISTS trg_report_facts_report ON reports")
        op.execute("DROP FUNCTION IF EXISTS report_facts_on_event()")
        op.execute("DROP FUNCTION IF EXISTS report_facts_on_report()")
    for name in FACTS_INDEXES:
        op.drop_index(name, table_name="report_facts")
    op.drop_index("ix_report_facts_filed_s", table_name="report_facts")
    op.drop_table("report_facts")
    op.drop_index("ix_report_terms_term_created_at", table_name="report_terms")
    op.drop_table("report_terms")
    for name in FUNNEL_INDEXES:
        op.drop_index(name, table_name="funnel_sessions")
    op.drop_index("ix_funnel_sessions_started_at", table_name="funnel_sessions")
    op.drop_index("ux_funnel_sessions_open", table_name="funnel_sessions")
    op.drop_table("funnel_sessions")
