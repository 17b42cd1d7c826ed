"""Socialisation campaigns, pure: which campaign brought a message, and what is left of it.

A campaign (a poster at the market, a radio spot) hands citizens a way in that names it:

- a Telegram deep link: the bot receives "/start <id>" (the start parameter);
- a WhatsApp link with a prefilled text ending in the campaign's tag, `[#<id>]`;
- an SMS keyword ("LAPOR PASAR") at the start of the message;
- the web chat opened as /chat?campaign=<id> (the page passes the id along: `campaign_hint`).

`recognise` finds the campaign and takes its marks out of the message, so the conversation goes
on as if the citizen had written the rest: a deep link greets as "/start" does, and a prefilled
text that is only the campaign's words (or a keyword alone) is a greeting too, never a report's
description. A campaign outside its dates is recognised only to take its marks out; it is not
credited. Anything unknown is left as it is (an unknown start parameter is a plain "/start").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from intake.normalize import normalize
from intake.types import InboundMessage, MessageKind

# Telegram's start parameter: 1-64 characters of A-Z, a-z, 0-9, _ and -.
CAMPAIGN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TAG = re.compile(r"\[\s*#([A-Za-z0-9_-]{1,64})\s*\]")
_START = "start"


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    keyword: str = ""  # SMS keyword, e.g. "LAPOR PASAR" ("" = none)
    text: str = ""  # the words of the prefilled WhatsApp message, before the tag
    starts: date | None = None  # first day it is credited (local date); None: always
    ends: date | None = None  # last day it is credited (inclusive); None: no end

    def active_on(self, day: date) -> bool:
        return (self.starts is None or self.starts <= day) and (
            self.ends is None or day <= self.ends
        )


def tag(campaign_id: str) -> str:
    """The mark a prefilled WhatsApp text carries: `[#pasar-besar]`."""
    return f"[#{campaign_id}]"


def prefilled_text(campaign: Campaign) -> str:
    """The whole prefilled WhatsApp message: the campaign's words, then its tag."""
    return f"{campaign.text.strip()} {tag(campaign.id)}".strip()


@dataclass(frozen=True)
class Recognised:
    campaign: str | None  # the id of the campaign to credit (active, known), else None
    message: InboundMessage  # the message without the campaign's marks
    only_marks: bool = False  # nothing was left but the campaign's words: a greeting


def find(campaigns: Sequence[Campaign], campaign_id: str | None) -> Campaign | None:
    """The campaign with this id (ids are compared ignoring case), or None."""
    if not campaign_id:
        return None
    wanted = campaign_id.casefold()
    return next((c for c in campaigns if c.id.casefold() == wanted), None)


def recognise(message: InboundMessage, campaigns: Sequence[Campaign], today: date) -> Recognised:
    """The campaign `message` names, if any, and the message without its marks; `today` is the
    local date that decides whether the campaign is running."""

    def credited(campaign: Campaign | None) -> str | None:
        return campaign.id if campaign is not None and campaign.active_on(today) else None

    hinted = credited(find(campaigns, message.campaign_hint))
    if not campaigns:
        return Recognised(None, message)
    if message.kind is MessageKind.COMMAND:
        name, _, argument = message.text.strip().partition(" ")
        if name.lower() == _START and argument.strip():
            campaign = find(campaigns, argument.strip())
            if campaign is not None:
                return Recognised(credited(campaign) or hinted, replace(message, text=_START))
        return Recognised(hinted, message)
    if message.kind not in (MessageKind.TEXT, MessageKind.PHOTO) or not message.text.strip():
        return Recognised(hinted, message)
    text, campaign = _without_tag(message.text, campaigns)
    if campaign is None:
        text, campaign = _without_keyword(text, campaigns)
    elif campaign.text:
        text = _without_words(text, campaign.text)
    if campaign is None and text == message.text:
        return Recognised(hinted, message)
    found = credited(campaign) or hinted
    if text.strip() or message.kind is not MessageKind.TEXT:
        return Recognised(found, replace(message, text=text.strip()))
    # Only the campaign's words: answered like "/start", a greeting.
    return Recognised(found, replace(message, kind=MessageKind.COMMAND, text=_START), True)


def _without_tag(text: str, campaigns: Sequence[Campaign]) -> tuple[str, Campaign | None]:
    """The text without any `[#id]` tag, and the first configured campaign tagged."""
    found: Campaign | None = None
    for match in _TAG.finditer(text):
        found = found or find(campaigns, match.group(1))
    return _TAG.sub(" ", text), found


def _without_keyword(text: str, campaigns: Sequence[Campaign]) -> tuple[str, Campaign | None]:
    """The text without a campaign keyword it starts with (the longest that fits)."""
    words = text.split()
    best: tuple[int, Campaign] | None = None
    for campaign in campaigns:
        wanted = normalize(campaign.keyword)
        size = len(campaign.keyword.split())
        if not wanted or size > len(words) or normalize(" ".join(words[:size])) != wanted:
            continue
        if best is None or size > best[0]:
            best = (size, campaign)
    if best is None:
        return text, None
    size, campaign = best
    rest = re.match(r"\s*" + r"\S+\s*" * size, text)
    return (text[rest.end() :] if rest else ""), campaign


def _without_words(text: str, words: str) -> str:
    """`text` without the campaign's prefilled `words`, wherever the citizen left them; the
    text as it is when they were changed (the citizen's own words are kept whole)."""
    wanted = normalize(words)
    if not wanted:
        return text
    if normalize(text) == wanted:
        return ""
    # The prefilled words first, the citizen's own after them (or before the tag). Only sizes
    # near the prefilled words' own are tried: a long message costs no more than a short one.
    pieces = text.split()
    near = len(words.split())
    for size in range(min(len(pieces), near + 2), max(near - 2, 1) - 1, -1):
        if normalize(" ".join(pieces[:size])) == wanted:
            return " ".join(pieces[size:])
        if normalize(" ".join(pieces[-size:])) == wanted:
            return " ".join(pieces[:-size])
    return text
