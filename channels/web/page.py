"""The web chat page itself: its HTML (Jinja2, autoescaped), script and style, all served by
the service (no CDN, no external asset), under a Content-Security-Policy that allows nothing
from elsewhere. The words on it come from the caller (the text catalogue, in the page's
language)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from channels.web.payloads import LANGUAGES, MAX_TEXT, PHOTO_TYPES

HERE = Path(__file__).resolve().parent
ASSETS = {"chat.js": "text/javascript", "chat.css": "text/css"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# The page's script reads these texts (the rest are in the HTML).
SCRIPT_TEXTS = (
    "web_share_location",
    "web_my_location",
    "web_my_photo",
    "web_location_failed",
    "web_send_failed",
    "web_session_ended",
    "web_photo_too_large",
    "web_photo_type",
    "web_photo_unreadable",
    "web_too_many",
)

_env = Environment(
    loader=FileSystemLoader(HERE), autoescape=select_autoescape(["html"]), auto_reload=False
)


def asset(name: str) -> bytes | None:
    """The bytes of one of the page's files (ASSETS), None for any other name."""
    if name not in ASSETS:
        return None
    return (HERE / name).read_bytes()


def render_page(
    base: str,
    lang: str,
    texts: Mapping[str, str],
    *,
    max_photo_bytes: int,
    campaign: str | None = None,
) -> str:
    """The page in `lang`; `texts` holds every `web_*` text of the catalogue in that language;
    `campaign` is passed along with every message (payloads.campaign checked it)."""
    other = next(code for code in LANGUAGES if code != lang)
    config: dict[str, Any] = {
        "base": base,
        "lang": lang,
        "maxPhotoBytes": max_photo_bytes,
        "campaign": campaign,
        "texts": {key: texts[key] for key in SCRIPT_TEXTS},
    }
    return _env.get_template("page.html").render(
        base=base,
        lang=lang,
        other_lang=other,
        texts=texts,
        config=config,
        max_text=MAX_TEXT,
        photo_types=",".join(PHOTO_TYPES),
    )
