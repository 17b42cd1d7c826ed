"""Telegram: verify webhooks, parse Bot API updates, render replies as Bot API calls, send them.

One module per job:

- `signature`: the webhook's secret header (`check_secret_token`);
- `payloads`: updates as events (`parse_update`, `TelegramEvents`, `MembershipChange`);
- `render`: replies as Bot API calls (`render`, `inline_keyboard`, `split_text`);
- `client`: the Bot API client (`TelegramSender`) and its error classification.

python-telegram-bot is used only inside this package, for `telegram.Bot`, its request object
and its types; the webhook route, the polling loop and the flow are ours.
"""

from channels.base import Signature
from channels.telegram.client import TelegramSender, classify_error
from channels.telegram.payloads import (
    ALLOWED_UPDATES,
    CHANNEL,
    MembershipChange,
    TelegramEvents,
    parse_update,
)
from channels.telegram.render import (
    CAPABILITIES,
    LOCATION_BUTTON_LABEL,
    MAX_CALLBACK_DATA,
    MAX_CAPTION,
    MAX_TEXT,
    inline_keyboard,
    location_keyboard,
    render,
    split_text,
)
from channels.telegram.signature import SECRET_HEADER, check_secret_token

__all__ = [
    "ALLOWED_UPDATES",
    "CAPABILITIES",
    "CHANNEL",
    "LOCATION_BUTTON_LABEL",
    "MAX_CALLBACK_DATA",
    "MAX_CAPTION",
    "MAX_TEXT",
    "SECRET_HEADER",
    "MembershipChange",
    "Signature",
    "TelegramEvents",
    "TelegramSender",
    "check_secret_token",
    "classify_error",
    "inline_keyboard",
    "location_keyboard",
    "parse_update",
    "render",
    "split_text",
]
