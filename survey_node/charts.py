"""Charts drawn on the server as SVG text: no JS library, work offline and print.

The style follows the quota chart of :mod:`survey_node.selection.chart`; labels arrive
already translated. Each chart carries data-* attributes so tests (and people) can read
the numbers behind a bar.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

WIDTH = 720
LABEL_W = 220
ROW_H = 36
TOP = 40
COLOURS = {"target": "#c9ced6", "selected": "#0b57d0", "surveyed": "#e0a000", "approved": "#1b6e20"}


def _attr(text) -> str:
    return escape(str(text), {'"': "&quot;"})


def _open(height: int, title: str, css: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%"'
            f' role="img" aria-label="{_attr(title)}" class="{css}"'
            ' font-family="Sarabun, sans-serif" font-size="15">', f"<title>{escape(title)}</title>"]


def _short(name: str, n: int = 30) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def progress_svg(rows: list[dict], *, labels: dict[str, str], title: str) -> str:
    """Per group: target (grey), selected (blue), surveyed (amber), approved (green)."""
    scale = max([1] + [max(r["target"], r["selected"]) for r in rows])
    bar_w = WIDTH - LABEL_W - 80
    out = _open(TOP + ROW_H * len(rows) + 16, title, "progress-chart")
    x = LABEL_W
    for key in ("target", "selected", "surveyed", "approved"):
        out.append(f'<rect x="{x}" y="10" width="14" height="14" fill="{COLOURS[key]}"/>'
                   f'<text x="{x + 20}" y="22">{escape(labels[key])}</text>')
        x += 34 + 8 * len(labels[key])
    for i, r in enumerate(rows):
        y = TOP + i * ROW_H
        out.append(f'<g data-code="{_attr(r["code"])}" data-selected="{r["selected"]}"'
                   f' data-surveyed="{r["surveyed"]}" data-approved="{r["approved"]}"'
                   f' data-target="{r["target"]}">')
        out.append(f'<text x="{LABEL_W - 8}" y="{y + 19}" text-anchor="end">'
                   f'{escape(_short(r["name"] or r["code"] or "—"))}</text>')
        for key, dy, h in (("target", 2, 26), ("selected", 5, 7), ("surveyed", 12, 7),
                           ("approved", 19, 7)):
            w = round(bar_w * r[key] / scale, 1)
            out.append(f'<rect x="{LABEL_W}" y="{y + dy}" width="{w}" height="{h}"'
                       f' fill="{COLOURS[key]}"/>')
        out.append(f'<text x="{LABEL_W + bar_w + 6}" y="{y + 19}">'
                   f'{r["approved"]}/{r["target"]}</text></g>')
    out.append("</svg>")
    return "".join(out)


def bars_svg(items: list[tuple], *, title: str, colour: str = "#b00020") -> str:
    """Horizontal bars, one per (label, count[, key]), in the order given."""
    scale = max([1] + [item[1] for item in items])
    bar_w = WIDTH - LABEL_W - 60
    out = _open(12 + ROW_H * max(1, len(items)), title, "bars-chart")
    for i, (label, n, *key) in enumerate(items):
        y = 8 + i * ROW_H
        w = round(bar_w * n / scale, 1)
        out.append(f'<g data-key="{_attr(key[0] if key else label)}" data-count="{n}">'
                   f'<text x="{LABEL_W - 8}" y="{y + 19}" text-anchor="end">{escape(_short(label))}</text>'
                   f'<rect x="{LABEL_W}" y="{y + 4}" width="{w}" height="22" fill="{colour}"/>'
                   f'<text x="{LABEL_W + w + 6}" y="{y + 20}">{n}</text></g>')
    out.append("</svg>")
    return "".join(out)


def columns_svg(items: list[tuple[str, int]], *, title: str, colour: str = "#0b57d0") -> str:
    """Vertical columns over time (surveys per day); every few labels shown so they fit."""
    height, bottom, left = 240, 40, 40
    plot_h = height - bottom - 20
    n = max(1, len(items))
    step = (WIDTH - left - 10) / n
    scale = max([1] + [c for _, c in items])
    out = _open(height, title, "columns-chart")
    out.append(f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 10}" y2="{height - bottom}"'
               ' stroke="#999"/>')
    out.append(f'<text x="{left - 6}" y="{20 + 5}" text-anchor="end" font-size="12">{scale}</text>')
    every = max(1, math.ceil(n / 10))
    for i, (label, count) in enumerate(items):
        h = round(plot_h * count / scale, 1)
        x = round(left + i * step + step * 0.15, 1)
        out.append(f'<g data-label="{_attr(label)}" data-count="{count}">'
                   f'<rect x="{x}" y="{height - bottom - h}" width="{round(step * 0.7, 1)}"'
                   f' height="{h}" fill="{colour}"><title>{escape(label)}: {count}</title></rect>')
        if i % every == 0:
            out.append(f'<text x="{round(x + step * 0.35, 1)}" y="{height - bottom + 18}"'
                       f' text-anchor="middle" font-size="12">{escape(label)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def share_svg(share: float | None, *, title: str, caption: str) -> str:
    """A ring showing one share (working streams), with the percentage in the middle."""
    pct = 0.0 if share is None else max(0.0, min(1.0, share))
    r, c = 60, 2 * math.pi * 60
    text = "—" if share is None else f"{pct * 100:.0f}%"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 170" width="200"'
            f' role="img" aria-label="{_attr(title)}" class="share-chart"'
            f' data-share="{"" if share is None else round(pct, 4)}"'
            ' font-family="Sarabun, sans-serif"><title>' + escape(title) + '</title>'
            f'<circle cx="100" cy="75" r="{r}" fill="none" stroke="#e3e6ea" stroke-width="18"/>'
            f'<circle cx="100" cy="75" r="{r}" fill="none" stroke="#1b6e20" stroke-width="18"'
            f' stroke-dasharray="{round(c * pct, 2)} {round(c, 2)}" transform="rotate(-90 100 75)"/>'
            f'<text x="100" y="84" text-anchor="middle" font-size="28" font-weight="700">{text}</text>'
            f'<text x="100" y="160" text-anchor="middle" font-size="14">{escape(caption)}</text></svg>')


def mini_map_svg(registered: tuple | None, surveyed: tuple | None, eph: float | None, *,
                 labels: dict[str, str], size: int = 260) -> str:
    """A small offline map for the printed sheet: both positions, the accuracy circle, a scale.

    A local flat projection (metres east/north of the midpoint) is exact enough at the
    few hundred metres a sheet shows.
    """
    points = [p for p in (registered, surveyed) if p and p[0] is not None]
    if not points:
        return ""
    lat0 = sum(p[0] for p in points) / len(points)
    lon0 = sum(p[1] for p in points) / len(points)
    k = 111_320.0

    def xy(p):
        return ((p[1] - lon0) * k * math.cos(math.radians(lat0)), (p[0] - lat0) * k)

    spread = max([30.0, (eph or 0) * 1.2] + [max(abs(a), abs(b)) * 1.3 for a, b in map(xy, points)])
    scale = (size / 2 - 20) / spread  # px per metre

    def px(p):
        x, y = xy(p)
        return round(size / 2 + x * scale, 1), round(size / 2 - y * scale, 1)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{size}"'
           f' height="{size}" class="mini-map" font-family="Sarabun, sans-serif" font-size="11">',
           f'<rect width="{size}" height="{size}" fill="#f3f5f8" stroke="#999"/>']
    if surveyed and surveyed[0] is not None and eph:
        x, y = px(surveyed)
        out.append(f'<circle cx="{x}" cy="{y}" r="{round(eph * scale, 1)}" fill="#b00020"'
                   ' fill-opacity="0.12" stroke="#b00020" class="accuracy"/>')
    if registered and surveyed and registered[0] is not None and surveyed[0] is not None:
        (x1, y1), (x2, y2) = px(registered), px(surveyed)
        out.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#555"'
                   ' stroke-dasharray="4 4"/>')
    for p, colour, key in ((registered, "#0b57d0", "registered"), (surveyed, "#b00020", "surveyed")):
        if p and p[0] is not None:
            x, y = px(p)
            out.append(f'<circle cx="{x}" cy="{y}" r="6" fill="{colour}" class="{key}"/>'
                       f'<text x="{x + 9}" y="{y + 4}">{escape(labels[key])}</text>')
    bar_m = _nice(spread / 2)
    bar_px = round(bar_m * scale, 1)
    out.append(f'<line x1="10" y1="{size - 12}" x2="{10 + bar_px}" y2="{size - 12}" stroke="#111"'
               f' stroke-width="3"/><text x="10" y="{size - 18}">{bar_m:g} m</text>'
               f'<text x="{size - 14}" y="18" text-anchor="middle" font-weight="700">N</text>'
               f'<path d="M{size - 14} 22 l-5 12 h10 z" fill="#111"/></svg>')
    return "".join(out)


def _nice(value: float) -> float:
    """1, 2 or 5 times a power of ten, not above `value`."""
    power = 10 ** math.floor(math.log10(max(value, 1e-9)))
    for m in (5, 2, 1):
        if m * power <= value:
            return m * power
    return power
