"""Dates as Thai users read them: Buddhist Era (พ.ศ. = ค.ศ. + 543), Bangkok time."""

from __future__ import annotations

import datetime as dt

BANGKOK = dt.timezone(dt.timedelta(hours=7), "ICT")  # no daylight saving in Thailand
BE_OFFSET = 543
THAI_MONTHS_SHORT = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
                     "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
EN_MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def to_bangkok(value: dt.datetime | dt.date | str | None) -> dt.datetime | dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(BANGKOK)
    return value


def format_date(value, lang: str = "th", *, with_time: bool = False) -> str:
    """`25 พ.ย. 2569` in Thai (Buddhist Era), `25 Nov 2026` in English."""
    local = to_bangkok(value)
    if local is None:
        return ""
    if lang == "th":
        text = f"{local.day} {THAI_MONTHS_SHORT[local.month - 1]} {local.year + BE_OFFSET}"
    else:
        text = f"{local.day} {EN_MONTHS_SHORT[local.month - 1]} {local.year}"
    if with_time and isinstance(local, dt.datetime):
        text += f" {local:%H:%M}"
    return text
