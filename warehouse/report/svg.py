"""SVG primitives for the report's charts: shapes, labels laid out without a font, axes, legends.

Each function returns markup (a string, or a list of strings for a group); nothing here knows the
report's data. A data point is a ``<rect>`` made by :func:`rect`: the only element that carries
``data-value`` (and other ``data-*`` attributes), with a ``<title>`` tooltip. Numbers in
attributes are rounded (:func:`num`), text is escaped (:func:`esc`). Labels are laid out with an
upper estimate of their width (:func:`text_width`) so that none passes its chart's edge; a
shortened label (:func:`fit`, :func:`short_label`) keeps the full text in a ``<title>``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#999999",
    "#000000",
)
#: A chart's width, and the font size its labels are laid out for (the page's CSS says 11px).
WIDTH = 760
FONT = 11


def esc(value: object) -> str:
    """``value`` as text for markup: ``&``, ``<``, ``>`` and quotes escaped."""
    return html.escape(str(value), quote=True)


def num(value: float) -> str:
    """A number for an attribute: integers without a decimal point, others to 4 places."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def fmt(value: float) -> str:
    """A number for a label: integers as such, others to 2 places."""
    return num(round(value, 2)) if not float(value).is_integer() else str(int(value))


def _attrs(attrs: dict[str, object]) -> str:
    return "".join(
        f' {k.replace("_", "-")}="{esc(num(v) if isinstance(v, float) else v)}"'
        for k, v in attrs.items()
        if v is not None
    )


def rect(x: float, y: float, w: float, h: float, fill: str, tip: str, **data: object) -> str:
    """One data point: ``data`` becomes ``data-*`` attributes (``value`` is required)."""
    assert "value" in data
    attrs: dict[str, object] = {"x": round(x, 2), "y": round(y, 2), "width": round(max(w, 0.0), 2)}
    attrs |= {"height": round(max(h, 0.0), 2), "fill": fill}
    attrs |= {f"data-{k}": v for k, v in data.items()}
    return f"<rect{_attrs(attrs)}><title>{esc(tip)}</title></rect>"


def text(
    x: float, y: float, content: object, anchor: str = "start", cls: str = "", title: str = ""
) -> str:
    """A label; ``title`` (a tooltip: the full text of a shortened label) when given."""
    c = f' class="{cls}"' if cls else ""
    tip = f"<title>{esc(title)}</title>" if title else ""
    return (
        f'<text x="{num(round(x, 2))}" y="{num(round(y, 2))}" '
        f'text-anchor="{anchor}"{c}>{tip}{esc(content)}</text>'
    )


#: Rough advance widths in em of a sans-serif font (DejaVu Sans, the widest common one).
_NARROW, _WIDE = set("fijlrtI.,:;'!|()[] -"), set("mwMW@%")


def text_width(text: str, size: float = FONT) -> float:
    """An upper estimate of the width of ``text`` in pixels, to lay out labels without a font."""
    em = 0.0
    for ch in text:
        if ch in _NARROW:
            em += 0.36
        elif ch in _WIDE:
            em += 0.92
        elif ch.isdigit():
            em += 0.64
        elif ch.isupper():
            em += 0.72
        else:
            em += 0.64
    return em * size


def fit(text: str, width: float) -> str:
    """``text``, cut at a word (else anywhere) and ended with "…" to be at most ``width`` wide."""
    if text_width(text) <= width:
        return text
    cut = text
    while cut and text_width(cut + "…") > width:
        cut = cut[:-1]
    words = cut.rsplit(" ", 1)[0] if " " in cut.strip() else cut
    if len(words) >= len(cut) / 2:
        cut = words
    return cut.rstrip(" ,;:-") + "…"


def _abbreviation(name: str, aliases: Iterable[str]) -> str | None:
    """An all-capitals alias spelled from the name's capitals in order ("UNOCT" for "UN Office
    of Counter-Terrorism", "RATS" for "SCO Regional Anti-Terrorist Structure"), else None."""
    capitals = "".join(c for c in name if "A" <= c <= "Z")
    found = []
    for alias in aliases:
        letters = alias.replace(" ", "")
        if alias == name or not (2 <= len(letters) <= 8) or not letters.isascii():
            continue
        if not (letters.isalpha() and letters.isupper()):
            continue
        rest = iter(capitals)
        if all(c in rest for c in letters):  # a subsequence of the capitals
            found.append(alias)
    return min(found, key=lambda a: (" " in a, len(a), a)) if found else None


def short_label(name: str, aliases: Iterable[str], width: float) -> str:
    """``name`` when it fits in ``width``, else its abbreviation, else ``name`` shortened."""
    if text_width(name) <= width:
        return name
    abbr = _abbreviation(name, aliases)
    return abbr if abbr and text_width(abbr) <= width else fit(name, width)


def line(x1: float, y1: float, x2: float, y2: float, cls: str = "axis") -> str:
    """A straight line: an axis, a tick or (``cls="grid"``) a grid line."""
    return (
        f'<path class="{cls}" d="M{num(round(x1, 2))} {num(round(y1, 2))} '
        f'L{num(round(x2, 2))} {num(round(y2, 2))}"></path>'
    )


def chart(name: str, width: float, height: float, label: str, body: Iterable[str]) -> str:
    """The ``<svg class="chart" data-chart="NAME">`` element around ``body``."""
    return (
        f'<svg class="chart" data-chart="{name}" width="{num(round(width))}" '
        f'height="{num(round(height))}" viewBox="0 0 {num(round(width))} '
        f'{num(round(height))}" role="img" aria-label="{esc(label)}">' + "".join(body) + "</svg>"
    )


def ticks(maximum: float, count: int = 4) -> list[float]:
    """Round axis ticks from 0 to at least ``maximum``."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    return [i * step for i in range(int(math.ceil(maximum / step - 1e-9)) + 1)]


def legend(items: Sequence[tuple[str, str]], x: float, y: float, width: float) -> list[str]:
    """A swatch and a label per (label, colour), in rows that wrap at ``width``."""
    out: list[str] = []
    cx, cy = x, y
    for label, color in items:
        w = 18 + len(label) * FONT * 0.6 + 14
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 16
        out.append(
            f'<path class="swatch" d="M{num(round(cx, 2))} {cy - 9}h10v10h-10z" '
            f'fill="{color}"></path>'
        )
        out.append(text(cx + 14, cy, label))
        cx += w
    return out


def blend(a: str, b: str, t: float) -> str:
    """The colour at ``t`` (0 to 1) between ``#rrggbb`` colours ``a`` and ``b``, never quite
    ``a`` (a shaded cell stays apart from an empty one)."""
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    t = 0.15 + 0.85 * max(0.0, min(1.0, t))
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


def hbars(
    name: str,
    label: str,
    rows: Sequence[tuple[str, float, str, dict[str, object]]],
    maximum: float,
    color: str,
) -> str:
    """Horizontal bars: (label, value, text after the bar, extra data attributes)."""
    label_w, row_h = 150, 22
    bar_max = WIDTH - label_w - 150
    out: list[str] = []
    for i, (row_label, value, after, extra) in enumerate(rows):
        y = 6 + i * row_h
        out.append(text(label_w - 6, y + 15, row_label, "end"))
        w = bar_max * value / maximum if maximum else 0.0
        out.append(
            rect(label_w, y + 3, w, row_h - 6, color, f"{row_label}: {after}", value=value, **extra)
        )
        out.append(text(label_w + w + 6, y + 15, after))
    out.append(line(label_w, 2, label_w, 8 + len(rows) * row_h))
    return chart(name, WIDTH, 12 + len(rows) * row_h, label, out)
