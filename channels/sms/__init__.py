"""SMS: one channel, two providers (Twilio, SMS Gateway for Android).

What is the same for both providers lives here:

- phone numbers, normalised to E.164 with `phonenumbers` (``0812...`` -> ``+62812...``); the
  number is the citizen's id and the address replies go to;
- rendering a `Reply` as plain text: choices become numbered lines and a hint ("Balas 1, 2
  atau 3"), typographic characters become their GSM-7 forms and emoji are dropped, so a
  message costs as few segments as it can (see `channels.sms.gsm`);
- `SmsSender`, the outbox's sender, which hands each text to the configured `SmsProvider`
  and classifies nothing itself: providers raise `SendError`;
- for the providers' own API calls: `post` (no answer at all is `SendError(RETRY)`) and
  `json_object`.

Provider specifics (webhook signatures, payloads, the send API and its errors) live in
`channels.sms.twilio` and `channels.sms.android`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from channels.base import FetchedMedia, SendError, SendFailure, Sent
from channels.sms import gsm
from intake.types import (
    ChannelCapabilities,
    DeliveryStatus,
    InboundMessage,
    MediaRef,
    MessageKind,
    Reply,
)

CHANNEL = "sms"
TEXT_VARIANT = "sms"  # the short catalogue in intake/texts.py
MAX_SEGMENTS = 2  # what every prompt of the flow must fit
MAX_MESSAGE_SEGMENTS = 10  # longer texts (officer replies) go as several messages
CAPABILITIES = ChannelCapabilities(
    buttons=False,
    photos=False,
    location=False,
    max_text=MAX_SEGMENTS * gsm.PART_GSM,
    text_variant=TEXT_VARIANT,
)
DEFAULT_REGION = "ID"  # numbers written nationally ("0812...") are Indonesian

_HINTS = {
    "id": ("Balas {last}", "Balas {first} atau {last}", "Balas {first}, {second} atau {last}"),
    "en": ("Reply {last}", "Reply {first} or {last}", "Reply {first}, {second} or {last}"),
}
_RANGE_HINT = {"id": "Balas angka 1-{last}", "en": "Reply with a number 1-{last}"}


# --------------------------------------------------------------------------------------------
# Phone numbers


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """The E.164 form of a phone number, or None when `raw` is not one (a short code, a name).

    ``0812-3456-789``, ``+62 812 3456 789`` and ``6281234567 89`` all give ``+628123456789``.
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if not text or len(text) > 32:
        return None
    import phonenumbers  # loaded at the first number, not at start-up (time, memory)

    digits = "".join(ch for ch in text if ch.isdigit())
    candidates = [text]
    if not text.startswith("+") and not text.startswith("0"):
        candidates.append("+" + digits)  # "62812..." without the plus
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    for candidate in candidates:  # a new number range the metadata does not know yet
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number) and len(digits) >= 8:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


# --------------------------------------------------------------------------------------------
# Inbound


@dataclass(frozen=True)
class SmsEvents:
    """What one provider webhook means to us."""

    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[DeliveryStatus] = field(default_factory=list)
    status_keys: list[str] = field(default_factory=list)  # dedupe key of each status
    unreachable: list[str] = field(default_factory=list)  # ids of messages whose number is dead
    ignored: str | None = None  # why nothing was produced


def text_message(
    *,
    external_id: str,
    phone: str,
    text: str,
    received_at: datetime,
    kind: MessageKind = MessageKind.TEXT,
) -> InboundMessage:
    """An inbound SMS from `phone` (already E.164): the citizen is their number."""
    return InboundMessage(
        channel=CHANNEL,
        external_id=external_id,
        sender_id=phone,
        chat_id=phone,
        kind=kind,
        received_at=received_at,
        text=text.strip(),
        phone=phone,
    )


# --------------------------------------------------------------------------------------------
# Rendering


def choice_hint(count: int, lang: str) -> str:
    """ "Balas 1, 2 atau 3" / "Reply 1 or 2" / "Balas angka 1-9"."""
    lang = lang if lang in _HINTS else "id"
    if count > 3:
        return _RANGE_HINT[lang].format(last=count)
    template = _HINTS[lang][count - 1]
    return template.format(first=1, second=2, last=count)


def render(reply: Reply, max_segments: int = MAX_SEGMENTS) -> str:
    """The reply as one SMS text: numbered choices and a hint, GSM-7 where possible.

    When the choices would push the text past `max_segments`, the longest labels are shortened
    one at a time (cut before a ",", "&", "/" or "(", then clipped at a word) until it fits:
    city configurations name categories at length ("Infrastruktur Jalan, Jembatan & Trotoar"),
    and the number is what the citizen types back anyway.
    """
    labels = [choice.label or choice.value for choice in reply.choices]
    text = _compose(reply, labels)
    while labels and gsm.segments(text) > max_segments:
        longest = max(range(len(labels)), key=lambda i: len(labels[i]))
        shorter = _shorten(labels[longest])
        if shorter == labels[longest]:
            break  # every label is as short as it sensibly gets
        labels[longest] = shorter
        text = _compose(reply, labels)
    return text


def _compose(reply: Reply, labels: Sequence[str]) -> str:
    parts = [reply.text.strip()] if reply.text.strip() else []
    if labels:
        parts.append("\n".join(f"{n}. {label}" for n, label in enumerate(labels, 1)))
        parts.append(choice_hint(len(labels), reply.lang))
    if reply.location is not None:
        point = reply.location
        parts.append(f"https://maps.google.com/?q={point.lat:.6f},{point.lon:.6f}")
    return gsm.to_gsm("\n".join(parts))


_CUTS = (",", " &", " /", " (", " - ", ";")
MIN_LABEL = 8


def _head(label: str) -> str:
    """The label up to its first separator: "Air Bersih / PDAM" -> "Air Bersih"."""
    cut = min((i for sep in _CUTS if (i := label.find(sep)) >= 4), default=len(label))
    return label[:cut].rstrip()


def _shorten(label: str) -> str:
    head = _head(label)
    if head != label or len(label) <= MIN_LABEL:
        return head
    limit = max(MIN_LABEL, len(label) - 4)
    space = label.rfind(" ", 0, limit + 1)
    clipped = label[:space] if space >= limit // 2 else label[:limit]
    return clipped.rstrip(" ,&/(-")


# --------------------------------------------------------------------------------------------
# Outbound


class SmsProvider(Protocol):
    """A way to send an SMS: Twilio's API or an Android phone's gateway app."""

    name: str

    async def submit(self, to: str, text: str) -> str | None:
        """Send one text to one E.164 number; the provider's message id. Raise SendError."""
        ...

    async def aclose(self) -> None: ...


async def post(client: httpx.AsyncClient, url: str, provider: str, **kwargs: Any) -> httpx.Response:
    """POST to a provider's API. No answer (timeout, refused, reset...) is SendError(RETRY),
    its reason prefixed with `provider`; an answer, whatever its status, is returned."""
    try:
        return await client.post(url, **kwargs)
    except httpx.TimeoutException:
        raise SendError(SendFailure.RETRY, f"{provider}: timed out") from None
    except httpx.HTTPError as exc:
        raise SendError(SendFailure.RETRY, f"{provider}: {type(exc).__name__}") from None


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object a provider answered with; {} when the answer is not one."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class SmsSender:
    """The outbox's sender for the "sms" channel, over whichever provider is configured."""

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(self, provider: SmsProvider) -> None:
        self.provider = provider

    async def send(self, chat_id: str, reply: Reply) -> Sent:
        text = render(reply)
        if not text:
            raise SendError(SendFailure.DEAD, "empty reply: nothing to say by SMS")
        to = normalize_phone(chat_id)
        if to is None:
            raise SendError(SendFailure.UNREACHABLE, "not a phone number")
        last: str | None = None
        for piece in gsm.split(text, MAX_MESSAGE_SEGMENTS):
            last = await self.provider.submit(to, piece)
        return Sent(external_id=last)

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        raise SendError(SendFailure.DEAD, "SMS carries no media")

    async def aclose(self) -> None:
        await self.provider.aclose()
