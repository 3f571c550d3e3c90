"""The picture of a run: one self-contained HTML page of inline SVG charts (no library, no network),
per phase the deliveries per second of each platform and their latency (p50 solid, p99 dashed)
over the seconds since the phase's first send was accepted."""

from __future__ import annotations

import html
import json
from typing import Any

from contracts.push import PLATFORMS

COLOURS = {"apns": "#1f77b4", "fcm": "#ff7f0e", "webpush": "#2ca02c"}
W, H = 560, 230
LEFT, RIGHT, TOP, BOTTOM = 50, W - 12, 28, H - 38


def _scale(values: list[float]) -> float:
    top = max(values, default=1.0) or 1.0
    return float(top) * 1.1


def _x(value: float, x_max: float) -> float:
    return LEFT + value / x_max * (RIGHT - LEFT)


def _y(value: float, y_max: float) -> float:
    return BOTTOM - value / y_max * (BOTTOM - TOP)


def _polyline(points: list[tuple[float, float]], x_max: float, y_max: float, style: str) -> str:
    if not points:
        return ""
    coords = " ".join(f"{_x(x, x_max):.1f},{_y(y, y_max):.1f}" for x, y in points)
    return f'<polyline fill="none" stroke-width="1.6" {style} points="{coords}"/>'


def _axes(title: str, x_max: float, y_max: float, unit: str) -> str:
    parts = [
        f'<text x="{W / 2}" y="16" text-anchor="middle" font-weight="bold">'
        f"{html.escape(title)}</text>",
        f'<text x="12" y="{(TOP + BOTTOM) / 2}" transform="rotate(-90 12 {(TOP + BOTTOM) / 2})" '
        f'text-anchor="middle">{unit}</text>',
        f'<text x="{(LEFT + RIGHT) / 2}" y="{H - 4}" text-anchor="middle">'
        "seconds since the first acceptance</text>",
    ]
    for i in range(5):
        value, y = y_max * i / 4, _y(y_max * i / 4, y_max)
        parts.append(f'<line x1="{LEFT}" x2="{RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
        second, x = x_max * i / 4, _x(x_max * i / 4, x_max)
        parts.append(
            f'<text x="{x:.1f}" y="{BOTTOM + 14}" text-anchor="middle">{second:,.0f}</text>'
        )
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{BOTTOM}" stroke="#999"/>')
    parts.append(f'<line x1="{LEFT}" x2="{RIGHT}" y1="{BOTTOM}" y2="{BOTTOM}" stroke="#999"/>')
    return "".join(parts)


def _svg(body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'font-family="sans-serif" font-size="11">{body}</svg>'
    )


def phase_charts(name: str, series: dict[str, list[list[float]]]) -> str:
    rows = [row for platform in PLATFORMS for row in series.get(platform, [])]
    if not rows:
        return ""
    x_max = max(row[0] for row in rows) + 1
    rate_max = _scale([row[1] for row in rows])
    latency_max = _scale([row[3] for row in rows])
    rates = _axes(f"{name}: deliveries per second", x_max, rate_max, "deliveries/s")
    latency = _axes(f"{name}: latency to the provider", x_max, latency_max, "ms")
    for platform in PLATFORMS:
        data = series.get(platform, [])
        colour = f'stroke="{COLOURS[platform]}"'
        rates += _polyline([(r[0], r[1]) for r in data], x_max, rate_max, colour)
        latency += _polyline([(r[0], r[2]) for r in data], x_max, latency_max, colour)
        latency += _polyline(
            [(r[0], r[3]) for r in data], x_max, latency_max, f'{colour} stroke-dasharray="4 3"'
        )
    return f"<h2>{html.escape(name)}</h2><div>{_svg(rates)} {_svg(latency)}</div>"


def memory_chart(name: str, figures: dict[str, Any]) -> str:
    """The dispatchers' RSS over the phase: it should level off, whatever the audience."""
    wall = figures["machine"]["wall_seconds"]
    lines = {
        process: rss["samples"]
        for process, rss in figures["rss_mb"].items()
        if process.startswith("dispatcher-") and rss.get("samples")
    }
    if not lines:
        return ""
    y_max = _scale([value for samples in lines.values() for value in samples])
    body = _axes(f"{name}: dispatchers' memory", wall, y_max, "MB RSS")
    for process, samples in lines.items():
        step = wall / max(1, len(samples) - 1)
        colour = f'stroke="{COLOURS[process.removeprefix("dispatcher-")]}"'
        body += _polyline([(i * step, v) for i, v in enumerate(samples)], wall, y_max, colour)
    return f"<div>{_svg(body)}</div>"


def render(results: dict[str, Any], report_text: str) -> str:
    """The HTML page: the charts, then the terminal report and the raw figures."""
    legend = " ".join(f'<span style="color:{COLOURS[p]}">&#9632; {p}</span>' for p in PLATFORMS)
    charts = "".join(
        phase_charts(name, figures["series"]) + memory_chart(name, figures)
        for name, figures in results["phases"].items()
        if name != "warm-up"
    )
    raw = {
        name: {k: v for k, v in figures.items() if k not in ("series", "rss_mb")}
        | {
            "rss_mb": {
                p: {k: v for k, v in m.items() if k != "samples"}
                for p, m in figures["rss_mb"].items()
            }
        }
        for name, figures in results["phases"].items()
    }
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Herald benchmark</title>"
        "<style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em;"
        "overflow:auto;font-size:12px}</style></head><body>"
        f"<h1>Herald pipeline benchmark</h1><p>{html.escape(results['started'])} &mdash; "
        f"{legend} &mdash; latency: p50 solid, p99 dashed</p>{charts}"
        f"<h2>Report</h2><pre>{html.escape(report_text)}</pre>"
        f"<h2>Figures</h2><pre>{html.escape(json.dumps(raw, indent=1))}</pre></body></html>"
    )
