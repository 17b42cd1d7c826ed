"""The composition root: the one place that builds the service from its configuration and hands
each part only what it uses.

`Service` holds the assembled parts (storage, the city catalogue, the pipeline, the outbox
dispatcher, the media fetcher, the officer desk, the time limits, one ingress per channel) and
starts and stops their background work. `create_app` puts the web routes around it for
`lapor serve`; `chat` runs the same service with the terminal as the citizen's phone, so
`lapor chat` exercises exactly what `lapor serve` runs, minus the web server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from bot import logs
from bot.actions.citizen import citizen_effects
from bot.actions.lookups import LookupLimit
from bot.analytics.funnel import FunnelRecorder
from bot.analytics.metrics import PrometheusTelemetry
from bot.core.clock import utcnow
from bot.core.dispatcher import Dispatcher
from bot.core.media import MediaFetcher
from bot.core.pacing import Pacer, configured
from bot.core.pipeline import Pipeline
from bot.core.ports import Clock
from bot.core.uploads import StoredMediaSenders
from bot.core.workers import Workers
from bot.desk.cards import CardEditor
from bot.desk.group import Desk
from bot.desk.sla import SlaWorker
from bot.ingress import console as console_ingress
from bot.ingress import sms as sms_ingress
from bot.ingress import telegram as telegram_ingress
from bot.ingress import whatsapp as whatsapp_ingress
from bot.ingress.sms import SmsIngress
from bot.ingress.telegram import Poller, TelegramIngress
from bot.ingress.web import WebIngress
from bot.ingress.whatsapp import WhatsAppIngress
from bot.scaling.cluster import Scaling
from bot.settings import Settings, load_boundaries, load_settings
from bot.training import load_category_model
from bot.web.api import ReportApi
from bot.web.app import build_app
from bot.web.dashboard import DashboardSource
from bot.web.metrics import MetricsEndpoint
from bot.web.open311 import Open311
from bot.web.public import PublicPage
from bot.web.report_pages import ReportPages
from channels.base import ChannelSender
from channels.console import ConsoleChannel
from channels.limits import SendLimits
from channels.secrets import register_secret
from channels.sms import SmsProvider, SmsSender
from channels.sms.android import AndroidGatewayProvider
from channels.sms.twilio import TwilioProvider
from channels.telegram import TelegramSender
from channels.telegram.limits import LIMITS as TELEGRAM_LIMITS
from channels.whatsapp import WhatsAppSender
from channels.whatsapp.limits import LIMITS as WHATSAPP_LIMITS
from intake.catalog import Catalog
from intake.lifecycle import SlaPolicy
from storage import Database, Store, migrate
from storage.media import MediaStore
from storage.web import WebChatStore

log = logging.getLogger(__name__)

RESUME_EVERY = 30.0  # seconds between sweeps for inbox rows that failed to process
# How fast each platform takes messages (the dispatcher paces inside these; `[delivery]`).
PLATFORM_LIMITS: Mapping[str, SendLimits] = {
    "telegram": TELEGRAM_LIMITS,
    "whatsapp": WHATSAPP_LIMITS,
}


class StartupError(Exception):
    """The service cannot start; the message says why and what to do."""


def prepare_database(settings: Settings) -> None:
    """Bring the schema up to date on SQLite; on PostgreSQL insist that `lapor migrate` ran."""
    url = settings.storage.database_url
    if migrate.is_current(url):
        return  # the usual case, told without loading alembic
    if url.startswith("sqlite"):
        migrate.upgrade(url)
        return
    current, head = migrate.current(url), migrate.head()
    if current != head:
        raise StartupError(
            f"the database schema is at {current or 'nothing'}, this version needs {head}: "
            "run `lapor migrate` first"
        )


def channel_lines(settings: Settings) -> list[str]:
    """What `lapor serve` says at start-up: each enabled channel and where its platform calls."""
    base = settings.service.public_url.rstrip("/")
    channels = settings.channels
    lines = []
    if channels.telegram.enabled:
        how = (
            f"webhook POST {base}{telegram_ingress.PATH}"
            if channels.telegram.mode == "webhook"
            else "polling getUpdates"
        )
        lines.append(f"channel telegram: {how}")
    if channels.whatsapp.enabled:
        lines.append(f"channel whatsapp: webhook GET+POST {base}{whatsapp_ingress.PATH}")
    if channels.sms.enabled:
        path = (
            sms_ingress.TWILIO_PATH
            if channels.sms.provider == "twilio"
            else sms_ingress.ANDROID_PATH
        )
        lines.append(f"channel sms ({channels.sms.provider}): webhook POST {base}{path}")
    return lines or ["no platform channel enabled (the REST API and dashboard run; see README)"]


def build_catalog(settings: Settings) -> Catalog:
    """The city as the flow sees it, built from configuration once at start-up."""
    return Catalog.build(
        city_name=settings.places.city_name,
        categories=settings.domain_categories(),
        agencies=settings.domain_agencies(),
        areas=settings.domain_areas(),
        boundaries=load_boundaries(settings),
        ticket_prefix=settings.service.ticket_prefix,
        text_overrides=settings.texts,
        category_model=load_category_model(settings),
        landmarks=settings.domain_landmarks(),
        default_language=settings.service.default_language,
        conversation_timeout=timedelta(minutes=settings.flow.conversation_timeout_minutes),
        max_photos=settings.flow.max_photos,
        max_description_chars=settings.flow.max_description_chars,
        verify_days=settings.sla.verify_days,
        officers_chat_id=settings.officers.default_chat_id or None,
        tz=ZoneInfo(settings.service.timezone),
        campaigns=tuple(settings.domain_campaigns()),
    )


def build_senders(settings: Settings) -> dict[str, ChannelSender]:
    """The platform channels that run, from configuration."""
    senders: dict[str, ChannelSender] = {}
    telegram = settings.channels.telegram
    if telegram.enabled:
        senders["telegram"] = TelegramSender(telegram.token.get_secret_value(), telegram.api_base)
    whatsapp = settings.channels.whatsapp
    if whatsapp.enabled:
        senders["whatsapp"] = WhatsAppSender(
            whatsapp.phone_number_id,
            whatsapp.access_token.get_secret_value(),
            graph_base=whatsapp.graph_base,
            api_version=whatsapp.api_version,
            status_template=whatsapp.status_template,
            template_language=whatsapp.template_language,
        )
    sms = settings.channels.sms
    if sms.enabled:
        provider: SmsProvider
        if sms.provider == "twilio":
            public_url = settings.service.public_url.rstrip("/")
            provider = TwilioProvider(
                sms.account_sid,
                sms.auth_token.get_secret_value(),
                sms.from_number,
                api_base=sms.api_base,
                status_callback=f"{public_url}/webhooks/sms/twilio" if public_url else None,
            )
        else:
            provider = AndroidGatewayProvider(
                sms.gateway_url, sms.username, sms.password.get_secret_value()
            )
        senders["sms"] = SmsSender(provider)
    return senders


def sla_policy(settings: Settings, catalog: Catalog) -> SlaPolicy:
    sla = settings.sla
    return SlaPolicy.of(
        verify_days=sla.verify_days,
        respond_days=sla.respond_days,
        autoclose_days=sla.autoclose_days,
        holidays=sla.holidays,
        tz=catalog.tz,
    )


class Service:
    """The assembled service. `senders` are the platform channels (`build_senders`); tests and
    the console pass their own, and `add_sender` adds one later."""

    def __init__(
        self,
        settings: Settings,
        *,
        senders: Mapping[str, ChannelSender] | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.clock = clock
        for secret in settings.secret_values():
            register_secret(secret)
        self.catalog = catalog = build_catalog(settings)
        self.db = Database(settings.storage.database_url)
        self.store = store = Store(self.db)
        self.senders: dict[str, ChannelSender] = dict(senders or {})
        self.workers = Workers()
        self.telemetry = PrometheusTelemetry()  # counts for /metrics
        # Shared state for several workers when storage.redis_url is set (bot.scaling).
        self.scaling = Scaling(settings.storage.redis_url, settings.storage.database_url)
        media = MediaStore(Path(settings.storage.media_dir))

        def media_missing(count: int) -> str:
            return catalog.texts.desk("media_missing", catalog.default_language, count=count)

        # Officers' cards upload the citizens' WhatsApp (and console) photos and voice notes
        # from the media store (bot.core.uploads); the dispatcher sees the wrapped senders.
        uploading = StoredMediaSenders(self.senders, store, media, media_missing, clock)
        self.dispatcher = Dispatcher(
            store,
            uploading,
            clock=clock,
            tracker=self.scaling.tracker(),
            telemetry=self.telemetry,
            pacer=Pacer(configured(PLATFORM_LIMITS, settings.delivery)),  # platform limits
        )
        self.pipeline = pipeline = Pipeline(
            store,
            catalog,
            {name: sender.capabilities for name, sender in self.senders.items()},
            citizen_effects(LookupLimit()),  # refused ticket lookups per sender, in-process
            clock=clock,
            on_outbox=self.scaling.outbox_notifier(self.wake_senders),
            telemetry=self.telemetry,
            **self.scaling.pipeline_options(),
        )
        # Analytics: the conversation funnel and topic words of filed reports.
        pipeline.observers.append(FunnelRecorder.for_catalog(catalog))
        self.media = MediaFetcher(store, self.senders, media, clock=clock)
        # The officer desk (Telegram groups, report cards) and the time limits.
        policy = sla_policy(settings, catalog)
        self.cards = CardEditor(
            store, catalog, senders=self.senders, capabilities=pipeline.capabilities, clock=clock
        )
        self.desk = Desk(
            store,
            catalog,
            sla=policy,
            officer_ids=settings.officers.user_ids,
            senders=self.senders,
            capabilities=pipeline.capabilities,
            conversations=pipeline.conversations,
            clock=clock,
            spawn=self.workers.spawn,
            wake=self.wake_senders,
        )
        self.sla = SlaWorker(
            store,
            catalog,
            policy,
            env=self.desk.env,
            clock=clock,
            wake=self.wake_senders,
        )
        # One ingress per platform: webhook routes (and polling) into the pipeline.
        channels = settings.channels
        self.telegram = TelegramIngress(
            channels.telegram,
            pipeline,
            store,
            group_updates=self.desk.handle,
            senders=self.senders,
            clock=clock,
            spawn=self.workers.spawn,
        )
        self.whatsapp = WhatsAppIngress(
            channels.whatsapp,
            pipeline,
            store,
            senders=self.senders,
            clock=clock,
            spawn=self.workers.spawn,
            wake_outbox=self.dispatcher.wake,
        )
        self.whatsapp.attach_window()  # the sender learns the 24-hour window from the contacts
        self.sms = SmsIngress(
            channels.sms, settings.service.public_url, pipeline, store, clock=clock
        )
        # The web chat page: its own routes, and a sender into the page's mailbox.
        self.web = WebIngress(
            channels.web, pipeline, WebChatStore(self.db), self.media.media, catalog, clock=clock
        )
        if channels.web.enabled:
            self.add_sender(self.web.sender())

    def wake_senders(self) -> None:
        """Replies were queued (and report cards may be due): wake the senders."""
        self.dispatcher.wake()
        self.cards.wake()

    def add_sender(self, sender: ChannelSender) -> None:
        self.senders[sender.name] = sender
        self.pipeline.capabilities[sender.name] = sender.capabilities
        self.whatsapp.attach_window()

    async def start(self, *, workers: bool = True) -> None:
        await self.pipeline.resume()
        if not workers:
            await self.dispatcher.recover()  # (`run` does it when it starts)
            return
        run = self.workers.run
        self.scaling.start(self.workers, self.store, self.dispatcher.wake)
        run(self.dispatcher.run(), "outbox")
        if self.settings.service.answer_before_processing:
            run(self.pipeline.run_processor(), "inbox-processor")
        run(self._resume_loop(), "inbox-resume")
        run(self.media.run(), "media")
        self.workers.spawn(self.desk.learn_username())
        run(self.cards.run(), "desk-cards")
        run(self.scaling.exclusive("sla", self.sla.run), "sla")
        telegram = self.settings.channels.telegram
        sender = self.telegram.sender()
        if telegram.enabled and telegram.mode == "polling" and sender is not None:
            # One worker of the deployment polls at a time (a Redis lease, when configured).
            poller = Poller(self.telegram, sender)
            run(self.scaling.exclusive("telegram-polling", poller.run), "telegram-polling")

    async def _resume_loop(self) -> None:
        while True:
            await asyncio.sleep(RESUME_EVERY)
            try:
                await self.pipeline.resume()
            except Exception:
                log.exception("inbox resume failed")

    async def stop(self) -> None:
        await self.workers.stop()
        for sender in self.senders.values():
            await sender.aclose()
        await self.scaling.close()
        await self.db.dispose()


def create_app(service: Service, *, workers: bool = True) -> FastAPI:
    """The web service around `service`: webhooks, REST API, dashboard, health."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start(workers=workers)
        try:
            yield
        finally:
            await service.stop()

    settings = service.settings
    api = ReportApi(
        settings,
        service.store,
        service.db,
        desk_env=service.desk.env,
        wake=service.wake_senders,
        clock=service.clock,
    )
    dashboard = DashboardSource(settings, service.db, service.clock)  # read-only, token-protected
    open311 = Open311(
        settings, service.store, service.catalog, wake=service.wake_senders, clock=service.clock
    )
    metrics = MetricsEndpoint(service.telemetry, service.db, guard=api.require_token)
    return build_app(
        routers=[
            api.router(),
            dashboard.router(),
            metrics.router(),
            ReportPages(
                settings, service.store, desk_env=service.desk.env, clock=service.clock
            ).router(),  # token-protected, under /dashboard
            PublicPage(settings, service.db, service.clock).router(),  # no login, aggregates
            service.telegram.router(),
            service.whatsapp.router(),
            service.sms.router(),
            *([open311.router()] if settings.open311.enabled else []),  # GeoReport v2
            service.web.router(),
        ],
        readiness={"database": service.db.ping, "redis": service.scaling.ping},
        lifespan=lifespan,
        body_limits={whatsapp_ingress.PATH: whatsapp_ingress.MAX_BODY, **service.web.body_limits()},
    )


def worker_app() -> FastAPI:
    """The app of one worker process (an import-string factory for uvicorn's `--workers`):
    configuration from `LAPOR_CONFIG` and the `LAPOR_*` environment, as `lapor serve` reads it."""
    logs.configure(
        logs.level_from(None, "info"),
        fmt=f"%(asctime)s %(levelname)s [{os.getpid()}] %(name)s: %(message)s",
    )
    settings = load_settings()
    return create_app(Service(settings, senders=build_senders(settings)))


async def chat(settings: Settings, lines: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """`lapor chat`: the service with the console as its only channel, no web server."""
    await asyncio.to_thread(prepare_database, settings)
    console = ConsoleChannel(out)
    service = Service(settings, senders={console.name: console})
    await service.start(workers=False)

    async def send_and_fetch() -> int:
        """Print what is queued for the console, and store the photos typed with /foto."""
        sent = await service.dispatcher.drain()
        await service.media.fetch_due()
        return sent

    try:
        await console_ingress.converse(
            console, service.pipeline, send_and_fetch, service.clock, lines, out
        )
    finally:
        await service.stop()
    return 0
