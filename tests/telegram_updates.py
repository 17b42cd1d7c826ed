"""Builders for realistic Telegram Bot API Update objects (as decoded JSON).

Shapes follow https://core.telegram.org/bots/api#update: every builder returns a fresh dict with
`update_id`, and messages carry `message_id`, `from`, `chat`, `date`. Ids are counters so every
call produces a distinct update unless ids are passed explicitly.
"""

from __future__ import annotations

import itertools
from typing import Any

CITIZEN_ID = 555000111
CITIZEN = {
    "id": CITIZEN_ID,
    "is_bot": False,
    "first_name": "Siti",
    "last_name": "Rahayu",
    "username": "siti_r",
    "language_code": "id",
}
OFFICER = {"id": 777000222, "is_bot": False, "first_name": "Budi", "language_code": "id"}
BOT = {"id": 123456789, "is_bot": True, "first_name": "Lapor Fake", "username": "LaporFakeBot"}
GROUP_ID = -1001234567890
DATE = 1767225600  # 2026-01-01T00:00:00Z

_update_ids = itertools.count(700000001)
_message_ids = itertools.count(101)
_callback_ids = itertools.count(4382100000000000001)


def private_chat(user: dict[str, Any] = CITIZEN) -> dict[str, Any]:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    for key in ("last_name", "username"):
        if key in user:
            chat[key] = user[key]
    return chat


def group_chat(chat_id: int = GROUP_ID) -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": "Petugas LAPOR Madiun"}


def message(
    content: dict[str, Any],
    *,
    user: dict[str, Any] = CITIZEN,
    chat: dict[str, Any] | None = None,
    message_id: int | None = None,
    date: int = DATE,
) -> dict[str, Any]:
    """A Message object with the given content fields."""
    return {
        "message_id": message_id if message_id is not None else next(_message_ids),
        "from": user,
        "chat": chat if chat is not None else private_chat(user),
        "date": date,
        **content,
    }


def update(key: str, value: dict[str, Any], update_id: int | None = None) -> dict[str, Any]:
    return {"update_id": update_id if update_id is not None else next(_update_ids), key: value}


def message_update(content: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    update_id = kwargs.pop("update_id", None)
    return update("message", message(content, **kwargs), update_id)


def text(body: str, **kwargs: Any) -> dict[str, Any]:
    return message_update({"text": body}, **kwargs)


def command(body: str, **kwargs: Any) -> dict[str, Any]:
    """A command as clients send it: text plus a bot_command entity at offset 0."""
    name_length = len(body.split(maxsplit=1)[0])
    entities = [{"offset": 0, "length": name_length, "type": "bot_command"}]
    return message_update({"text": body, "entities": entities}, **kwargs)


def photo(
    file_id: str = "AgACAgUAAxkBAAIBQmZphotoLARGE",
    *,
    caption: str | None = None,
    media_group_id: str | None = None,
    file_size: int = 184233,
    **kwargs: Any,
) -> dict[str, Any]:
    """A photo with the three sizes Telegram generates (the last is the largest)."""
    sizes = [
        {"file_id": f"{file_id}-s", "file_unique_id": f"{file_id[-6:]}s", "file_size": 1322,
         "width": 90, "height": 68},
        {"file_id": f"{file_id}-m", "file_unique_id": f"{file_id[-6:]}m", "file_size": 19877,
         "width": 320, "height": 240},
        {"file_id": file_id, "file_unique_id": f"{file_id[-6:]}x", "file_size": file_size,
         "width": 1280, "height": 960},
    ]  # fmt: skip
    content: dict[str, Any] = {"photo": sizes}
    if caption is not None:
        content["caption"] = caption
    if media_group_id is not None:
        content["media_group_id"] = media_group_id
    return message_update(content, **kwargs)


def document(
    file_id: str = "BQACAgUAAxkBAAIBRmZdocIMAGE",
    *,
    mime_type: str = "image/png",
    file_name: str = "jalan_rusak.png",
    caption: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    content: dict[str, Any] = {
        "document": {
            "file_name": file_name,
            "mime_type": mime_type,
            "file_id": file_id,
            "file_unique_id": "AgADdoc1",
            "file_size": 245761,
        }
    }
    if caption is not None:
        content["caption"] = caption
    return message_update(content, **kwargs)


def location(lat: float = -7.6298, lon: float = 111.5239, **kwargs: Any) -> dict[str, Any]:
    return message_update({"location": {"latitude": lat, "longitude": lon}}, **kwargs)


def venue(
    lat: float = -7.6311,
    lon: float = 111.5300,
    title: str = "Alun-Alun Kota Madiun",
    address: str = "Jl. Pahlawan, Kartoharjo",
    **kwargs: Any,
) -> dict[str, Any]:
    point = {"latitude": lat, "longitude": lon}
    content = {
        "location": point,
        "venue": {
            "location": point,
            "title": title,
            "address": address,
            "foursquare_id": "4b5b8c6ef964a520a10c29e3",
        },
    }
    return message_update(content, **kwargs)


def contact(
    phone_number: str = "6281234567890",
    *,
    own: bool = True,
    user: dict[str, Any] = CITIZEN,
    **kwargs: Any,
) -> dict[str, Any]:
    card: dict[str, Any] = {"phone_number": phone_number, "first_name": user["first_name"]}
    card["user_id"] = user["id"] if own else 555999888
    if not own:
        card["first_name"] = "Tetangga"
    return message_update({"contact": card}, user=user, **kwargs)


def voice(file_id: str = "AwACAgUAAxkBAAIBSmZvoice", **kwargs: Any) -> dict[str, Any]:
    content = {
        "voice": {
            "duration": 4,
            "mime_type": "audio/ogg",
            "file_id": file_id,
            "file_unique_id": "AgADvoice1",
            "file_size": 15360,
        }
    }
    return message_update(content, **kwargs)


def sticker(**kwargs: Any) -> dict[str, Any]:
    content = {
        "sticker": {
            "width": 512,
            "height": 512,
            "emoji": "👍",
            "set_name": "HotCherry",
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "file_id": "CAACAgIAAxkBAAIBTmZsticker",
            "file_unique_id": "AgADsticker1",
            "file_size": 22184,
        }
    }
    return message_update(content, **kwargs)


def video(**kwargs: Any) -> dict[str, Any]:
    content = {
        "video": {
            "duration": 7,
            "width": 848,
            "height": 480,
            "mime_type": "video/mp4",
            "file_id": "BAACAgUAAxkBAAIBUmZvideo",
            "file_unique_id": "AgADvideo1",
            "file_size": 1048576,
        }
    }
    return message_update(content, **kwargs)


def edited_message(body: str = "jalan berlubang (diedit)", **kwargs: Any) -> dict[str, Any]:
    update_id = kwargs.pop("update_id", None)
    msg = message({"text": body, "edit_date": DATE + 60}, **kwargs)
    return update("edited_message", msg, update_id)


def bot_message(chat: dict[str, Any] | None = None, message_id: int = 900) -> dict[str, Any]:
    """A message the bot sent (the one carrying an inline keyboard)."""
    return {
        "message_id": message_id,
        "from": BOT,
        "chat": chat if chat is not None else private_chat(),
        "date": DATE - 30,
        "text": "Pilih kategori:",
        "reply_markup": {
            "inline_keyboard": [[{"text": "Jalan rusak", "callback_data": "cat:jalan"}]]
        },
    }


def callback_query(
    data: str | None = "cat:jalan",
    *,
    user: dict[str, Any] = CITIZEN,
    chat: dict[str, Any] | None = None,
    with_message: bool = True,
    query_id: str | None = None,
    update_id: int | None = None,
) -> dict[str, Any]:
    query: dict[str, Any] = {
        "id": query_id if query_id is not None else str(next(_callback_ids)),
        "from": user,
        "chat_instance": "-3948572039485720394",
    }
    if with_message:
        query["message"] = bot_message(chat if chat is not None else private_chat(user))
    else:
        query["inline_message_id"] = "AgAAAHs1AQBkYWJj"
    if data is not None:
        query["data"] = data
    return update("callback_query", query, update_id)


def my_chat_member(status: str = "kicked", user: dict[str, Any] = CITIZEN) -> dict[str, Any]:
    """A citizen blocked ("kicked") or unblocked ("member") the bot."""
    old, new = ("member", "kicked") if status == "kicked" else ("kicked", status)
    change: dict[str, Any] = {
        "chat": private_chat(user),
        "from": user,
        "date": DATE,
        "old_chat_member": {"user": BOT, "status": old},
        "new_chat_member": {"user": BOT, "status": new},
    }
    for member in (change["old_chat_member"], change["new_chat_member"]):
        if member["status"] == "kicked":
            member["until_date"] = 0  # "banned forever": how a block looks
    return update("my_chat_member", change)


def group_message(body: str = "/tindak MDN-00001", **kwargs: Any) -> dict[str, Any]:
    return message_update({"text": body}, user=OFFICER, chat=group_chat(), **kwargs)
