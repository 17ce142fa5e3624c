"""Cleaning cell values and header text the same way everywhere."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
# Zero-width characters Thai word processors leave behind, and no-break spaces.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_INVISIBLE.update({0xA0: " ", 0x2007: " ", 0x202F: " ", 0x3000: " "})
_SPACES = re.compile(r"\s+")
# What a header may carry that says nothing about the column.
_HEADER_NOISE = re.compile(r"[\s\.\-_:：*#()\[\]{}'\"/\\,;|]+")


def thai_digits(text: str) -> str:
    """๐-๙ become 0-9."""
    return text.translate(THAI_DIGITS)


def cell_text(value) -> str:
    """A cell as the text a person sees: trimmed, NFC, single spaces, no invisible marks.

    Whole floats lose their ``.0`` (Excel stores 12 as 12.0); dates become ISO text.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        if value.isascii():
            text = value.strip()
            return _SPACES.sub(" ", text) if "  " in text or "\n" in text or "\t" in text else text
        text = unicodedata.normalize("NFC", value.translate(_INVISIBLE))
        return _SPACES.sub(" ", text).strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return cell_text(str(value))


def header_key(text: str) -> str:
    """A header reduced to what identifies it: case, spaces and punctuation removed."""
    text = thai_digits(cell_text(text)).casefold()
    return _HEADER_NOISE.sub("", text)


def identity_key(text: str) -> str:
    """A value reduced for deriving stable ids: case, spaces and digit script do not count."""
    return _SPACES.sub("", thai_digits(text).casefold())


def N_(message: str) -> str:
    """Marks an English message id for the catalog (`make messages`); translated on display."""
    return message
