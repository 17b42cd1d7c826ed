"""The `lapor` command: serve, chat, migrate, check-config."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence

from bot.settings import ConfigError, Settings, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lapor", description="Citizen complaint intake bot")
    parser.add_argument(
        "--config", help="TOML file (default: $LAPOR_CONFIG, else config.example.toml)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web service and its workers")
    serve.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
    serve.add_argument("--host", help="override service.host")
    serve.add_argument("--port", type=int, help="override service.port")
    for name, text in (
        ("chat", "try the bot in this terminal, no platform token needed"),
        ("migrate", "apply database migrations"),
        ("check-config", "check the configuration and print every problem"),
        ("set-webhook", "register {public_url}/webhooks/telegram with Telegram"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings(args.sub_config or args.config)
    except ConfigError as exc:
        print("The configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
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
    if args.command == "chat":
        logging.getLogger().setLevel(logging.WARNING)
        from bot.console import chat

        return asyncio.run(chat(settings))
    return serve_forever(settings, host=args.host, port=args.port)


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


def serve_forever(settings: Settings, *, host: str | None, port: int | None) -> int:
    import uvicorn

    from bot.app import create_app
    from bot.channels_setup import build_senders
    from bot.service import Service, StartupError, prepare_database

    try:
        prepare_database(settings)
    except StartupError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    service = Service(settings, senders=build_senders(settings))
    app = create_app(service)
    config = uvicorn.Config(
        app,
        host=host or settings.service.host,
        port=port if port is not None else settings.service.port,
        log_level="info",
        proxy_headers=True,
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
