"""Which province a registry file is about, when the node has none set.

A clerk writes "อ.เมือง" because the file is about one province; every province has a
Mueang district, so the name alone says nothing. When the node's province is not set, the
file itself may say it: a title row above the header ("ทะเบียนกล้อง CCTV จังหวัดสมุทรปราการ"),
and the amphoe (or province) cells that name only one province. When all of these agree on
one province, rows without a province (อ.เมือง, or no place at all) are read as in it, just
as if the node's province were set; when they name several, nothing is guessed and the
report says which. Either way the report carries one line saying what was done and why.

Rows that wait for the decision are kept in a spooled temporary file (memory stays bounded
however many there are) and read again once the whole file has been seen.
"""

from __future__ import annotations

import marshal
import tempfile
from typing import Iterator

from . import places
from .text import N_

SPOOL_BYTES = 16 << 20  # held rows beyond this go to a temporary file on disk
HOLD_CHUNK = 2000

INFERRED_FROM_AMPHOE = N_(
    "Province %(province)s inferred from the place columns: every amphoe the file names that"
    " lies in one province lies in it (%(rows)s rows); %(held)s rows without a province, such"
    " as อ.เมือง, were read as in it")
INFERRED_FROM_TITLE = N_(
    "Province %(province)s inferred from title row %(row)s (%(title)s); rows without a"
    " province, such as อ.เมือง, were read as in it")
INFERRED_FROM_BOTH = N_(
    "Province %(province)s inferred from title row %(row)s and the place columns (%(rows)s"
    " rows); %(held)s rows without a province, such as อ.เมือง, were read as in it")
CONFLICT = N_(
    "No province inferred: the file names several provinces (%(provinces)s, first on rows"
    " %(rows)s); set the node's province or add a province column")
NOT_KNOWN = N_(
    "No province set and none named in the file: %(count)s rows name an amphoe such as"
    " อ.เมือง that several provinces have; set the node's province (survey-node init"
    " --province, or the settings page)")
TITLE_CHARS = 80


def _label(prov) -> str:
    return f"{prov.name_th} ({prov.code})"


def _note(message: str, **params) -> dict:
    return {"message": message, "params": params, "reason": message % params}


class ProvinceInference:
    """Collects the evidence while rows stream and holds the rows that need the answer.

    `code` is the province to read rows with from the start (the node's, or the title's
    when the file has no place columns to contradict it); `deferring` says whether rows
    without a province must wait for :meth:`decide`."""

    def __init__(self, layout, default_province: str = ""):
        self.code = default_province
        self.notes: list[dict] = []
        self.titles = [(row, prov, text) for row, text in layout.titles
                       for prov in places.provinces_in_title(text)]
        place_columns = any(f in layout.mapping for f in ("province", "amphoe", "tambon"))
        self.deferring = not self.code and place_columns
        self.by_code: dict[str, list[int]] = {}  # code -> [rows, first row]
        self.held = 0
        self.ambiguous = 0
        self._pending: list[tuple] = []
        self._spool = None
        if not self.code and not place_columns and self.titles:
            # Nothing in the rows can contradict the title: use it from the first row.
            self.code = self._from_titles_only()

    def _from_titles_only(self) -> str:
        codes = {prov.code for _, prov, _ in self.titles}
        if len(codes) > 1:
            self.notes.append(self._conflict())
            return ""
        row, prov, text = self.titles[0]
        self.notes.append(_note(INFERRED_FROM_TITLE, province=_label(prov), row=row,
                                title=text[:TITLE_CHARS]))
        return prov.code

    # -- while rows stream --------------------------------------------------------------
    def evidence(self, code: str, row_no: int) -> None:
        found = self.by_code.get(code)
        if found is None:
            self.by_code[code] = [1, row_no]
        else:
            found[0] += 1

    def hold(self, row_no: int, texts: tuple, raw: str, ambiguous: bool) -> None:
        self.held += 1
        self.ambiguous += ambiguous
        self._pending.append((row_no, texts, raw))
        if len(self._pending) >= HOLD_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._spool is None:
            self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        marshal.dump(self._pending, self._spool)
        self._pending = []

    # -- once every row has been seen ------------------------------------------------------
    def decide(self) -> str:
        """The province the held rows are read with ("" when none), and the report's note."""
        if not self.held:
            return ""
        codes = set(self.by_code) | {prov.code for _, prov, _ in self.titles}
        if len(codes) > 1:
            self.notes.append(self._conflict())
            return ""
        if not codes:
            if self.ambiguous:
                self.notes.append(_note(NOT_KNOWN, count=self.ambiguous))
            return ""
        (code,) = codes
        rows = self.by_code.get(code, [0])[0]
        prov = places.find_province(code)
        if self.titles and rows:
            row, _, _ = self.titles[0]
            self.notes.append(_note(INFERRED_FROM_BOTH, province=_label(prov), row=row,
                                    rows=rows, held=self.held))
        elif self.titles:
            row, _, text = self.titles[0]
            self.notes.append(_note(INFERRED_FROM_TITLE, province=_label(prov), row=row,
                                    title=text[:TITLE_CHARS]))
        else:
            self.notes.append(_note(INFERRED_FROM_AMPHOE, province=_label(prov), rows=rows,
                                    held=self.held))
        return code

    def _conflict(self) -> dict:
        first: dict[str, int] = {}
        for row, prov, _ in self.titles:
            first.setdefault(prov.code, row)
        for code, (_, row) in self.by_code.items():
            first[code] = min(row, first.get(code, row))
        ordered = sorted(first.items(), key=lambda kv: kv[1])
        names = ", ".join(places.find_province(c).name_th for c, _ in ordered)
        return _note(CONFLICT, provinces=names, rows=", ".join(str(r) for _, r in ordered))

    def deferred(self) -> Iterator[tuple[list, list, list]]:
        """The held rows in file order, a chunk at a time: (row numbers, texts, raws)."""
        self._flush()
        if self._spool is None:
            return
        self._spool.seek(0)
        while True:
            try:
                chunk = marshal.load(self._spool)
            except EOFError:
                break
            yield [c[0] for c in chunk], [c[1] for c in chunk], [c[2] for c in chunk]

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
