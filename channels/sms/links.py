"""What a poster says for SMS: "send KEYWORD to NUMBER", and the QR code form of it
(`SMSTO:<number>:<text>`, which phone cameras open as a new SMS with the text filled in)."""

from __future__ import annotations


def number(value: str) -> str:
    """The number as people dial it: "+" and digits ("+62 812-3456-7890" -> "+6281234567890")."""
    found = "".join(ch for ch in value if ch.isdigit())
    return ("+" if value.strip().startswith("+") else "") + found


def smsto(to: str, text: str) -> str:
    return f"SMSTO:{number(to)}:{text}"
