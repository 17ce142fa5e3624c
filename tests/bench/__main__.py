"""`make bench`: run every tests/bench/bench_*.py module's main(); each prints its ratios."""

import importlib
import pkgutil
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parents[1]))
only = sys.argv[1:]
for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
    if info.name.startswith("bench_") and (not only or info.name in only):
        importlib.import_module(f"tests.bench.{info.name}").main()
