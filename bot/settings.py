"""Configuration: one TOML file, overridable key by key from the environment.

`load_settings()` reads the file named by `--config`, `LAPOR_CONFIG` or `config.example.toml`,
overlays `LAPOR_*` environment variables (`LAPOR_CHANNELS__TELEGRAM__TOKEN` sets
`channels.telegram.token`; lists and tables are JSON), validates the structure with pydantic and
then checks what the structure cannot express (unknown agencies, duplicate ids, missing tokens of
enabled channels, a boundaries file that does not match the areas...). Every problem found is
reported at once, as `key: message`, in a `ConfigError`.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, get_args, get_origin
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
)
from shapely.geometry import Point, shape

from intake.campaigns import Campaign
from intake.normalize import normalize
from intake.places import Gazetteer, Landmark
from intake.texts import Texts
from intake.types import Agency, Category, GeoPoint, Kelurahan

ENV_PREFIX = "LAPOR_"
CONFIG_ENV = "LAPOR_CONFIG"  # names the file; not a key
DEFAULT_CONFIG = "config.example.toml"
LANGUAGES = ("id", "en")
DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+psycopg")
TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ConfigProblem(NamedTuple):
    key: str  # dotted path such as "channels.telegram.token" or "categories[3].agency"
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(Exception):
    """A configuration that cannot be used; `problems` lists everything that is wrong."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --- field types -------------------------------------------------------------------------------


def _chat_id(value: Any) -> Any:
    # Telegram chat ids are numbers; accept `-100123` as well as `"-100123"` in TOML.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ChatId = Annotated[str, BeforeValidator(_chat_id)]
OptionalChatId = Annotated[
    str | None, BeforeValidator(_chat_id), AfterValidator(lambda v: v or None)
]
Url = Annotated[str, AfterValidator(lambda v: v.strip().rstrip("/"))]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
NonEmpty = Annotated[str, Field(min_length=1)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- sections ------------------------------------------------------------------------------------


class ServiceConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: Url = ""
    default_language: Literal["id", "en"] = "id"
    timezone: str = "Asia/Jakarta"
    ticket_prefix: str = Field(default="LAPOR", pattern=r"^[A-Z0-9]{1,10}$")
    api_tokens: list[SecretStr] = Field(default_factory=list)
    # true: a webhook is answered once its message is stored, and processed right after
    answer_before_processing: bool = False


class StorageConfig(Section):
    database_url: str = "sqlite+aiosqlite:///data/lapor.db"
    redis_url: str = ""
    media_dir: str = "data/media"

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name in ("database_url", "redis_url") else value


class TelegramConfig(Section):
    enabled: bool = False
    token: SecretStr = SecretStr("")
    api_base: Url = "https://api.telegram.org"
    mode: Literal["webhook", "polling"] = "webhook"
    webhook_secret: SecretStr = SecretStr("")
    # The bot's @username, for campaign deep links (t.me/<username>?start=<campaign>)
    bot_username: str = Field(default="", pattern=r"^(@?[A-Za-z][A-Za-z0-9_]{4,31})?$")


class WhatsAppConfig(Section):
    enabled: bool = False
    phone_number_id: str = ""
    access_token: SecretStr = SecretStr("")
    app_secret: SecretStr = SecretStr("")
    verify_token: SecretStr = SecretStr("")
    graph_base: Url = "https://graph.facebook.com"
    api_version: str = Field(default="v21.0", pattern=r"^v\d+\.\d+$")
    status_template: str = ""
    template_language: str = "id"
    # The number citizens write to, for campaign links (wa.me/<digits>): "+62 812-3456-7890"
    display_number: str = Field(default="", pattern=r"^(\+?[0-9][0-9 .()-]{5,24})?$")


class SmsConfig(Section):
    enabled: bool = False
    provider: Literal["twilio", "android"] = "twilio"
    api_base: Url = "https://api.twilio.com"
    account_sid: str = ""
    auth_token: SecretStr = SecretStr("")
    from_number: str = ""
    gateway_url: Url = ""
    username: str = ""
    password: SecretStr = SecretStr("")
    webhook_secret: SecretStr = SecretStr("")
    # The number citizens text, for campaign keywords; "" = from_number (Twilio)
    display_number: str = Field(default="", pattern=r"^(\+?[0-9][0-9 .()-]{2,24})?$")


class WebConfig(Section):
    """The citizens' web chat page (`bot/ingress/web.py`)."""

    enabled: bool = False
    session_days: int = Field(default=30, ge=1, le=365)  # the cookie's life, and the session's
    max_photo_mb: int = Field(default=10, ge=1, le=10)  # the media store takes 10 MB at most
    # Other origins whose pages may post to the chat (e.g. "https://lapor.madiunkota.go.id" when
    # a proxy serves it under another host); the service's own host always may.
    allowed_origins: list[Url] = Field(default_factory=list)


class ChannelsConfig(Section):
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    whatsapp: WhatsAppConfig = Field(default_factory=WhatsAppConfig)
    sms: SmsConfig = Field(default_factory=SmsConfig)
    web: WebConfig = Field(default_factory=WebConfig)


class OfficersConfig(Section):
    default_chat_id: ChatId = ""
    user_ids: list[int] = Field(default_factory=list)


class AgencyConfig(Section):
    id: Identifier
    name: NonEmpty
    telegram_chat_id: OptionalChatId = None


class CategoryConfig(Section):
    id: Identifier
    name: NonEmpty
    name_en: NonEmpty
    agency: str
    keywords: list[str] = Field(default_factory=list)


class AreaConfig(Section):
    kecamatan: NonEmpty
    kelurahan: NonEmpty
    code: NonEmpty
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    aliases: list[str] = Field(default_factory=list)


class LandmarkConfig(Section):
    name: NonEmpty
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    aliases: list[str] = Field(default_factory=list)


class PlacesConfig(Section):
    boundaries: str = ""  # GeoJSON file, relative to the configuration file; "" = none
    city_name: str = ""


class ClassifierConfig(Section):
    # Files relative to the configuration file. model = "" suggests categories from keywords only.
    model: str = ""  # exported by `lapor train` (.npz)
    training: str = ""  # labelled examples `lapor train` fits on (JSON lines)
    evaluation: str = ""  # labelled examples it reports accuracy on, never trained on


class SlaConfig(Section):
    verify_days: int = Field(default=3, ge=1)
    respond_days: int = Field(default=5, ge=1)
    autoclose_days: int = Field(default=10, ge=1)
    holidays: list[date] = Field(default_factory=list)


class FlowConfig(Section):
    conversation_timeout_minutes: int = Field(default=120, ge=1)
    max_photos: int = Field(default=5, ge=0)
    max_description_chars: int = Field(default=2000, ge=1)


class Open311Config(Section):
    """Open311 GeoReport v2 under /open311/v2 (bot/web/open311.py)."""

    enabled: bool = False
    # Keys an Open311 client sends as api_key to file reports (POST requests); [] = none may.
    # Not the REST API's tokens: an Open311 key files reports and can change nothing.
    api_keys: list[SecretStr] = Field(default_factory=list)
    jurisdiction_id: str = ""  # "" = any jurisdiction_id is accepted (one city per endpoint)
    contact: str = ""  # who runs the endpoint, for Service Discovery (e.g. an e-mail address)


class PaceConfig(Section):
    """At most `messages` in any `seconds` (bot/core/pacing.py); messages = 0: no limit."""

    messages: int = Field(ge=0, le=100_000)
    seconds: float = Field(gt=0, le=86_400)


class ChannelPacing(Section):
    # Unset: the platform's own limit (channels/<platform>/limits.py).
    overall: PaceConfig | None = None  # everything the channel sends
    chat: PaceConfig | None = None  # to one private chat
    group: PaceConfig | None = None  # to one group chat


class DeliveryConfig(Section):
    telegram: ChannelPacing = Field(default_factory=ChannelPacing)
    whatsapp: ChannelPacing = Field(default_factory=ChannelPacing)
    sms: ChannelPacing = Field(default_factory=ChannelPacing)


class PublicConfig(Section):
    """The public follow-up page (/public): no login, aggregate figures and resolved places."""

    enabled: bool = True
    months: int = Field(default=12, ge=1, le=60)  # months shown, the current one included
    cache_seconds: int = Field(default=300, ge=0, le=86_400)  # figures kept this long


class CampaignConfig(Section):
    """A socialisation campaign (a poster, a radio spot): its links name it (intake.campaigns)."""

    # Telegram's start parameter allows 1-64 of A-Z, a-z, 0-9, _ and -.
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    name: NonEmpty
    keyword: str = ""  # SMS keyword at the start of a message, e.g. "LAPOR PASAR"
    text: str = ""  # the prefilled WhatsApp words (the tag is added); "" = texts.campaign_prefill
    starts: date | None = None  # credited from this local date ...
    ends: date | None = None  # ... to this one, inclusive


class Settings(Section):
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    officers: OfficersConfig = Field(default_factory=OfficersConfig)
    agencies: list[AgencyConfig] = Field(default_factory=list)
    categories: list[CategoryConfig] = Field(default_factory=list)
    areas: list[AreaConfig] = Field(default_factory=list)
    landmarks: list[LandmarkConfig] = Field(default_factory=list)
    places: PlacesConfig = Field(default_factory=PlacesConfig)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    sla: SlaConfig = Field(default_factory=SlaConfig)
    flow: FlowConfig = Field(default_factory=FlowConfig)
    open311: Open311Config = Field(default_factory=Open311Config)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    public: PublicConfig = Field(default_factory=PublicConfig)
    campaigns: list[CampaignConfig] = Field(default_factory=list)
    texts: dict[str, dict[str, str]] = Field(default_factory=dict)  # texts.<lang>.<key>

    _config_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @property
    def config_dir(self) -> Path:
        """Directory of the loaded configuration file (the working directory if none)."""
        return self._config_dir

    def boundaries_path(self, config_dir: Path | None = None) -> Path | None:
        if not self.places.boundaries:
            return None
        return (config_dir or self.config_dir) / self.places.boundaries

    def classifier_path(self, name: str, config_dir: Path | None = None) -> Path | None:
        """A file named in [classifier] ("model", "training", "evaluation"), or None if unset."""
        value = getattr(self.classifier, name)
        return (config_dir or self.config_dir) / value if value else None

    def domain_agencies(self) -> list[Agency]:
        return [Agency(a.id, a.name, a.telegram_chat_id) for a in self.agencies]

    def domain_categories(self) -> list[Category]:
        return [
            Category(c.id, c.name, c.name_en, c.agency, tuple(c.keywords)) for c in self.categories
        ]

    def domain_areas(self) -> list[Kelurahan]:
        return [
            Kelurahan(a.kelurahan, a.kecamatan, a.code, a.lat, a.lon, tuple(a.aliases))
            for a in self.areas
        ]

    def domain_landmarks(self) -> list[Landmark]:
        return [Landmark(m.name, m.lat, m.lon, tuple(m.aliases)) for m in self.landmarks]

    def domain_campaigns(self) -> list[Campaign]:
        """The campaigns, each with its prefilled words (the default text when it has none)."""
        default = Texts(self.texts).get(
            "campaign_prefill", self.service.default_language, city=self.places.city_name
        )
        return [
            Campaign(c.id, c.name, c.keyword.strip(), c.text.strip() or default, c.starts, c.ends)
            for c in self.campaigns
        ]

    def secret_values(self) -> list[str]:
        """Every secret in the configuration (tokens, passwords, URL passwords), for log masking."""
        found: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    walk(getattr(value, name))
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(self)
        for url in (self.storage.database_url, self.storage.redis_url):
            password = _url_password(url)
            if password:
                found.append(password)
        return [s for s in found if s]

    def redacted_summary(self) -> dict[str, Any]:
        """The settings in a form safe to print: secrets as "set"/"unset", URL passwords hidden."""
        sections = (
            "service",
            "storage",
            "channels",
            "officers",
            "places",
            "classifier",
            "sla",
            "flow",
            "open311",
        )
        summary: dict[str, Any] = {
            name: _redact(getattr(self, name).model_dump()) for name in sections
        }
        summary["agencies"] = [a.id for a in self.agencies]
        summary["categories"] = {c.id: c.agency for c in self.categories}
        summary["areas"] = len(self.areas)
        summary["landmarks"] = len(self.landmarks)
        summary["campaigns"] = [c.id for c in self.campaigns]
        summary["texts"] = {lang: sorted(keys) for lang, keys in self.texts.items()}
        summary["config_dir"] = str(self.config_dir)
        return summary


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """`scheme://user:secret@host/...` -> `scheme://user:***@host/...`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _redact(value: Any, key: str = "") -> Any:
    if isinstance(value, SecretStr):
        return "set" if value.get_secret_value() else "unset"
    if isinstance(value, dict):
        return {k: _redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, str) and key.endswith("_url"):
        return redact_url(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- loading -------------------------------------------------------------------------------------


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the TOML file, overlay `LAPOR_*` variables from `environ` and check the result.

    Raises ConfigError listing every problem.
    """
    env = os.environ if environ is None else environ
    config_path = Path(path if path is not None else env.get(CONFIG_ENV) or DEFAULT_CONFIG)
    data = _read_toml(config_path)
    problems = _apply_env(data, env)
    return _build(data, config_path.parent.resolve(), problems)


def parse_settings(data: Mapping[str, Any], config_dir: str | Path | None = None) -> Settings:
    """Validate and check an already-parsed configuration (as `load_settings` does)."""
    return _build(dict(data), Path(config_dir or Path.cwd()).resolve(), [])


def _build(data: dict[str, Any], config_dir: Path, problems: list[ConfigProblem]) -> Settings:
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems + _validation_problems(exc)) from None
    settings._config_dir = config_dir
    problems += check_settings(settings)
    if problems:
        raise ConfigError(problems)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        message = f"cannot read the configuration file: {exc.strerror or exc}"
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        message = f"not valid TOML: {exc}"
    raise ConfigError([ConfigProblem(str(path), message)])


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> list[ConfigProblem]:
    """Overlay `LAPOR_A__B__C=value` onto data["a"]["b"]["c"]; numbers index into lists."""
    problems = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        path = name.removeprefix(ENV_PREFIX).lower().split("__")
        if len(path) == 1 and path[0] not in Settings.model_fields:
            continue  # another program's variable (LAPOR_TEST_REQUIRE_SERVICES...), not a key
        error = _set_path(data, path, _env_value(environ[name]))
        if error:
            problems.append(ConfigProblem(name, error))
    return problems


def _env_value(raw: str) -> Any:
    if raw.strip()[:1] in ("[", "{"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            pass  # left as text; validation says what was expected
    return raw


def _set_path(root: dict[str, Any], path: list[str], value: Any) -> str | None:
    node: Any = root
    for depth, part in enumerate(path):
        where = _format_key(path[:depth]) or "the configuration"
        key: str | int
        if not part:
            return "empty key segment (two '__' in a row?)"
        if isinstance(node, dict):
            key = part
            if depth < len(path) - 1 and not isinstance(node.get(key), dict | list):
                node[key] = {}
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            key = int(part)
        elif isinstance(node, list):
            return f"{part!r} is not an index of {where}, which has {len(node)} entries"
        else:
            return f"{where} is not a table"
        if depth == len(path) - 1:
            node[key] = value
        else:
            node = node[key]
    return None


def _validation_problems(exc: ValidationError) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors():
        loc = error["loc"]
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            message = "unknown key" + (
                f"; expected one of: {', '.join(allowed)}" if allowed else ""
            )
        elif error["type"] == "missing":
            message = "required key is missing"
        else:
            message = error["msg"]
        problems.append(ConfigProblem(_format_key(loc) or "(top level)", message))
    return problems


def _format_key(loc: Sequence[str | int]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else part
    return key


def _allowed_keys(loc: Sequence[str | int]) -> list[str]:
    """The keys a table at `loc` accepts, by walking the model types."""
    tp: Any = Settings
    for part in loc:
        if isinstance(part, int) and get_origin(tp) is list:
            tp = get_args(tp)[0]
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
        else:
            return []
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


# --- checks beyond the structure -----------------------------------------------------------------


def check_settings(settings: Settings, config_dir: Path | None = None) -> list[ConfigProblem]:
    """Problems a structurally valid configuration can still have. Empty when usable."""
    return [
        *_service_problems(settings),
        *_storage_problems(settings),
        *_channel_problems(settings),
        *_domain_problems(settings),
        *_boundary_problems(settings, config_dir),
        *_landmark_problems(settings, config_dir),
        *_classifier_problems(settings, config_dir),
        *_campaign_problems(settings),
        *_text_problems(settings),
    ]


def _url_problem(url: str, schemes: Sequence[str] = ("http", "https")) -> str | None:
    try:
        parts = urlsplit(url)
        ok = parts.scheme in schemes and bool(parts.hostname) and not re.search(r"\s", url)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        ok = False
    expected = " or ".join(schemes)
    return None if ok else f"{redact_url(url)!r} is not a valid URL (expected {expected}://host...)"


def _service_problems(s: Settings) -> Iterator[ConfigProblem]:
    if s.service.public_url and (error := _url_problem(s.service.public_url)):
        yield ConfigProblem("service.public_url", error)
    try:
        ZoneInfo(s.service.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield ConfigProblem(
            "service.timezone",
            f"unknown time zone {s.service.timezone!r} (an IANA name such as Asia/Jakarta)",
        )
    for i, token in enumerate(s.service.api_tokens):
        if not token.get_secret_value().strip():
            yield ConfigProblem(f"service.api_tokens[{i}]", "empty token")
    for i, key in enumerate(s.open311.api_keys):
        if not key.get_secret_value().strip():
            yield ConfigProblem(f"open311.api_keys[{i}]", "empty key")


def _storage_problems(s: Settings) -> Iterator[ConfigProblem]:
    scheme, sep, _ = s.storage.database_url.partition("://")
    if not sep or scheme not in DATABASE_SCHEMES:
        yield ConfigProblem(
            "storage.database_url",
            "must start with sqlite+aiosqlite:/// or postgresql+psycopg://",
        )
    if s.storage.redis_url and (error := _url_problem(s.storage.redis_url, ("redis", "rediss"))):
        yield ConfigProblem("storage.redis_url", error)
    if not s.storage.media_dir:
        yield ConfigProblem("storage.media_dir", "must not be empty")


def _required(section: str, config: BaseModel, *names: str) -> Iterator[ConfigProblem]:
    for name in names:
        value = getattr(config, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not value:
            yield ConfigProblem(f"{section}.{name}", f"required when {section}.enabled is true")


def _channel_problems(s: Settings) -> Iterator[ConfigProblem]:
    tg, wa, sms = s.channels.telegram, s.channels.whatsapp, s.channels.sms
    for key, url in (
        ("channels.telegram.api_base", tg.api_base),
        ("channels.whatsapp.graph_base", wa.graph_base),
        ("channels.sms.api_base", sms.api_base),
    ):
        if error := _url_problem(url):
            yield ConfigProblem(key, error)
    if sms.gateway_url and (error := _url_problem(sms.gateway_url)):
        yield ConfigProblem("channels.sms.gateway_url", error)
    for i, origin in enumerate(s.channels.web.allowed_origins):
        scheme, sep, rest = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
            yield ConfigProblem(
                f"channels.web.allowed_origins[{i}]", "an origin: https://host[:port], no path"
            )

    secret = tg.webhook_secret.get_secret_value()
    if secret and not TELEGRAM_SECRET.fullmatch(secret):
        yield ConfigProblem(
            "channels.telegram.webhook_secret", "use 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    if tg.enabled:
        yield from _required("channels.telegram", tg, "token")
        if tg.mode == "webhook":
            yield from _required("channels.telegram", tg, "webhook_secret")
            if not s.service.public_url.startswith("https://"):
                yield ConfigProblem(
                    "service.public_url",
                    'an https:// address is required by channels.telegram.mode = "webhook" '
                    '(or use mode = "polling")',
                )
    if wa.enabled:
        yield from _required(
            "channels.whatsapp", wa, "phone_number_id", "access_token", "app_secret", "verify_token"
        )
    if sms.enabled and sms.provider == "twilio":
        yield from _required("channels.sms", sms, "account_sid", "auth_token", "from_number")
        if not s.service.public_url:
            yield ConfigProblem(
                "service.public_url", "required by channels.sms (Twilio signs requests over it)"
            )
    for key, number in (
        ("channels.whatsapp.display_number", wa.display_number),
        ("channels.sms.display_number", sms.display_number),
    ):
        if number.strip().startswith("0"):
            yield ConfigProblem(key, "use the international form with its country code (+...)")
    if sms.enabled and sms.provider == "android":
        yield from _required("channels.sms", sms, "gateway_url", "webhook_secret")


def _duplicates(section: str, field: str, values: Sequence[str]) -> Iterator[ConfigProblem]:
    counts = Counter(values)
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        first.setdefault(value, i)
        if counts[value] > 1 and first[value] != i:
            yield ConfigProblem(
                f"{section}[{i}].{field}",
                f"duplicate {field} {value!r} (also {section}[{first[value]}])",
            )


def _domain_problems(s: Settings) -> Iterator[ConfigProblem]:
    yield from _duplicates("agencies", "id", [a.id for a in s.agencies])
    yield from _duplicates("categories", "id", [c.id for c in s.categories])
    yield from _duplicates("areas", "code", [a.code for a in s.areas])
    agency_ids = {a.id for a in s.agencies}
    for i, category in enumerate(s.categories):
        if category.agency not in agency_ids:
            known = ", ".join(sorted(agency_ids)) or "none defined"
            yield ConfigProblem(
                f"categories[{i}].agency",
                f"unknown agency {category.agency!r} (known: {known})",
            )
    if not s.categories:
        yield ConfigProblem("categories", "no categories: add at least one [[categories]]")
    if not s.areas:
        yield ConfigProblem("areas", "no areas: add at least one [[areas]]")


def _campaign_problems(s: Settings) -> Iterator[ConfigProblem]:
    """Ids and keywords name one campaign each (ids ignoring case: a deep link may be retyped),
    dates run forwards, and a keyword has words."""
    yield from _duplicates("campaigns", "id", [c.id.casefold() for c in s.campaigns])
    keywords = [(i, normalize(c.keyword)) for i, c in enumerate(s.campaigns) if c.keyword.strip()]
    for i, c in enumerate(s.campaigns):
        if c.keyword.strip() and not normalize(c.keyword):
            yield ConfigProblem(f"campaigns[{i}].keyword", "needs letters or digits")
        if c.starts and c.ends and c.ends < c.starts:
            yield ConfigProblem(f"campaigns[{i}].ends", f"{c.ends} is before starts ({c.starts})")
        if "[#" in c.text:
            yield ConfigProblem(f"campaigns[{i}].text", "leave the [#id] tag out: it is added")
    first: dict[str, int] = {}
    for i, keyword in keywords:
        if keyword and keyword in first:
            yield ConfigProblem(
                f"campaigns[{i}].keyword",
                f"duplicate keyword {s.campaigns[i].keyword!r} (also campaigns[{first[keyword]}])",
            )
        first.setdefault(keyword, i)


def _text_problems(s: Settings) -> Iterator[ConfigProblem]:
    for key, message in Texts(s.texts).problems():
        yield ConfigProblem(key, message)


def _landmark_problems(s: Settings, config_dir: Path | None) -> Iterator[ConfigProblem]:
    """Landmarks need the boundaries (their kelurahan is the polygon their point is in), must
    lie inside the city, and may not share a name or alias with another landmark."""
    if not s.landmarks:
        return
    owner: dict[str, int] = {}
    for i, landmark in enumerate(s.landmarks):
        for spelling in (landmark.name, *landmark.aliases):
            key = normalize(spelling)
            if not key:
                yield ConfigProblem(f"landmarks[{i}].aliases", "empty alias")
            elif key in owner and owner[key] != i:
                yield ConfigProblem(
                    f"landmarks[{i}]",
                    f"{spelling!r} also names landmarks[{owner[key]}] "
                    f"({s.landmarks[owner[key]].name})",
                )
            else:
                owner.setdefault(key, i)
    path = s.boundaries_path(config_dir)
    if path is None:
        yield ConfigProblem(
            "landmarks", "needs places.boundaries: a landmark's kelurahan comes from the polygons"
        )
        return
    data, _ = _read_geojson(path)
    if data is None:
        return  # reported under places.boundaries
    try:
        gazetteer = Gazetteer(s.domain_areas(), data)
    except ValueError:
        return  # the boundaries do not fit the areas: reported under places.boundaries/areas
    for i, landmark in enumerate(s.landmarks):
        point = GeoPoint(landmark.lat, landmark.lon)
        if gazetteer.locate(point) is None:
            yield ConfigProblem(
                f"landmarks[{i}]",
                f"{landmark.name!r} at ({landmark.lat}, {landmark.lon}) lies outside the city "
                "boundaries (lat and lon swapped?)",
            )


def _classifier_problems(s: Settings, config_dir: Path | None) -> Iterator[ConfigProblem]:
    # The model itself is read (and refused if unusable) when the service starts, so that
    # `lapor train` can write it for the first time.
    for name in ("training", "evaluation"):
        path = s.classifier_path(name, config_dir)
        if path is not None and not path.is_file():
            yield ConfigProblem(f"classifier.{name}", f"no such file: {path}")


def load_boundaries(settings: Settings) -> dict[str, Any] | None:
    """The boundaries GeoJSON named by `places.boundaries`, or None when there is none."""
    path = settings.boundaries_path()
    if path is None:
        return None
    data, error = _read_geojson(path)
    if data is None:
        raise ConfigError([ConfigProblem("places.boundaries", error or "unreadable")])
    return data


def _read_geojson(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror or exc}"
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{path} is not a JSON file: {exc}"
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        return None, f"{path} is not a GeoJSON FeatureCollection"
    return data, None


def _boundary_problems(s: Settings, config_dir: Path | None) -> Iterator[ConfigProblem]:
    path = s.boundaries_path(config_dir)
    if path is None:
        return
    data, error = _read_geojson(path)
    if data is None:
        yield ConfigProblem("places.boundaries", error or "unreadable")
        return
    area_codes = {a.code for a in s.areas}
    geometries: dict[str, Any] = {}
    for j, feature in enumerate(data["features"]):
        props = feature.get("properties") if isinstance(feature, dict) else None
        code = props.get("code") if isinstance(props, dict) else None
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(code, str):
            yield ConfigProblem("places.boundaries", f"feature {j} has no properties.code")
        elif code not in area_codes:
            yield ConfigProblem(
                "places.boundaries", f"feature {j} has code {code!r}, which is not in [[areas]]"
            )
        elif code in geometries:
            yield ConfigProblem("places.boundaries", f"feature {j} repeats code {code!r}")
        elif not isinstance(geometry, dict) or geometry.get("type") not in (
            "Polygon",
            "MultiPolygon",
        ):
            yield ConfigProblem(
                "places.boundaries", f"feature {j} ({code}) is not a Polygon or MultiPolygon"
            )
        else:
            geometries[code] = geometry
    for i, area in enumerate(s.areas):
        if area.code not in geometries:
            yield ConfigProblem(f"areas[{i}].code", f"no boundary feature with this code in {path}")
            continue
        try:
            inside = shape(geometries[area.code]).covers(Point(area.lon, area.lat))
        except Exception as exc:  # shapely/GEOS raise assorted types for malformed coordinates
            yield ConfigProblem("places.boundaries", f"invalid geometry for {area.code}: {exc}")
            continue
        if not inside:
            yield ConfigProblem(
                f"areas[{i}]",
                f"lat/lon ({area.lat}, {area.lon}) lies outside the boundary of {area.kelurahan}"
                " (lat and lon swapped?); use a point inside the kelurahan",
            )
