"""The webhook's secret header.

Telegram sends the ``secret_token`` we gave setWebhook in ``X-Telegram-Bot-Api-Secret-Token``
with every webhook request; a request without it, or with another value, is not Telegram's.
"""

from __future__ import annotations

from channels.base import Signature, check_secret

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def check_secret_token(secret: str, header: str | None) -> Signature:
    """Compare the header with our webhook secret in constant time.

    MISSING when there is no header (answer 401), INVALID when it differs (answer 403). An
    empty secret never validates anything.
    """
    return check_secret(secret, header)
