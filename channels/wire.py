"""What arrives over the wire, made safe to store and process, before anything is acknowledged.

Platform bodies are stored as they came (the inbox keeps the raw payload) and their texts end up
in PostgreSQL, which refuses a NUL character (U+0000) in text and JSON, and no database driver
can encode a lone UTF-16 surrogate (``"\\ud800"`` is valid JSON). Python's own limits turn other
valid JSON into exceptions: a 5,000-digit integer (int conversion is capped at 4,300 digits), a
deeply nested body (recursion), ``NaN`` or ``1e999`` (stored back as non-standard JSON).

So every webhook body goes through `load_json` (bounded: depth, integers, no NaN/Infinity; a
`BadPayload` otherwise, answered 400) and every value through `clean` (NUL removed, lone
surrogates replaced by U+FFFD), and headers with numbers through `header_seconds`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32  # Telegram updates and WhatsApp notifications nest about 8 deep
MAX_INT_DIGITS = 20  # 64-bit ids (Telegram chat ids, update ids) need 19 and a sign

_UNSAFE = re.compile("[\x00\ud800-\udfff]")


class BadPayload(ValueError):
    """A body we will not store: the message says why (for a 400 answer)."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadPayload(f"a number with more than {MAX_INT_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadPayload("a number out of range")
    return value


def _constant(name: str) -> Any:
    raise BadPayload(f"{name} is not JSON")


def load_json(body: bytes | str) -> Any:
    """The JSON value of a body, within bounds and `clean`; raises `BadPayload`."""
    try:
        data = json.loads(body, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except BadPayload:
        raise
    except RecursionError:
        raise BadPayload(f"nested more than {MAX_DEPTH} levels deep") from None
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError):
        raise BadPayload("the body is not JSON") from None
    if depth(data) > MAX_DEPTH:
        raise BadPayload(f"nested more than {MAX_DEPTH} levels deep")
    return clean(data)


def depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def clean_text(text: str) -> str:
    """`text` without NUL characters, each lone surrogate replaced by U+FFFD."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def clean(value: Any) -> Any:
    """`value` (parsed JSON, form fields) with every string and key `clean_text`-ed."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clean(v) for v in value)
    return value


_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,6})?")


def header_seconds(value: str | None, *, at_most: float) -> float | None:
    """A number of seconds from a header (``Retry-After``, a Unix time stamp): ASCII digits with
    an optional fraction (``"²"``, ``"nan"``, ``"inf"`` and ``"-1"`` are not seconds), between 0
    and `at_most`; None otherwise."""
    text = (value or "").strip()
    if not _SECONDS.fullmatch(text):
        return None
    seconds = float(text)
    return seconds if seconds <= at_most else None
