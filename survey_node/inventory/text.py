"""Cleaning cell values and header text the same way everywhere."""

from __future__ import annotations

import datetime as dt
import json
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


_json_str = json.encoder.c_encode_basestring or json.encoder.py_encode_basestring
# What a cell may hold that cleaning changes: invisible marks, odd spaces, two spaces.
_ODD_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00a0\u2007\u202f\u3000\t\n\r\v\f"
_ODD = re.compile(f"[{_ODD_CHARS}]|  ")  # one cell
_ODD_MARKS = (*_ODD_CHARS, "  ")         # a whole column, by substring scans
_CACHE: dict[str, str] = {}
_CACHE_MAX = 50_000


def cell_text(value) -> str:
    """A cell as the text a person sees: trimmed, NFC, single spaces, no invisible marks.

    Whole floats lose their ``.0`` (Excel stores 12 as 12.0); dates become ISO text.
    """
    if value.__class__ is str:
        # Registries repeat the same status, agency and district on every row: cache.
        found = _CACHE.get(value)
        if found is None:
            found = _clean(value)
            if len(_CACHE) >= _CACHE_MAX:
                _CACHE.clear()
            _CACHE[value] = found
        return found
    if value is None:
        return ""
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


def _clean(value: str) -> str:
    text = value
    if _ODD.search(text):
        text = _SPACES.sub(" ", text.translate(_INVISIBLE))
    text = text.strip()
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def header_key(text: str) -> str:
    """A header reduced to what identifies it: case, spaces and punctuation removed."""
    text = thai_digits(cell_text(text)).casefold()
    return _HEADER_NOISE.sub("", text)


_THAI_DIGIT = re.compile("[๐-๙]")


def identity_key(text: str) -> str:
    """A value reduced for deriving stable ids: case, spaces and digit script do not count."""
    if _THAI_DIGIT.search(text):  # translate() is slow on Thai text: only when needed
        text = thai_digits(text)
    return "".join(text.casefold().split())


def cell_texts(cells: list) -> list[str]:
    """cell_text() of a whole row; cached strings are looked up without a call per cell."""
    get = _CACHE.get
    # One pass: a cache miss (a value seen for the first time, or "") falls back to
    # cell_text(), which cleans and caches it.
    return [(get(c) or cell_text(c)) if c.__class__ is str
            else (str(int(c)) if c.is_integer() and -1e15 < c < 1e15 else repr(c))
            if c.__class__ is float else cell_text(c) for c in cells]


def padded_texts(rows: list[list], width: int) -> list[tuple]:
    """cell_text() of many rows at once, each padded to `width` cells plus one more ""
    at index `width` (cells past `width` follow it).

    Same result as cell_texts() row by row, several times faster on a spreadsheet: its
    rows all have the same length and a column usually holds one type, so a column of
    clean text or of plain numbers is converted in a few C-level passes.
    """
    if not rows:
        return []
    length = len(rows[0])
    if any(len(r) != length for r in rows):  # CSV: rows of any length
        return [_pad(cell_texts(r), width) for r in rows]
    empty = ("",) * len(rows)
    cols = [_column_texts(col) for col in zip(*rows)]
    cols[width:width] = [empty] * (width - length + 1 if length < width else 1)
    return list(zip(*cols))


def json_arrays(rows: list[tuple], columns, omitted=frozenset()) -> list[str]:
    """Each row's cells at `columns` as a JSON array text ('["a","b"]'), a chunk at a time:
    the cells are JSON-encoded a column at a time and joined in C; "\\x00" can separate the
    rows because JSON writes it escaped. The cells of `omitted` columns are written as null.
    """
    if not rows:
        return []
    if not columns:
        return ["[]"] * len(rows)
    cols = list(zip(*rows))
    nulls = ("null",) * len(rows)
    encoded = [nulls if i in omitted else map(_json_str, cols[i]) for i in columns]
    return ("[" + "]\x00[".join(map(",".join, zip(*encoded))) + "]").split("\x00")


def _pad(texts: list[str], width: int) -> tuple:
    if len(texts) < width:
        texts.extend([""] * (width - len(texts)))
    texts.insert(width, "")
    return tuple(texts)


def _column_texts(col: tuple) -> tuple | list:
    kinds = set(map(type, col))
    if kinds == {str}:
        joined = "\x00".join(col)
        # `in` scans at memchr speed; the regex took longer than the rest of the column.
        if not any(odd in joined for odd in _ODD_MARKS) and (joined.isascii()
                                        or unicodedata.is_normalized("NFC", joined)):
            return tuple(map(str.strip, col))
    elif kinds == {float} and max(map(abs, col)) < 1e15:
        # repr() is what cell_text() gives a float; whole numbers lose their ".0".
        joined = "\x00" + "\x00".join(map(repr, col)) + "\x00"
        joined = joined.replace(".0\x00", "\x00")
        while "\x00-0\x00" in joined:  # int(-0.0) is 0; replace() skips adjacent ones
            joined = joined.replace("\x00-0\x00", "\x000\x00")
        return joined[1:-1].split("\x00")
    return [cell_text(c) for c in col]


def N_(message: str) -> str:
    """Marks an English message id for the catalog (`make messages`); translated on display."""
    return message
