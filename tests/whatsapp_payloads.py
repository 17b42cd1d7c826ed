"""Builders for realistic WhatsApp Cloud API webhook notifications (as decoded JSON).

Shapes follow Meta's "messages" webhook reference: a notification holds entries, an entry holds
changes, a change's value holds `metadata`, `contacts`, and `messages` or `statuses`. Since 2026
citizens carry a business-scoped user id (`user_id`, `from_user_id`) next to the phone number
(`wa_id`, `from`), which users with a username may hide. Message ids are counters so every call
produces a distinct message unless an id is passed.
"""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

from fake_whatsapp import APP_SECRET, PHONE_NUMBER_ID

from channels.whatsapp import sign

WABA_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"
CITIZEN = {"wa_id": "6281234567890", "user_id": "ID.1410018717833190", "name": "Siti Rahayu"}
NEIGHBOUR = {"wa_id": "6285711112222", "user_id": "ID.2520981133445566", "name": "Budi Santoso"}
TIMESTAMP = 1767225600  # 2026-01-01T00:00:00Z

_ids = itertools.count(1)


def wamid() -> str:
    """A fresh id in WhatsApp's style."""
    return (
        "wamid."
        + base64.b64encode(f"HBgNNjI4MTIzNDU2Nzg5MBUCABIY{next(_ids):08d}".encode()).decode()
    )


def contact(person: dict[str, str] = CITIZEN, *, phone: bool = True) -> dict[str, Any]:
    found: dict[str, Any] = {"profile": {"name": person["name"]}, "user_id": person["user_id"]}
    if phone:
        found["wa_id"] = person["wa_id"]
    else:
        found["profile"]["username"] = "@" + person["name"].split()[0].lower()
    return found


def message(
    content: dict[str, Any],
    *,
    person: dict[str, str] = CITIZEN,
    phone: bool = True,
    message_id: str | None = None,
    timestamp: int = TIMESTAMP,
) -> dict[str, Any]:
    """A message object; `phone=False` is a citizen with a username and a hidden number."""
    found: dict[str, Any] = {"from_user_id": person["user_id"]}
    if phone:
        found["from"] = person["wa_id"]
    return {
        **found,
        "id": message_id or wamid(),
        "timestamp": str(timestamp),
        **content,
    }


def text(body: str, **kwargs: Any) -> dict[str, Any]:
    return message({"type": "text", "text": {"body": body}}, **kwargs)


def image(media_id: str, caption: str | None = None, **kwargs: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "mime_type": "image/jpeg",
        "sha256": "rD4M6vXK6sBszEDqmQ2Vq7fiuhV3aLBq0ZmDQUaTzO0=",
        "id": media_id,
    }
    if caption is not None:
        content["caption"] = caption
    return message({"type": "image", "image": content}, **kwargs)


def voice_note(media_id: str, **kwargs: Any) -> dict[str, Any]:
    audio = {"mime_type": "audio/ogg; codecs=opus", "sha256": "x7Q=", "id": media_id, "voice": True}
    return message({"type": "audio", "audio": audio}, **kwargs)


def location(
    lat: float, lon: float, name: str | None = None, address: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    point: dict[str, Any] = {"latitude": lat, "longitude": lon}
    if name:
        point["name"] = name
    if address:
        point["address"] = address
    return message({"type": "location", "location": point}, **kwargs)


def _context(to: str | None) -> dict[str, Any]:
    return {"context": {"from": DISPLAY_NUMBER, "id": to or wamid()}}


def button_reply(
    choice_id: str, title: str, *, answering: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    interactive = {"type": "button_reply", "button_reply": {"id": choice_id, "title": title}}
    return message(
        {**_context(answering), "type": "interactive", "interactive": interactive}, **kwargs
    )


def list_reply(
    choice_id: str,
    title: str,
    description: str | None = None,
    *,
    answering: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {"id": choice_id, "title": title}
    if description:
        row["description"] = description
    interactive = {"type": "list_reply", "list_reply": row}
    return message(
        {**_context(answering), "type": "interactive", "interactive": interactive}, **kwargs
    )


def template_button(label: str, payload: str | None = None, **kwargs: Any) -> dict[str, Any]:
    button: dict[str, Any] = {"text": label}
    if payload is not None:
        button["payload"] = payload
    return message({**_context(None), "type": "button", "button": button}, **kwargs)


def reaction(to: str, emoji: str = "👍", **kwargs: Any) -> dict[str, Any]:
    return message({"type": "reaction", "reaction": {"message_id": to, "emoji": emoji}}, **kwargs)


def sticker(media_id: str = "stk-1", **kwargs: Any) -> dict[str, Any]:
    body = {"mime_type": "image/webp", "sha256": "s=", "id": media_id, "animated": False}
    return message({"type": "sticker", "sticker": body}, **kwargs)


def video(media_id: str = "vid-1", **kwargs: Any) -> dict[str, Any]:
    return message({"type": "video", "video": {"mime_type": "video/mp4", "id": media_id}}, **kwargs)


def document(media_id: str, mime: str, filename: str = "file", **kwargs: Any) -> dict[str, Any]:
    body = {"mime_type": mime, "id": media_id, "filename": filename}
    return message({"type": "document", "document": body}, **kwargs)


def shared_contact(**kwargs: Any) -> dict[str, Any]:
    card = {
        "name": {"formatted_name": "Pak RT 05", "first_name": "Pak"},
        "phones": [{"phone": "+62 812-0000-1111", "wa_id": "6281200001111", "type": "CELL"}],
    }
    return message({"type": "contacts", "contacts": [card]}, **kwargs)


def unsupported(kind: str = "poll", **kwargs: Any) -> dict[str, Any]:
    errors = [
        {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
    ]
    return message(
        {"type": "unsupported", "unsupported": {"type": kind}, "errors": errors}, **kwargs
    )


def system_number_changed(**kwargs: Any) -> dict[str, Any]:
    system = {
        "body": "User Siti Rahayu changed from 6281234567890 to 6281234567899",
        "wa_id": "6281234567899",
        "user_id": CITIZEN["user_id"],
        "type": "user_changed_number",
    }
    return message({"type": "system", "system": system}, **kwargs)


def request_welcome(**kwargs: Any) -> dict[str, Any]:
    return message({"type": "request_welcome"}, **kwargs)


def status(
    message_id: str,
    state: str,
    *,
    recipient: dict[str, str] = CITIZEN,
    timestamp: int = TIMESTAMP + 5,
) -> dict[str, Any]:
    """A sent/delivered/read status as Meta sends it (with conversation and pricing)."""
    found: dict[str, Any] = {
        "id": message_id,
        "status": state,
        "timestamp": str(timestamp),
        "recipient_id": recipient["wa_id"],
        "recipient_user_id": recipient["user_id"],
    }
    if state in ("sent", "delivered"):
        found["conversation"] = {"id": "c0nv3rs4t10n", "origin": {"type": "service"}}
        found["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service"}
    return found


def failed(
    message_id: str,
    code: int,
    title: str,
    details: str = "",
    *,
    recipient: dict[str, str] = CITIZEN,
    timestamp: int = TIMESTAMP + 5,
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "title": title, "message": title}
    if details:
        error["error_data"] = {"details": details}
    error["href"] = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
    return {
        "id": message_id,
        "status": "failed",
        "timestamp": str(timestamp),
        "recipient_id": recipient["wa_id"],
        "errors": [error],
    }


REENGAGEMENT_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)


def value(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
    *,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
    }
    if contacts:
        found["contacts"] = contacts
    if messages:
        found["messages"] = messages
    if statuses:
        found["statuses"] = statuses
    return found


def notification(*values: dict[str, Any], entries: int = 1) -> dict[str, Any]:
    """A notification whose changes are `values`, spread over `entries` entries."""
    changes = [{"value": v, "field": "messages"} for v in values]
    per_entry = max(1, -(-len(changes) // entries))
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": WABA_ID, "changes": changes[i : i + per_entry]}
            for i in range(0, len(changes), per_entry)
        ],
    }


def incoming(
    *messages: dict[str, Any], person: dict[str, str] = CITIZEN, phone: bool = True
) -> dict[str, Any]:
    """The usual notification: one citizen's message(s) with their contact."""
    return notification(value(list(messages), contacts=[contact(person, phone=phone)]))


def statuses(*items: dict[str, Any]) -> dict[str, Any]:
    return notification(value(statuses=list(items)))


def encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def signed(payload: Any, secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    """The raw body and the headers Meta would send with it."""
    body = encode(payload)
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body)}
