"""A small bar chart drawn on the server as SVG text: no chart library, no script, nothing from a CDN.

Bars are stacked by series (a channel, say), one column per label (a day); the chart carries its own
title and description for screen readers and a plain legend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 28, 36  # room for the axis labels, the legend and the day names
# Colour-blind-safe pair (Okabe-Ito blue and orange), then greys for any further series.
COLOURS = ("#0072B2", "#E69F00", "#999999", "#555555")


def stacked_bars(title: str, labels: Sequence[str], series: Mapping[str, Sequence[int]]) -> str:
    """An SVG document: one column per label, each series stacked bottom-up in the order given."""
    names = list(series)
    totals = [sum(series[name][i] for name in names) for i in range(len(labels))]
    top = _nice_ceiling(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    column = plot_w / max(len(labels), 1)
    bar = column * 0.6
    description = "; ".join(
        f"{label}: " + ", ".join(f"{name} {series[name][i]}" for name in names) for i, label in enumerate(labels)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"'
        f' role="img" aria-labelledby="chart-title chart-desc" font-family="sans-serif" font-size="11">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(description)}</desc>',
    ]
    for tick in (0, top // 2, top):
        y = TOP + plot_h - plot_h * tick / top
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dddddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#333333">{tick}</text>')
    for i, label in enumerate(labels):
        x = LEFT + column * i + (column - bar) / 2
        base = float(TOP + plot_h)
        for n, name in enumerate(names):
            value = series[name][i]
            if value <= 0:
                continue
            height = plot_h * value / top
            base -= height
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{height:.1f}"'
                f' fill="{COLOURS[n % len(COLOURS)]}"><title>{escape(f"{label} {name}: {value}")}</title></rect>'
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#333333">'
            f"{escape(label)}</text>"
        )
    for n, name in enumerate(names):
        x = LEFT + 90 * n
        parts.append(f'<rect x="{x}" y="8" width="10" height="10" fill="{COLOURS[n % len(COLOURS)]}"/>')
        parts.append(f'<text x="{x + 14}" y="17" fill="#333333">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _nice_ceiling(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten at or above `value` (at least 2, so half is whole)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= max(value, 2):
                return step * factor
        step *= 10
