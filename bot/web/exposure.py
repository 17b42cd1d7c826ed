"""Whether the API tokens are fit for the address the service listens on.

On a loopback address (`make run`, a service behind a proxy on the same host) anything goes,
the example token included. On any other address the REST API, the dashboard and /metrics are
reachable from the network, so `lapor serve` refuses the example token and short ones.
"""

from __future__ import annotations

import hmac
import ipaddress

from bot.settings import Settings

EXAMPLE_TOKEN = "dev-token-change-me"  # config.example.toml's, for trying on one's own machine
MIN_TOKEN_LENGTH = 24  # `python -c "import secrets; print(secrets.token_urlsafe(32))"` gives 43


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name or 0.0.0.0 / ::: reachable from elsewhere, as far as we know


def token_problem(settings: Settings, host: str) -> str | None:
    """One line saying why the tokens cannot be served on `host`, or None when they can."""
    if is_loopback(host):
        return None
    for i, secret in enumerate(settings.service.api_tokens):
        token = secret.get_secret_value().strip()
        if hmac.compare_digest(token.encode(), EXAMPLE_TOKEN.encode()):
            return (
                f"service.api_tokens[{i}] is the example token and the host {host!r} is not "
                "loopback: set LAPOR_SERVICE__API_TOKENS to a secret of your own"
            )
        if len(token) < MIN_TOKEN_LENGTH:
            return (
                f"service.api_tokens[{i}] has {len(token)} characters, fewer than "
                f"{MIN_TOKEN_LENGTH}, and the host {host!r} is not loopback: use a long random "
                "token"
            )
    return None
