"""The `lapor` command: serve, chat, migrate, check-config, stats, train, outbox, campaigns."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence

from bot import logs
from bot.settings import ConfigError, Settings, load_settings
from bot.web.exposure import token_problem
from channels.secrets import register_secret

log = logging.getLogger("bot.cli")

# their output is the terminal's: warnings and errors only
QUIET_COMMANDS = ("chat", "stats", "outbox", "campaigns")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lapor", description="Citizen complaint intake bot")
    parser.add_argument(
        "--config", help="TOML file (default: $LAPOR_CONFIG, else config.example.toml)"
    )
    level_help = (
        f"debug, info, warning or error (default: ${logs.LEVEL_ENV}, else info; "
        "warning for chat, stats and outbox); no level logs secrets or citizens' details"
    )
    parser.add_argument("--log-level", choices=logs.LEVELS, type=str.lower, help=level_help)
    commands = parser.add_subparsers(dest="command", required=True)

    def add_command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
        sub.add_argument(
            "--log-level",
            dest="sub_log_level",
            choices=logs.LEVELS,
            type=str.lower,
            help=argparse.SUPPRESS,
        )
        return sub

    serve = add_command("serve", "run the web service and its workers")
    serve.add_argument("--host", help="override service.host")
    serve.add_argument("--port", type=int, help="override service.port")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (several need PostgreSQL, and Redis for polling; see README)",
    )
    for name, text in (
        ("chat", "try the bot in this terminal, no platform token needed"),
        ("migrate", "apply database migrations"),
        ("check-config", "check the configuration and print every problem"),
        ("set-webhook", "register {public_url}/webhooks/telegram with Telegram"),
    ):
        add_command(name, text)
    stats = add_command(
        "stats", "figures: reports, response times, time limits, topics, channel funnels"
    )
    stats.add_argument("--since", help="reports filed from this date or time (local time)")
    stats.add_argument("--until", help="... up to, not including, this date or time")
    stats.add_argument("--by", choices=("channel", "category", "agency", "kelurahan"))
    stats.add_argument("--format", choices=("table", "json", "csv"), default="table")
    outbox = add_command(
        "outbox", "list replies that did not go out (dead, held) and send them again"
    )
    outbox.add_argument(
        "--status",
        action="append",
        choices=("dead", "waiting", "pending", "inflight"),
        help="rows in this status (repeatable; default: dead and waiting)",
    )
    outbox.add_argument("--limit", type=int, default=50, help="list at most this many rows")
    retry = outbox.add_mutually_exclusive_group()
    retry.add_argument(
        "--retry", type=int, action="append", metavar="ID", help="send row ID again (repeatable)"
    )
    retry.add_argument(
        "--retry-all", action="store_true", help="send every listed row (by --status) again"
    )
    campaigns = add_command(
        "campaigns", "the links, SMS keywords and QR codes of the [[campaigns]] in the config"
    )
    campaigns.add_argument("--qr", metavar="DIR", help="write an SVG and a PNG QR code per link")
    campaigns.add_argument("--format", choices=("table", "json"), default="table")
    train = add_command(
        "train", "fit the category model on the shipped examples and officers' corrections"
    )
    train.add_argument("--output", help="where to write the model (default: classifier.model)")
    train.add_argument("--no-database", action="store_true", help="leave out officers' corrections")
    args = parser.parse_args(argv)
    default_level = "warning" if args.command in QUIET_COMMANDS else "info"
    level = logs.level_from(args.sub_log_level or args.log_level, default_level)
    logs.configure(level)
    try:
        settings = load_settings(args.sub_config or args.config)
    except ConfigError as exc:
        print("The configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    for secret in settings.secret_values():  # before anything can log one
        register_secret(secret)
    if args.command == "check-config":
        print(json.dumps(settings.redacted_summary(), indent=2, ensure_ascii=False))
        print("configuration OK", file=sys.stderr)
        return 0
    if args.command == "migrate":
        from storage import migrate

        migrate.upgrade(settings.storage.database_url)
        print(f"database at {migrate.current(settings.storage.database_url)}")
        return 0
    if args.command == "set-webhook":
        return asyncio.run(set_telegram_webhook(settings))
    if args.command == "stats":
        from bot.analytics.stats import stats_command

        return stats_command(settings, args.since, args.until, args.by, args.format)
    if args.command == "campaigns":
        return campaigns_command(settings, args.qr, args.format)
    if args.command == "train":
        from bot.training import train_command

        return train_command(settings, args.output, not args.no_database)
    if args.command == "outbox":
        return asyncio.run(
            outbox_command(settings, args.status, args.limit, args.retry, args.retry_all)
        )
    if args.command == "chat":
        from bot.compose import chat

        return asyncio.run(chat(settings))
    refused = token_problem(settings, args.host or settings.service.host)
    if refused:
        print(f"cannot start: {refused}", file=sys.stderr)
        return 2
    config_path = args.sub_config or args.config
    if args.workers > 1:
        return serve_workers(
            settings, config_path, args.workers, host=args.host, port=args.port, level=level
        )
    return serve_forever(settings, host=args.host, port=args.port, level=level)


async def outbox_command(
    settings: Settings,
    statuses: list[str] | None,
    limit: int,
    retry: list[int] | None,
    retry_all: bool,
) -> int:
    """`lapor outbox`: the rows in `statuses` (default dead and waiting), or send some again (a
    running `lapor serve` or `lapor chat` picks them up within a second)."""
    from bot.compose import StartupError, prepare_database
    from bot.core.clock import utcnow
    from bot.core.deadletters import UNSENT, table
    from storage import Database, Store

    try:
        await asyncio.to_thread(prepare_database, settings)
    except StartupError as exc:
        print(f"cannot open the database: {exc}", file=sys.stderr)
        return 1
    chosen = tuple(statuses or UNSENT)
    store = Store(Database(settings.storage.database_url))
    try:
        if retry or retry_all:
            ids = None if retry_all else retry
            done = await store.outbox_requeue(utcnow(), ids=ids, statuses=chosen)
            missing = sorted(set(retry or ()) - set(done))
            print(f"{len(done)} row(s) queued again: {', '.join(map(str, done)) or '-'}")
            if missing:
                print(
                    f"not {' or '.join(chosen)}, or unknown: {', '.join(map(str, missing))}",
                    file=sys.stderr,
                )
                return 1
            return 0
        rows = await store.outbox_listing(chosen, limit=max(limit, 1))
        counts = await store.outbox_counts()
        summary = ", ".join(f"{status} {counts.get(status, 0)}" for status in chosen)
        print(f"outbox: {summary}")
        if rows:
            print(table(rows))
        return 0
    finally:
        await store.dispose()


async def set_telegram_webhook(settings: Settings) -> int:
    from channels.base import SendError
    from channels.telegram import ALLOWED_UPDATES, TelegramSender

    telegram = settings.channels.telegram
    problems = []
    if not telegram.token.get_secret_value():
        problems.append("channels.telegram.token: not set")
    if not settings.service.public_url.startswith("https://"):
        problems.append("service.public_url: Telegram needs an https:// address")
    if not telegram.webhook_secret.get_secret_value():
        problems.append("channels.telegram.webhook_secret: not set")
    if problems:
        print("Cannot set the webhook:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    url = f"{settings.service.public_url}/webhooks/telegram"
    sender = TelegramSender(telegram.token.get_secret_value(), telegram.api_base)
    try:
        await sender.set_webhook(url, telegram.webhook_secret.get_secret_value(), ALLOWED_UPDATES)
    except SendError as exc:
        print(f"Telegram refused the webhook: {exc.reason}", file=sys.stderr)
        return 1
    finally:
        await sender.aclose()
    print(f"Telegram will post updates to {url} ({', '.join(ALLOWED_UPDATES)})")
    return 0


def serve_forever(
    settings: Settings, *, host: str | None, port: int | None, level: int = logging.INFO
) -> int:
    import uvicorn

    from bot.analytics.metrics import forget_last_counts
    from bot.compose import (
        Service,
        StartupError,
        build_senders,
        channel_lines,
        create_app,
        prepare_database,
    )

    try:
        prepare_database(settings)
    except StartupError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    for line in channel_lines(settings):
        log.info(line)
    forget_last_counts()
    service = Service(settings, senders=build_senders(settings))
    app = create_app(service)
    config = uvicorn.Config(
        app,
        host=host or settings.service.host,
        port=port if port is not None else settings.service.port,
        log_level=logs.uvicorn_level(level),
        proxy_headers=True,
    )
    uvicorn.Server(config).run()
    return 0


def serve_workers(
    settings: Settings,
    config_path: str | None,
    workers: int,
    *,
    host: str | None,
    port: int | None,
    level: int = logging.INFO,
) -> int:
    """Several worker processes on one port (uvicorn's process manager restarts one that dies);
    each builds its own service from the same configuration (`bot.compose.worker_app`)."""
    import os

    import uvicorn

    from bot.analytics.metrics import counts_dir
    from bot.compose import StartupError, channel_lines, prepare_database

    telegram = settings.channels.telegram
    if telegram.enabled and telegram.mode == "polling" and not settings.storage.redis_url:
        print(
            'cannot start: channels.telegram.mode = "polling" with --workers > 1 needs '
            "storage.redis_url (only one worker may poll)",
            file=sys.stderr,
        )
        return 2
    if settings.storage.database_url.startswith("sqlite"):
        print(
            "note: several workers on SQLite take turns writing; PostgreSQL scales", file=sys.stderr
        )
    if not settings.storage.redis_url:
        print(
            "note: without storage.redis_url each worker locks conversations on its own; "
            "concurrent messages of one chat on two workers are retried, not lost",
            file=sys.stderr,
        )
    try:
        prepare_database(settings)
    except StartupError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    if config_path:
        os.environ["LAPOR_CONFIG"] = os.path.abspath(config_path)  # read again by each worker
    os.environ[logs.LEVEL_ENV] = logs.uvicorn_level(level)  # and the log level
    for line in channel_lines(settings):
        log.info(line)
    with counts_dir(workers):  # /metrics adds up the counts of every worker
        uvicorn.run(
            "bot.compose:worker_app",
            factory=True,
            workers=workers,
            host=host or settings.service.host,
            port=port if port is not None else settings.service.port,
            log_level=logs.uvicorn_level(level),
            proxy_headers=True,
        )
    return 0


def campaigns_command(settings: Settings, qr_dir: str | None, fmt: str) -> int:
    """`lapor campaigns`: print each campaign's links; with `qr_dir`, write their QR codes
    (`<id>-<channel>.svg` and `.png`, by segno). 2 when the directory cannot be written."""
    from pathlib import Path

    from bot.campaigns import campaign_links

    links = campaign_links(settings)
    written: dict[str, list[str]] = {}
    if qr_dir is not None:
        import segno

        folder = Path(qr_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for link in links:
                if not link.qr:
                    continue
                code = segno.make(link.qr, error="m")
                svg, png = folder / f"{link.file_stem}.svg", folder / f"{link.file_stem}.png"
                code.save(
                    str(svg), scale=4, border=4, title=f"{link.campaign.name} ({link.channel})"
                )
                code.save(str(png), scale=8, border=4)
                written[link.file_stem] = [str(svg), str(png)]
        except OSError as exc:
            print(f"lapor campaigns: cannot write QR codes to {folder}: {exc}", file=sys.stderr)
            return 2
    if fmt == "json":
        rows = [
            {
                "campaign": link.campaign.id,
                "name": link.campaign.name,
                "channel": link.channel,
                "link": link.link or None,
                "qr": link.qr or None,
                "problem": link.problem or None,
                "channel_enabled": link.enabled,
                "files": written.get(link.file_stem, []),
            }
            for link in links
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not links:
        print("no campaigns: add [[campaigns]] to the configuration (README, Campaigns)")
        return 0
    shown = ""
    for link in links:
        if link.campaign.id != shown:
            dates = _campaign_dates(link.campaign.starts, link.campaign.ends)
            print(f"{link.campaign.id}: {link.campaign.name}{dates}")
            shown = link.campaign.id
        notes = [n for n in (link.problem, "" if link.enabled else "channel not enabled") if n]
        note = f"  ({'; '.join(notes)})" if notes else ""
        print(f"  {link.channel:<9} {link.link or '-'}{note}".rstrip())
        for path in written.get(link.file_stem, []):
            print(f"  {'':<9} QR: {path}")
    return 0


def _campaign_dates(starts: object, ends: object) -> str:
    if starts is None and ends is None:
        return ""
    return f" [{starts or '...'} to {ends or '...'}]"


if __name__ == "__main__":
    sys.exit(main())
