"""Province / amphoe / tambon names, as clerks write them, to DOPA codes (offline, geothai).

"อ.เมือง", "เมือง", "จ.นครราชสีมา", English names and Thai digits are read. Lookups are
cached: a registry repeats the same few dozen names across thousands of rows.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import geothai

from ..errors import BadInput
from .text import N_, thai_digits

_CAPITAL = "เมือง"


@dataclass
class Place:
    province_code: str = ""
    province_name: str = ""
    amphoe_code: str = ""
    amphoe_name: str = ""
    tambon_code: str = ""
    tambon_name: str = ""
    warnings: list[tuple[str, str, dict]] = field(default_factory=list)
    ambiguous: bool = False  # the amphoe is in several provinces and none was given


def _norm(text: str) -> str:
    return geothai.normalize(thai_digits(text)) if text else ""


@functools.lru_cache(maxsize=1)
def _province_index() -> dict[str, object]:
    index = {}
    for p in geothai.provinces():
        index[_norm(p.name_th)] = p
        index[_norm(p.name_en)] = p
    bangkok = geothai.province("10")
    for alias in ("กทม", "กรุงเทพ", "กรุงเทพฯ", "bangkok", "bkk"):
        index[_norm(alias)] = bangkok
    return index


@functools.lru_cache(maxsize=100)
def _district_index(province_code: str) -> dict[str, object]:
    index = {}
    province = geothai.province(province_code)
    for d in geothai.districts(province_code):
        index[_norm(d.name_th)] = d
        index[_norm(d.name_en)] = d
        if province and _norm(d.name_th) == _norm(_CAPITAL + province.name_th):
            index[_norm(_CAPITAL)] = d
            index["mueang"] = d
    return index


@functools.lru_cache(maxsize=1)
def _all_districts() -> dict[str, list]:
    index: dict[str, list] = {}
    for p in geothai.provinces():
        for d in geothai.districts(p.code):
            for key in {_norm(d.name_th), _norm(d.name_en)}:
                index.setdefault(key, []).append(d)
    return index


@functools.lru_cache(maxsize=2000)
def _subdistrict_index(district_code: str) -> dict[str, object]:
    index = {}
    for s in geothai.subdistricts(district_code):
        index[_norm(s.name_th)] = s
        index[_norm(s.name_en)] = s
    return index


@functools.lru_cache(maxsize=20000)
def resolve(province: str, amphoe: str, tambon: str, default_province: str = "") -> Place:
    """Names -> codes. Unknown or ambiguous names leave the code empty, with a warning."""
    place = Place()
    prov = None
    if province:
        prov = _province_index().get(_norm(province))
        if prov is None:
            place.warnings.append(("province", N_("unknown province %(name)s"), {"name": province}))
    elif default_province:
        prov = geothai.province(default_province)
    dist = None
    if amphoe:
        key = _norm(amphoe)
        found = ([_district_index(prov.code)[key]] if key in _district_index(prov.code) else []) \
            if prov is not None else _all_districts().get(key, [])
        if key == _norm(_CAPITAL) and prov is None:
            found = [None, None]  # every province has one
        if len(found) == 1:
            dist = found[0]
            prov = prov or geothai.province(dist.province_code)
        elif found:
            place.ambiguous = True
            place.warnings.append(("amphoe", N_("amphoe %(name)s exists in several provinces;"
                                                " add a province column"), {"name": amphoe}))
        else:
            place.warnings.append(("amphoe", N_("unknown amphoe %(name)s"), {"name": amphoe}))
    sub = None
    if tambon:
        if dist is not None:
            sub = _subdistrict_index(dist.code).get(_norm(tambon))
        elif not amphoe:
            matches = geothai.match(tambon, province=prov.name_th if prov else None)
            if len(matches) == 1:
                sub, dist = matches[0].subdistrict, matches[0].district
                prov = prov or matches[0].province
        if sub is None:
            place.warnings.append(("tambon", N_("unknown tambon %(name)s"), {"name": tambon}))
    if prov is not None:
        place.province_code, place.province_name = prov.code, prov.name_th
    if dist is not None:
        place.amphoe_code, place.amphoe_name = dist.code, dist.name_th
    if sub is not None:
        place.tambon_code, place.tambon_name = sub.code, sub.name_th
    # Keep what the file said when no code was found, so nothing the clerk wrote is lost.
    place.province_name = place.province_name or province
    place.amphoe_name = place.amphoe_name or amphoe
    place.tambon_name = place.tambon_name or tambon
    return place


def find_province(text: str):
    """The province `text` names: Thai or English name (จังหวัด/จ. prefixes, กทม. and such
    allowed) or DOPA code; None when it names none."""
    cleaned = thai_digits(str(text or "")).strip()
    if not cleaned:
        return None
    if cleaned.isdigit():
        return geothai.province(cleaned) if len(cleaned) == 2 else None
    return _province_index().get(_norm(cleaned))


# A title row names the province after จังหวัด / จ. ("ทะเบียนกล้อง CCTV จังหวัดสมุทรปราการ"),
# or in English before "Province" / after "Changwat". A bare name is not enough: a title
# such as "สภ.เมืองนครราชสีมา" names a police station.
_TITLE_TH = re.compile(r"(?:จังหวัด|จ\.)\s*([ก-๙]+)")
_BANGKOK = ("กรุงเทพมหานคร", "กรุงเทพฯ", "กทม.")


@functools.lru_cache(maxsize=1)
def _title_en():
    names = sorted((p.name_en for p in geothai.provinces()), key=len, reverse=True)
    alternation = "|".join(re.escape(n) for n in names)
    return re.compile(rf"(?i)\b(?:({alternation})\s+province|(?:province\s+of|changwat)\s+"
                      rf"({alternation}))\b")


@functools.lru_cache(maxsize=1)
def _names_th() -> list:
    return sorted(geothai.provinces(), key=lambda p: len(p.name_th), reverse=True)


def provinces_in_title(text: str) -> list:
    """The provinces a title row names, in order (usually none or one)."""
    found = []
    for m in _TITLE_TH.finditer(text):
        word = m.group(1)
        prov = next((p for p in _names_th() if word.startswith(p.name_th)), None)
        if prov is not None:
            found.append(prov)
    if any(b in text for b in _BANGKOK):
        found.append(geothai.province("10"))
    for m in _title_en().finditer(text):
        prov = _province_index().get(_norm(m.group(1) or m.group(2)))
        if prov is not None:
            found.append(prov)
    unique = []
    for prov in found:
        if prov not in unique:
            unique.append(prov)
    return unique


def province_code(text: str) -> str:
    """The DOPA code of the province `text` names, else BadInput in one line."""
    prov = find_province(text)
    if prov is None:
        raise BadInput("%(name)s is not a Thai province: give its name in Thai or English, or"
                       " its DOPA code (for example สมุทรปราการ, Samut Prakan or 11)",
                       name=str(text or "").strip() or '""')
    return prov.code


def province_choices() -> list[tuple[str, str, str]]:
    """(code, Thai name, English name) of every province, in Thai alphabetical order."""
    return sorted(((p.code, p.name_th, p.name_en) for p in geothai.provinces()),
                  key=lambda c: c[1])
