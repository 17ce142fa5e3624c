"""`make bench`: run every tests/bench/bench_*.py module's main(); exit 1 if any bar failed."""

import importlib
import pkgutil
import sys
from pathlib import Path


def run() -> int:
    failed = 0
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if info.name.startswith("bench_"):
            print(f"== {info.name}", flush=True)
            failed += bool(importlib.import_module(f"tests.bench.{info.name}").main())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run())
