"""WhatsApp Cloud API's sending limit: 80 messages per second per business phone number (Meta
raises it to 1,000 by itself for busy numbers; set `delivery.whatsapp.overall` then). A 429
answer's Retry-After is obeyed as well (`client.classify_error`).
"""

from __future__ import annotations

from channels.limits import SendLimits, Window

LIMITS = SendLimits(overall=Window(80, 1.0))
