"""WhatsApp Cloud API: verify and parse webhooks, render replies as API calls, send them.

One module per job:

- `signature`: the webhook's ``X-Hub-Signature-256`` (`check_signature`, `sign`) and the
  subscription handshake's ``hub.verify_token`` (`check_verify_token`);
- `payloads`: notifications as events (`parse_webhook`, `WhatsAppEvents`, `Incoming`,
  `StatusUpdate`), with pydantic models of only what we read;
- `render`: replies as message objects (`render`, `template_message`, `recipient`);
- `client`: the Cloud API client (`WhatsAppSender`, over httpx) and its error classification.
"""

from channels.base import Signature
from channels.whatsapp.client import (
    DEFAULT_GRAPH_BASE,
    REENGAGEMENT,
    THROTTLED,
    TRANSIENT,
    UNREACHABLE,
    WhatsAppSender,
    WindowCheck,
    classify_error,
)
from channels.whatsapp.payloads import (
    CHANNEL,
    Incoming,
    StatusUpdate,
    WhatsAppEvents,
    parse_webhook,
)
from channels.whatsapp.render import (
    CAPABILITIES,
    LIST_BUTTON_LABEL,
    LOCATION_PROMPT,
    list_message,
    location_request,
    numbered,
    recipient,
    render,
    reply_buttons,
    shorten,
    split_text,
    template_message,
)
from channels.whatsapp.signature import (
    SIGNATURE_HEADER,
    check_signature,
    check_verify_token,
    sign,
)

__all__ = [
    "CAPABILITIES",
    "CHANNEL",
    "DEFAULT_GRAPH_BASE",
    "LIST_BUTTON_LABEL",
    "LOCATION_PROMPT",
    "REENGAGEMENT",
    "SIGNATURE_HEADER",
    "THROTTLED",
    "TRANSIENT",
    "UNREACHABLE",
    "Incoming",
    "Signature",
    "StatusUpdate",
    "WhatsAppEvents",
    "WhatsAppSender",
    "WindowCheck",
    "check_signature",
    "check_verify_token",
    "classify_error",
    "list_message",
    "location_request",
    "numbered",
    "parse_webhook",
    "recipient",
    "render",
    "reply_buttons",
    "shorten",
    "sign",
    "split_text",
    "template_message",
]
