"""Write the @font-face rules for the self-hosted Sarabun font (Thai + Latin, 400 + 700).

The unicode ranges let the browser fetch only the subset a page uses.
"""

import sys
from pathlib import Path

RANGES = {
    "thai": "U+02D7, U+0303, U+0331, U+0E01-0E5B, U+200C-200D, U+25CC",
    "latin": "U+0000-00FF, U+0131, U+0152-0153, U+02BB-02BC, U+02C6, U+02DA, U+02DC, "
             "U+0304, U+0308, U+0329, U+2000-206F, U+20AC, U+2122, U+2191, U+2193, "
             "U+2212, U+2215, U+FEFF, U+FFFD",
}


def main(folder: str) -> None:
    files = Path(folder) / "files"
    for subset, urange in RANGES.items():
        for weight in (400, 700):
            name = f"sarabun-{subset}-{weight}-normal.woff2"
            if not (files / name).exists():
                sys.exit(f"missing font file {files / name}")
            print("@font-face {\n  font-family: 'Sarabun';\n  font-style: normal;\n"
                  f"  font-weight: {weight};\n  font-display: swap;\n"
                  f"  src: url('files/{name}') format('woff2');\n"
                  f"  unicode-range: {urange};\n}}")


if __name__ == "__main__":
    main(sys.argv[1])
