"""The quota as a bar chart, drawn here as SVG text (no JS library, works offline, prints).

Per group: a grey bar for the target, blue for selected, green for approved, on one scale;
a group short of its target gets a red mark. Labels arrive already translated.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

WIDTH = 720
LABEL_W = 200
ROW_H = 36
TOP = 40


def quota_svg(rows: list[dict], *, labels: dict[str, str], title: str) -> str:
    """`labels`: target, selected, approved, shortfall (translated)."""
    scale_max = max([1] + [max(r["target"], r["selected"]) for r in rows])
    bar_w = WIDTH - LABEL_W - 60
    height = TOP + ROW_H * len(rows) + 16
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}"'
           f' width="100%" role="img" aria-label="{escape(title, {chr(34): "&quot;"})}"'
           ' class="quota-chart" font-family="Sarabun, sans-serif" font-size="15">',
           f"<title>{escape(title)}</title>"]
    legend = (("target", "#c9ced6"), ("selected", "#0b57d0"), ("approved", "#1b6e20"))
    x = LABEL_W
    for key, colour in legend:
        out.append(f'<rect x="{x}" y="10" width="14" height="14" fill="{colour}"/>'
                   f'<text x="{x + 20}" y="22">{escape(labels[key])}</text>')
        x += 30 + 8 * len(labels[key])
    for i, r in enumerate(rows):
        y = TOP + i * ROW_H
        name = r["name"] or r["code"] or "—"
        if len(name) > 28:
            name = name[:27] + "…"
        short = r["shortfall"] > 0
        flag = ' data-short="1"' if short else ""
        out.append(f'<g data-code="{escape(str(r["code"]), {chr(34): "&quot;"})}"{flag}>')
        out.append(f'<text x="{LABEL_W - 8}" y="{y + 19}" text-anchor="end">{escape(name)}</text>')
        for value, colour, dy, h in ((r["target"], "#c9ced6", 2, 26), (r["selected"], "#0b57d0", 6, 10),
                                     (r["approved"], "#1b6e20", 18, 8)):
            w = round(bar_w * value / scale_max, 1)
            out.append(f'<rect x="{LABEL_W}" y="{y + dy}" width="{w}" height="{h}" fill="{colour}"/>')
        text = f'{r["selected"]}/{r["target"]}'
        colour = "#b00020" if short else "#111"
        out.append(f'<text x="{LABEL_W + bar_w + 6}" y="{y + 19}" fill="{colour}">{escape(text)}'
                   f'{" ⚠" if short else ""}</text>')
        if short:
            out.append(f'<title>{escape(labels["shortfall"])}: {r["shortfall"]}</title>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
