"""Registry import of a 100,000-row xlsx vs a bare python-calamine read of the same file.

Import = importing the importer, sniff, header detection, mapping, per-row normalisation
(coordinates, DOPA codes, stable ids) and the all-or-nothing write into a node database
that has no cameras yet (created beforehand, as `survey-node init` does, and not timed);
then a re-import of the same file (all unchanged). Baseline = open the workbook with calamine and
iterate every row. Each measurement runs in a fresh child interpreter (best of RUNS), which
also reports its peak RSS (its own plus its reader process's). Targets
(issue 3): import <= 3x the baseline, peak < 300 MB.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROWS = 100_000
RUNS = 5
TARGET_RATIO = 3.0
TARGET_MB = 300

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    from pathlib import Path
    mode, xlsx, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if mode == "init":  # a node's database exists before any import (survey-node init)
        from survey_node import db as database
        database.connect(work / "survey.db").conn.close()
        print("{}")
        sys.exit(0)
    start = time.perf_counter()
    if mode == "read":
        import python_calamine
        book = python_calamine.CalamineWorkbook.from_path(str(xlsx))
        rows = sum(1 for _ in book.get_sheet_by_index(0).iter_rows())
        extra = {"rows": rows}
    else:
        from survey_node import db as database
        from survey_node.inventory.importer import ImportOptions, run_import
        db = database.connect(work / "survey.db")
        # Phase boundaries from the progress messages: the first "Reading rows" comes once
        # the sheet is loaded and a first batch read, "Writing the cameras" when every row
        # has been written and the import is being finished.
        marks = {}
        def progress(fraction, message):
            marks.setdefault(message, time.perf_counter() - start)
        report = run_import(db, xlsx, ImportOptions(default_province="30"), work_dir=work,
                            progress=progress)
        extra = dict(report["cameras"])
        extra["phases"] = [marks["Reading rows"], marks["Writing the cameras"]]
    elapsed = time.perf_counter() - start
    # The importer reads big files in a child process: the two peaks are added up (an upper
    # bound of what both held at once).
    peak = sum(resource.getrusage(who).ru_maxrss
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    print(json.dumps({"s": elapsed, "mb": peak, **extra}))
""")


def make_file(path: Path, rows: int = ROWS) -> None:
    from openpyxl import Workbook

    from tests.registry_files import REAL_HEADER, TITLE_ROWS

    rng = random.Random(3)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("กล้อง")
    for r in [*TITLE_ROWS, [*REAL_HEADER, "อำเภอ", "ตำบล"]]:
        ws.append(r)
    amphoes = [("เมืองนครราชสีมา", "ในเมือง"), ("ปากช่อง", "หมูสี"), ("อ.เมือง", "ต.โพธิ์กลาง")]
    for i in range(rows):
        amphoe, tambon = amphoes[i % 3]
        ws.append([i + 1, rng.choice(("ใช้งานได้", "ชำรุด")), f"จุดติดตั้งที่ {i}",
                   f"ถนนสายที่ {i % 331}", rng.choice(("ทางแยก", "ชุมชน", "ตลาด")),
                   round(14.5 + rng.random() * 0.8, 6), round(101.5 + rng.random() * 1.0, 6),
                   f"สภ.ที่ {i % 40}", amphoe, tambon])
    wb.save(path)


def child(mode: str, xlsx: Path, work: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(xlsx), str(work)],
                         capture_output=True, text=True, timeout=900, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        root = Path(tmp)
        xlsx = root / "registry.xlsx"
        make_file(xlsx)
        print(f"   file: {ROWS} rows, {xlsx.stat().st_size / 1e6:.1f} MB xlsx", flush=True)
        # Reads and imports take turns, so a machine that slows down or speeds up during
        # the run weighs on both sides alike.
        reads, imports, reimports = [], [], []
        for run in range(RUNS):
            reads.append(child("read", xlsx, root))
            work = root / f"node{run}"
            work.mkdir()
            child("init", xlsx, work)
            imports.append(child("import", xlsx, work))
            reimports.append(child("import", xlsx, work))
        read = min(reads, key=lambda r: r["s"])
        first = min(imports, key=lambda r: r["s"])
        again = min(reimports, key=lambda r: r["s"])
        assert first["new"] == ROWS and again["unchanged"] == ROWS, (first, again)
    peak = max(r["mb"] for r in imports + reimports)
    ratio, ratio_again = first["s"] / read["s"], again["s"] / read["s"]
    print(f"   calamine read     {read['s']:6.2f} s  peak {read['mb']:5.0f} MB  (baseline)")
    print(f"   import (new)      {first['s']:6.2f} s  peak {first['mb']:5.0f} MB  ratio {ratio:.2f}")
    print(f"   re-import (same)  {again['s']:6.2f} s  peak {again['mb']:5.0f} MB  ratio {ratio_again:.2f}")
    for name, r in (("import", first), ("re-import", again)):
        opened, merging = r["phases"]
        print(f"     {name:10s} phases: start + sheet load + first batch {opened:.2f} s, rows read"
              f" + normalised + written {merging - opened:.2f} s, finish {r['s'] - merging:.2f} s")
    ok_time = ratio <= TARGET_RATIO
    ok_mem = peak < TARGET_MB
    print(f"   target ratio <= {TARGET_RATIO}: {'met' if ok_time else 'NOT met'};"
          f" peak < {TARGET_MB} MB: {'met' if ok_mem else 'NOT met'}", flush=True)
    if not (ok_time and ok_mem):
        raise AssertionError(f"import bars not met: ratio {ratio:.2f} (<= {TARGET_RATIO}),"
                             f" peak {peak:.0f} MB (< {TARGET_MB})")
