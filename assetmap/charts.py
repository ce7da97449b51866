"""Inline SVG charts and small area maps for the printed HTML report.

Pure functions returning SVG text: no script, no external resource and no ``id`` (several
charts share one page); every text from data is escaped and the same input gives the same
bytes. Each has a ``viewBox``, so CSS ``width: 100%`` scales it to the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from html import escape

import numpy as np
import shapely

from assetmap.errors import AssetmapError

_BAR, _MARKED, _GREY, _INK = "#9ecae1", "#08519c", "#777777", "#333333"
_CHAR = 6.2  # average width in px of one character at 11 px, to cut labels to fit
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_SCALE_KM = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


def _esc(text) -> str:
    return escape(str(text), quote=True)


def _values(labels: Sequence[str], values: Sequence[float]) -> list[float | None]:
    """``values`` as floats, None where missing (None, NaN, infinite, not a number)."""
    if len(labels) != len(values):
        raise AssetmapError(f"chart: {len(labels)} labels but {len(values)} values")
    out = []
    for value in values:
        try:
            out.append(float(value) if math.isfinite(float(value)) else None)
        except (TypeError, ValueError):
            out.append(None)
    return out


def _nice(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at least ``value`` (1 if none)."""
    if not value > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= value * (1 - 1e-9))


def _tick(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _fit(label, width_px: float) -> str:
    """Text content: ``label`` cut to ``width_px`` with an ellipsis, whole in a tooltip."""
    label, room = str(label), max(int(width_px / _CHAR), 2)
    if len(label) <= room:
        return _esc(label)
    return f"<title>{_esc(label)}</title>{_esc(label[:room - 1].rstrip())}…"


def _svg(width: float, height: float, title: str, body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
            f'role="img" aria-label="{_esc(title)}" font-family="sans-serif" font-size="11" '
            f'fill="{_INK}"><title>{_esc(title)}</title>{body}</svg>')


def _heading(title: str) -> str:
    return f'<text x="0" y="14" font-size="12" font-weight="bold">{_esc(title)}</text>'


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, unit: str = "",
              marked: Sequence[bool] | None = None, reference: float | None = None,
              reference_label: str = "", limit: float | None = None, width: int = 640) -> str:
    """Horizontal bars, one row per label in the order given; ``marked`` bars darker,
    missing values written "suppressed" without a bar, ``reference`` a dashed line and
    ``limit`` the axis maximum (default: the largest value rounded up to a nice number)."""
    shown = _values(labels, values)
    marked = list(marked) if marked is not None else [False] * len(shown)
    if len(marked) != len(shown):
        raise AssetmapError(f"bar_chart: {len(shown)} values but {len(marked)} marks")
    ref = _values([reference], [reference])[0] if reference is not None else None
    top = float(limit) if limit and limit > 0 else _nice(max(
        [v for v in [*shown, ref] if v is not None], default=0))
    row, head, left, right = 19, 40, round(width * 0.3), 76
    plot, bottom = width - left - right, head + row * len(shown)

    def x(value: float) -> float:
        return left + plot * min(max(value, 0.0), top) / top

    parts = [_heading(title)]
    for i, (label, value, strong) in enumerate(zip(labels, shown, marked, strict=True)):
        y = head + i * row + 13
        parts.append(f'<text x="{left - 6}" y="{y}" text-anchor="end">{_fit(label, left - 8)}'
                     "</text>")
        if value is None:
            parts.append(f'<text x="{left + 4}" y="{y}" fill="{_GREY}" font-style="italic">'
                         "suppressed</text>")
            continue
        colour = _MARKED if strong else _BAR
        parts.append(f'<rect x="{left}" y="{y - 10}" width="{x(value) - left:.1f}" '
                     f'height="{row - 5}" fill="{colour}"/>'
                     f'<text x="{x(value) + 4:.1f}" y="{y}">{_esc(f"{value:,.1f}{unit}")}</text>')
    parts.append(f'<path d="M{left},{bottom + 2}h{plot}" stroke="{_GREY}"/>')
    for share in (0, 0.5, 1):
        parts.append(f'<text x="{left + plot * share:.1f}" y="{bottom + 15}" font-size="10" '
                     f'text-anchor="middle" fill="{_GREY}">{_esc(_tick(top * share))}</text>')
    if ref is not None:
        anchor = "end" if x(ref) > left + plot * 0.7 else "start"
        parts.append(f'<path d="M{x(ref):.1f},{head - 4}V{bottom + 2}" stroke="#000000" '
                     f'stroke-dasharray="4 3" class="reference"/>'
                     f'<text x="{x(ref):.1f}" y="{head - 7}" font-size="10" text-anchor="'
                     f'{anchor}">{_esc(reference_label)}</text>')
    return _svg(width, bottom + 24, title, "".join(parts))


def _wrapped(label, x: float, y: float, width_px: float) -> str:
    """``label`` centred on ``x`` in up to two lines, cut with an ellipsis to fit."""
    text, room = str(label), max(int(width_px / _CHAR), 2)
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + len(word) < room:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    cut = len(lines) > 2 or any(len(line) > room for line in lines)
    lines = lines[:2]
    if cut:
        lines[-1] = lines[-1][:room - 1].rstrip() + "…"
        lines[:-1] = [line[:room - 1] + "…" if len(line) > room else line for line in lines[:-1]]
    spans = "".join(f'<tspan x="{x:.1f}" dy="{12 if i else 0}">{_esc(line)}</tspan>'
                    for i, line in enumerate(lines))
    tip = f"<title>{_esc(text)}</title>" if cut else ""
    return f'<text x="{x:.1f}" y="{y}" text-anchor="middle" font-size="10">{tip}{spans}</text>'


def column_chart(labels: Sequence[str], values: Sequence[float], *, title: str, unit: str = "",
                 width: int = 640, height: int = 240) -> str:
    """Vertical columns over a short ordered category axis, values above the columns and
    missing values shown as a gap marked "n/a"."""
    shown = _values(labels, values)
    top = _nice(max([v for v in shown if v is not None], default=0))
    base, side = height - 30, 8
    pitch, plot = (width - 2 * side) / max(len(shown), 1), base - 36
    parts = [_heading(title)]
    for i, (label, value) in enumerate(zip(labels, shown, strict=True)):
        centre = side + pitch * (i + 0.5)
        parts.append(_wrapped(label, centre, base + 13, pitch - 2))
        if value is None:
            parts.append(f'<text x="{centre:.1f}" y="{base - 4}" text-anchor="middle" '
                         f'fill="{_GREY}" font-style="italic">n/a</text>')
            continue
        tall = plot * min(max(value, 0.0), top) / top
        parts.append(f'<rect x="{centre - pitch * 0.35:.1f}" y="{base - tall:.1f}" '
                     f'width="{pitch * 0.7:.1f}" height="{tall:.1f}" fill="{_BAR}"/>'
                     f'<text x="{centre:.1f}" y="{base - tall - 4:.1f}" text-anchor="middle" '
                     f'font-size="10">{_esc(f"{value:,.1f}{unit}")}</text>')
    parts.append(f'<path d="M{side},{base}h{width - 2 * side}" stroke="{_GREY}"/>')
    return _svg(width, height, title, "".join(parts))


def _path(geometries, origin: tuple[float, float], scale: float) -> str:
    """SVG path data for every polygon ring of ``geometries``, in view pixels (y down)."""
    parts = shapely.get_parts(np.asarray(geometries, dtype=object).ravel())
    rings = shapely.get_rings(parts[shapely.get_type_id(parts) == 3])
    rings = rings[shapely.get_num_coordinates(rings) >= 4]
    counts = shapely.get_num_coordinates(rings)
    xy = shapely.get_coordinates(rings)
    pairs = np.char.add(np.char.add(np.char.mod("%.1f", (xy[:, 0] - origin[0]) * scale), ","),
                        np.char.mod("%.1f", (origin[1] - xy[:, 1]) * scale))
    ends = np.cumsum(counts)
    return "".join(f"M{' '.join(pairs[end - count:end - 1])}Z"
                   for end, count in zip(ends.tolist(), counts.tolist(), strict=True))


def area_map(area, *, context=None, points=(), size: int = 260, title: str = "") -> str:
    """A north-up map of one area (British National Grid metres): neighbouring ``context``
    polygons pale grey, ``points`` as ``(xs, ys, colour, label)`` circles with a legend
    below, a scale bar bottom left. Colours other than ``#rgb``/``#rrggbb`` draw grey."""
    if area is None or shapely.is_empty(area):
        raise AssetmapError("area_map: the area has no geometry")
    minx, miny, maxx, maxy = shapely.bounds(area).tolist()
    side = max(maxx - minx, maxy - miny, 1.0) * 1.1
    x0, y1 = (minx + maxx - side) / 2, (miny + maxy + side) / 2
    scale, tolerance, origin = size / side, side / 500, (x0, y1)
    body = []
    if context is not None and len(context):
        near = shapely.clip_by_rect(shapely.simplify(np.asarray(context, dtype=object),
                                                     tolerance),
                                    x0 - side * 0.01, y1 - side * 1.01, x0 + side * 1.01,
                                    y1 + side * 0.01)
        if data := _path(near, origin, scale):
            body.append(f'<path d="{data}" fill="#f0f0f0" stroke="#bdbdbd" stroke-width="0.6" '
                        'fill-rule="evenodd"/>')
    body.append(f'<path d="{_path(shapely.simplify(area, tolerance), origin, scale)}" '
                'fill="#c6dbef" fill-opacity="0.6" stroke="#08306b" stroke-width="1.5" '
                'fill-rule="evenodd" class="area"/>')
    legend = []
    for xs, ys, colour, label in points:
        colour = colour if isinstance(colour, str) and _HEX.fullmatch(colour) else _GREY
        px = (np.asarray(xs, dtype=float) - x0) * scale
        py = (y1 - np.asarray(ys, dtype=float)) * scale
        inside = (px >= 0) & (px <= size) & (py >= 0) & (py <= size)
        circles = np.char.add(np.char.add(
            np.char.add('<circle cx="', np.char.mod("%.1f", px[inside])),
            np.char.add('" cy="', np.char.mod("%.1f", py[inside]))), '" r="2.5"/>')
        body.append(f'<g class="points" fill="{colour}" stroke="#ffffff" stroke-width="0.6">'
                    f'{"".join(circles.tolist())}</g>')
        y = size + 14 + 16 * len(legend)
        legend.append(f'<circle cx="6" cy="{y - 4}" r="4" fill="{colour}"/>'
                      f'<text x="16" y="{y}" font-size="10">{_fit(label, size - 16)}</text>')
    km = max((k for k in _SCALE_KM if k * 1000 <= side / 3), default=_SCALE_KM[0])
    bar = km * 1000 * scale
    body.append(f'<rect x="4" y="{size - 22}" width="{bar + 12:.1f}" height="18" fill="#ffffff" '
                f'fill-opacity="0.8"/><path d="M10,{size - 12}v4h{bar:.1f}v-4" fill="none" '
                f'stroke="#000000"/><text x="10" y="{size - 13}" font-size="9">{km:,g} km</text>')
    frame = f'<rect x="0.5" y="0.5" width="{size - 1}" height="{size - 1}" fill="none" ' \
            f'stroke="{_GREY}"/>'
    nested = f'<svg x="0" y="0" width="{size}" height="{size}">{"".join(body)}</svg>'
    height = size + (16 * len(legend) + 6 if legend else 0)
    return _svg(size, height, title or "Map of the area", nested + frame + "".join(legend))
