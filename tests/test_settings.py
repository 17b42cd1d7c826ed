"""The configuration layer: the shipped Kota Madiun file, env overrides, and problem reports."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.compose import build_catalog
from bot.settings import (
    ConfigError,
    ConfigProblem,
    Settings,
    load_boundaries,
    load_settings,
    parse_settings,
)
from intake.cards import CardView, card_text
from intake.types import Agency, Category, Kelurahan

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"


# --- the shipped configuration -------------------------------------------------------------------


@pytest.fixture(scope="module")
def madiun() -> Settings:
    return load_settings(EXAMPLE, environ={})


def test_example_config_describes_kota_madiun(madiun: Settings) -> None:
    assert madiun.places.city_name == "Kota Madiun"
    assert madiun.service.ticket_prefix == "MDN"
    assert madiun.service.default_language == "id"
    assert madiun.service.timezone == "Asia/Jakarta"
    assert len(madiun.areas) == 27
    assert {a.kecamatan for a in madiun.areas} == {"Kartoharjo", "Manguharjo", "Taman"}
    assert len({a.code for a in madiun.areas}) == 27
    assert all(a.code.startswith("35.77.0") for a in madiun.areas)
    assert len(madiun.categories) >= 15
    agency_ids = {a.id for a in madiun.agencies}
    assert all(c.agency in agency_ids for c in madiun.categories)
    assert (madiun.sla.verify_days, madiun.sla.respond_days, madiun.sla.autoclose_days) == (
        3,
        5,
        10,
    )
    channels = madiun.channels
    assert not (channels.telegram.enabled or channels.whatsapp.enabled or channels.sms.enabled)


def test_example_boundaries_cover_every_area(madiun: Settings) -> None:
    assert madiun.config_dir == REPO
    assert madiun.boundaries_path() == REPO / "data" / "madiun" / "kelurahan.geojson"
    geojson = load_boundaries(madiun)
    assert geojson is not None and geojson["type"] == "FeatureCollection"
    feature_codes = {f["properties"]["code"] for f in geojson["features"]}
    assert feature_codes == {a.code for a in madiun.areas}


def test_example_converts_to_domain_types(madiun: Settings) -> None:
    categories = {c.id: c for c in madiun.domain_categories()}
    assert isinstance(categories["jalan"], Category)
    assert "jalan rusak" in categories["jalan"].keywords
    assert isinstance(categories["jalan"].keywords, tuple)
    agencies = {a.id: a for a in madiun.domain_agencies()}
    assert agencies[categories["jalan"].agency] == Agency("dpupr", agencies["dpupr"].name, None)
    areas = {a.kelurahan: a for a in madiun.domain_areas()}
    oro = areas["Oro-oro Ombo"]
    assert isinstance(oro, Kelurahan)
    assert (oro.kecamatan, oro.code) == ("Kartoharjo", "35.77.01.1001")
    assert "oro oro ombo" in oro.aliases


def test_config_path_comes_from_lapor_config(tmp_path: Path) -> None:
    settings = load_settings(environ={"LAPOR_CONFIG": str(EXAMPLE)})
    assert len(settings.areas) == 27
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"LAPOR_CONFIG": str(tmp_path / "absent.toml")})
    assert err.value.problems[0].key == str(tmp_path / "absent.toml")


# --- environment overrides -----------------------------------------------------------------------


def test_environment_overrides_nested_keys_and_json_lists() -> None:
    settings = load_settings(
        EXAMPLE,
        environ={
            "LAPOR_STORAGE__DATABASE_URL": "postgresql+psycopg://lapor@db.internal/lapor",
            "LAPOR_SERVICE__PORT": "9090",
            "LAPOR_SERVICE__API_TOKENS": '["t1", "t2"]',
            "LAPOR_SLA__HOLIDAYS": '["2026-01-01", "2026-03-20"]',
            "LAPOR_CHANNELS__TELEGRAM__ENABLED": "true",
            "LAPOR_CHANNELS__TELEGRAM__TOKEN": "123:abc",
            "LAPOR_AGENCIES__0__TELEGRAM_CHAT_ID": "-1001234",
            "LAPOR_TEST_REQUIRE_SERVICES": "1",  # not a configuration key: ignored
        },
    )
    assert settings.storage.database_url == "postgresql+psycopg://lapor@db.internal/lapor"
    assert settings.service.port == 9090
    assert [t.get_secret_value() for t in settings.service.api_tokens] == ["t1", "t2"]
    assert settings.sla.holidays == [date(2026, 1, 1), date(2026, 3, 20)]
    assert settings.channels.telegram.enabled
    assert settings.channels.telegram.token.get_secret_value() == "123:abc"
    assert settings.agencies[0].telegram_chat_id == "-1001234"
    assert settings.domain_agencies()[1].telegram_chat_id is None  # "" in the file
    assert settings.service.ticket_prefix == "MDN"  # untouched keys keep the file's value


def test_environment_problems_name_the_variable() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(EXAMPLE, environ={"LAPOR_AGENCIES__99__NAME": "x"})
    assert err.value.problems[0].key == "LAPOR_AGENCIES__99__NAME"


# --- broken configurations -----------------------------------------------------------------------

BASE = """\
[service]
public_url = ""

[channels.telegram]
enabled = false
mode = "polling"

[[agencies]]
id = "dlh"
name = "Dinas Lingkungan Hidup"

[[categories]]
id = "sampah"
name = "Sampah"
name_en = "Waste"
agency = "dlh"
keywords = ["sampah"]

[[areas]]
kecamatan = "Utara"
kelurahan = "Satu"
code = "99.01.01"
lat = 0.5
lon = 0.5

[[areas]]
kecamatan = "Utara"
kelurahan = "Dua"
code = "99.01.02"
lat = 0.5
lon = 1.5

[places]
boundaries = "areas.geojson"
"""


def square(code: str, x: float) -> dict[str, object]:
    ring = [[x, 0.0], [x + 1, 0.0], [x + 1, 1.0], [x, 1.0], [x, 0.0]]
    return {
        "type": "Feature",
        "properties": {"code": code},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def write_config(tmp_path: Path, text: str) -> Path:
    boundaries = {
        "type": "FeatureCollection",
        "features": [square("99.01.01", 0), square("99.01.02", 1)],
    }
    (tmp_path / "areas.geojson").write_text(json.dumps(boundaries))
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def problems_of(path: Path, environ: dict[str, str] | None = None) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ=environ or {})
    return err.value.problems


def test_base_of_the_broken_cases_is_valid(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, BASE), environ={})
    assert settings.config_dir == tmp_path.resolve()
    assert [a.code for a in settings.domain_areas()] == ["99.01.01", "99.01.02"]


TELEGRAM_ON = 'enabled = true\ntoken = "123:abc"'

BROKEN = [
    # (what is wrong, replace this, with this, problem key, words in the message)
    ("unknown agency", 'agency = "dlh"', 'agency = "pu"', "categories[0].agency", "unknown agency"),
    (
        "duplicate agency id",
        "[[categories]]",
        '[[agencies]]\nid = "dlh"\nname = "Lagi"\n\n[[categories]]',
        "agencies[1].id",
        "duplicate id 'dlh'",
    ),
    ("duplicate area code", '"99.01.02"', '"99.01.01"', "areas[1].code", "duplicate code"),
    (
        "malformed public URL",
        'public_url = ""',
        'public_url = "htps//example"',
        "service.public_url",
        "not a valid URL",
    ),
    (
        "malformed api_base",
        'mode = "polling"',
        'mode = "polling"\napi_base = "api.telegram.org"',
        "channels.telegram.api_base",
        "not a valid URL",
    ),
    (
        "database of an unsupported kind",
        "[places]",
        '[storage]\ndatabase_url = "mysql://db/lapor"\n\n[places]',
        "storage.database_url",
        "sqlite+aiosqlite",
    ),
    (
        "redis URL with another scheme",
        "[places]",
        '[storage]\nredis_url = "http://localhost:6379"\n\n[places]',
        "storage.redis_url",
        "redis or rediss",
    ),
    (
        "enabled telegram without token",
        "enabled = false",
        "enabled = true",
        "channels.telegram.token",
        "required when channels.telegram.enabled is true",
    ),
    (
        "telegram webhook without secret",
        'enabled = false\nmode = "polling"',
        f'{TELEGRAM_ON}\nmode = "webhook"',
        "channels.telegram.webhook_secret",
        "required",
    ),
    (
        "telegram webhook without https public_url",
        'enabled = false\nmode = "polling"',
        f'{TELEGRAM_ON}\nmode = "webhook"\nwebhook_secret = "s3cret"',
        "service.public_url",
        "https://",
    ),
    (
        "webhook secret Telegram would refuse",
        'mode = "polling"',
        'mode = "polling"\nwebhook_secret = "has spaces!"',
        "channels.telegram.webhook_secret",
        "A-Z",
    ),
    (
        "enabled whatsapp without credentials",
        "[places]",
        '[channels.whatsapp]\nenabled = true\nphone_number_id = "1"\n\n[places]',
        "channels.whatsapp.app_secret",
        "required",
    ),
    (
        "enabled android sms without gateway",
        "[places]",
        '[channels.sms]\nenabled = true\nprovider = "android"\n\n[places]',
        "channels.sms.gateway_url",
        "required",
    ),
    (
        "enabled twilio sms without sid",
        "[places]",
        "[channels.sms]\nenabled = true\n\n[places]",
        "channels.sms.account_sid",
        "required",
    ),
    (
        "unreadable boundaries file",
        '"areas.geojson"',
        '"missing.geojson"',
        "places.boundaries",
        "cannot read",
    ),
    (
        "boundaries file that is not GeoJSON",
        '"areas.geojson"',
        '"config.toml"',
        "places.boundaries",
        "not a JSON file",
    ),
    (
        "area without a boundary",
        "[places]",
        '[[areas]]\nkecamatan = "U"\nkelurahan = "Tiga"\ncode = "99.01.03"\n'
        "lat = 0.5\nlon = 2.5\n\n[places]",
        "areas[2].code",
        "no boundary feature",
    ),
    (
        "label point outside its kelurahan",
        "lat = 0.5\nlon = 0.5",
        "lat = 0.5\nlon = 1.2",
        "areas[0]",
        "outside the boundary of Satu",
    ),
    ("latitude out of range", "lat = 0.5\nlon = 0.5", "lat = 95\nlon = 0.5", "areas[0].lat", "90"),
    (
        "misspelt key",
        'public_url = ""',
        'public_ulr = ""',
        "service.public_ulr",
        "unknown key; expected one of: host, port, public_url",
    ),
    (
        "value outside a choice",
        'mode = "polling"',
        'mode = "poll"',
        "channels.telegram.mode",
        "Input should be 'webhook' or 'polling'",
    ),
    (
        "missing required key",
        'name_en = "Waste"\n',
        "",
        "categories[0].name_en",
        "required key is missing",
    ),
    (
        "default language we have no texts for",
        'public_url = ""',
        'default_language = "fr"',
        "service.default_language",
        "'id' or 'en'",
    ),
    (
        "unknown time zone",
        'public_url = ""',
        'timezone = "Asia/Madiun"',
        "service.timezone",
        "unknown time zone",
    ),
    (
        "texts for another language",
        "[places]",
        '[texts.fr]\ngreeting = "Bonjour"\n\n[places]',
        "texts.fr",
        "unknown language",
    ),
    (
        "an officer-desk text that does not exist",
        "[places]",
        '[texts.id]\ndesk_card_title = "Laporan"\n\n[places]',
        "texts.id.desk_card_title",
        "no such message",
    ),
    (
        "an officer-desk text with a placeholder it is not given",
        "[places]",
        '[texts.id]\ndesk_card_category = "Jenis: {kategori}"\n\n[places]',
        "texts.id.desk_card_category",
        "unknown placeholder(s): kategori",
    ),
    (
        "an SMS form of an officer-desk text",
        "[places]",
        '[texts.id]\n"sms.desk_usage" = "Perintah"\n\n[places]',
        "texts.id.sms.desk_usage",
        "no 'sms' form",
    ),
    (
        "no categories",
        BASE[BASE.index("[[categories]]") : BASE.index("[[areas]]")],
        "",
        "categories",
        "no categories",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_config_names_the_key(
    tmp_path: Path, old: str, new: str, key: str, words: str
) -> None:
    assert old in BASE
    problems = problems_of(write_config(tmp_path, BASE.replace(old, new, 1)))
    assert key in [p.key for p in problems], problems
    message = next(p.message for p in problems if p.key == key)
    assert words in message


def test_invalid_toml_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[service\nport = 1\n")
    (problem,) = problems_of(path)
    assert problem.key == str(path)
    assert "not valid TOML" in problem.message
    assert "line 1" in problem.message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = BASE.replace('agency = "dlh"', 'agency = "pu"').replace(
        "enabled = false", "enabled = true"
    )
    with pytest.raises(ConfigError) as err:
        load_settings(write_config(tmp_path, text), environ={})
    lines = str(err.value).splitlines()
    assert "categories[0].agency: unknown agency 'pu' (known: dlh)" in lines
    assert "channels.telegram.token: required when channels.telegram.enabled is true" in lines


def test_env_override_is_validated_like_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, BASE)
    problems = problems_of(path, {"LAPOR_CHANNELS__TELEGRAM__MODE": "hook"})
    assert [p.key for p in problems] == ["channels.telegram.mode"]
    problems = problems_of(path, {"LAPOR_SERVICE__API_TOKENS": "not-json"})
    assert [p.key for p in problems] == ["service.api_tokens"]


def test_texts_overrides_are_loaded(tmp_path: Path) -> None:
    text = BASE.replace("[places]", '[texts.id]\ngreeting = "Halo, Madiun!"\n\n[places]')
    settings = load_settings(write_config(tmp_path, text), environ={})
    assert settings.texts == {"id": {"greeting": "Halo, Madiun!"}}


def test_desk_texts_are_overridden_like_the_citizens_texts(tmp_path: Path) -> None:
    text = BASE.replace(
        "[places]", '[texts.id]\ndesk_card_category = "Jenis masalah: {value}"\n\n[places]'
    )
    environ = {"LAPOR_TEXTS__ID__DESK_ST_RECEIVED": "Baru masuk"}
    catalog = build_catalog(load_settings(write_config(tmp_path, text), environ=environ))
    filed = datetime(2026, 1, 8, 2, 0, tzinfo=UTC)
    card = CardView("X-00001", "received", "sampah", "dlh", "Sampah", filed, "sms", False, False)
    lines = card_text(card, catalog, catalog.default_language).splitlines()
    assert lines[0] == "🆕 X-00001 · Baru masuk"
    assert "Jenis masalah: Sampah" in lines
    assert "Dinas: Dinas Lingkungan Hidup" in lines  # not overridden: the built-in text
    assert catalog.texts.desk("card_category", "en", value="Waste") == "Category: Waste"


def test_parse_settings_checks_a_dict_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({"agencies": [{"id": "dlh", "name": "DLH"}]}, config_dir=tmp_path)
    assert {p.key for p in err.value.problems} == {"categories", "areas"}


# --- secrets -------------------------------------------------------------------------------------


def test_secrets_never_leak(tmp_path: Path) -> None:
    secrets = {
        "LAPOR_CHANNELS__TELEGRAM__TOKEN": "tg-token-9f8e7d",
        "LAPOR_CHANNELS__WHATSAPP__APP_SECRET": "wa-secret-1a2b3c",
        "LAPOR_SERVICE__API_TOKENS": '["api-token-5x6y7z"]',
        "LAPOR_STORAGE__DATABASE_URL": "postgresql+psycopg://lapor:db-pass-4q5w@db/lapor",
    }
    settings = load_settings(EXAMPLE, environ=secrets)
    summary = settings.redacted_summary()
    printed = [repr(settings), str(settings), repr(settings.storage), json.dumps(summary)]
    for text in printed:
        for secret in ("tg-token-9f8e7d", "wa-secret-1a2b3c", "api-token-5x6y7z", "db-pass-4q5w"):
            assert secret not in text
    assert summary["channels"]["telegram"]["token"] == "set"
    assert summary["channels"]["whatsapp"]["access_token"] == "unset"
    assert summary["service"]["api_tokens"] == ["set"]
    assert summary["storage"]["database_url"] == "postgresql+psycopg://lapor:***@db/lapor"
    assert summary["categories"]["jalan"] == "dpupr"


def test_problem_messages_hide_url_passwords(tmp_path: Path) -> None:
    path = write_config(tmp_path, BASE)
    problems = problems_of(path, {"LAPOR_STORAGE__REDIS_URL": "http://:redis-pw-8u9i@cache:6379"})
    assert [p.key for p in problems] == ["storage.redis_url"]
    assert "redis-pw-8u9i" not in problems[0].message


def test_telegram_webhook_mode_with_https_public_url_is_accepted(tmp_path: Path) -> None:
    environ = {
        "LAPOR_SERVICE__PUBLIC_URL": "https://lapor.example.go.id/",
        "LAPOR_CHANNELS__TELEGRAM__ENABLED": "true",
        "LAPOR_CHANNELS__TELEGRAM__MODE": "webhook",
        "LAPOR_CHANNELS__TELEGRAM__TOKEN": "123:abc",
        "LAPOR_CHANNELS__TELEGRAM__WEBHOOK_SECRET": "a-long_secret",
    }
    settings = load_settings(write_config(tmp_path, BASE), environ=environ)
    assert settings.service.public_url == "https://lapor.example.go.id"  # no trailing slash
    assert settings.channels.telegram.mode == "webhook"


def test_every_secret_is_listed_for_log_masking() -> None:
    settings = load_settings(
        EXAMPLE,
        {
            "LAPOR_CHANNELS__TELEGRAM__TOKEN": "123:telegram-token",
            "LAPOR_CHANNELS__WHATSAPP__APP_SECRET": "meta-app-secret",
            "LAPOR_STORAGE__DATABASE_URL": "postgresql+psycopg://lapor:db-password@db/lapor",
        },
    )
    secrets = settings.secret_values()
    for expected in ("123:telegram-token", "meta-app-secret", "db-password", "dev-token-change-me"):
        assert expected in secrets


LANDMARK = """
[[landmarks]]
name = "Pasar Satu"
aliases = ["psr satu"]
lat = 0.4
lon = 0.6
"""


def test_a_landmark_gets_its_kelurahan_from_the_boundaries(tmp_path: Path) -> None:
    text = BASE.replace("[places]", LANDMARK + "\n[places]")
    settings = load_settings(write_config(tmp_path, text), environ={})
    assert [m.name for m in settings.domain_landmarks()] == ["Pasar Satu"]


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ("lat = 0.4", "lat = 5.0", "landmarks[0]", "'Pasar Satu' at (5.0, 0.6) lies outside"),
        ('name = "Pasar Satu"', "", "landmarks[0].name", "required key is missing"),
        ("lat = 0.4", 'lat = "north"', "landmarks[0].lat", "valid number"),
        (
            'aliases = ["psr satu"]',
            'aliases = ["psr satu"]\ncolour = "red"',
            "landmarks[0].colour",
            "unknown key",
        ),
        ('boundaries = "areas.geojson"', 'boundaries = ""', "landmarks", "needs places.boundaries"),
        (
            "lon = 0.6\n",
            'lon = 0.6\n\n[[landmarks]]\nname = "Psr. Satu"\nlat = 0.5\nlon = 0.5\n',
            "landmarks[1]",
            "also names landmarks[0] (Pasar Satu)",
        ),
    ],
    ids=[
        "outside the city",
        "no name",
        "lat not a number",
        "unknown key",
        "no boundaries",
        "a name shared",
    ],
)
def test_broken_landmarks_name_the_entry(
    tmp_path: Path, old: str, new: str, key: str, words: str
) -> None:
    text = BASE.replace("[places]", LANDMARK + "\n[places]")
    assert old in text
    problems = problems_of(write_config(tmp_path, text.replace(old, new, 1)))
    assert key in [p.key for p in problems], problems
    assert words in next(p.message for p in problems if p.key == key)
