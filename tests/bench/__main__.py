"""`make bench`: run every tests/bench/bench_*.py module's main(); exit 1 if any bar failed.

`python -m tests.bench NAME` runs only the modules whose name contains NAME. A main() that
returns something true (or raises) counts as a failed bar.
"""

import importlib
import pkgutil
import sys
from pathlib import Path


def run(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here.parents[1]))
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    failed = 0
    for name in names:
        print(f"== {name}", flush=True)
        try:
            failed += bool(importlib.import_module(f"tests.bench.{name}").main())
        except Exception as exc:  # noqa: BLE001 - report and go on to the next benchmark
            failed += 1
            print(f"   FAILED: {type(exc).__name__}: {exc}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
