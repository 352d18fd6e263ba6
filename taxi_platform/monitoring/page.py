"""The feature health page: the last stored health report rendered as HTML, no computation.

The Airflow plugin (plugins/feature_health.py) serves it; it only formats what the
`taxi_feature_health` DAG stored, so it answers in milliseconds. Charts are inline SVG made
here, so the page needs no JavaScript build and no request to anything else.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

CHART_WIDTH = 160
CHART_HEIGHT = 36
CURRENT_FILL = "#2b6cb0"
BASELINE_STROKE = "#e53e3e"

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _shares(counts: list[float]) -> list[float]:
    """Counts as fractions of their total, so a baseline and a window of other sizes compare."""
    total = sum(counts)
    return [count / total if total else 0.0 for count in counts]


def histogram_svg(current: dict[str, Any] | None, baseline: dict[str, Any] | None) -> Markup:
    """Bars of the recent window's histogram, the baseline's shares drawn as a red outline."""
    if not current or not current.get("counts"):
        return Markup("")
    shares = _shares(current["counts"])
    base = _shares(baseline["counts"]) if baseline and baseline.get("counts") else []
    top = max(shares + base) or 1.0
    width = CHART_WIDTH / len(shares)
    bars = []
    for index, share in enumerate(shares):
        height = CHART_HEIGHT * share / top
        bars.append(
            f'<rect x="{index * width:.1f}" y="{CHART_HEIGHT - height:.1f}" '
            f'width="{max(width - 1, 1):.1f}" height="{height:.1f}" fill="{CURRENT_FILL}"/>'
        )
    if len(base) == len(shares):
        points = " ".join(
            f"{index * width:.1f},{CHART_HEIGHT - CHART_HEIGHT * share / top:.1f} "
            f"{(index + 1) * width:.1f},{CHART_HEIGHT - CHART_HEIGHT * share / top:.1f}"
            for index, share in enumerate(base)
        )
        bars.append(
            f'<polyline points="{points}" fill="none" stroke="{BASELINE_STROKE}" '
            'stroke-width="1.5"/>'
        )
    return _svg("histogram: window (bars) against the baseline (red line)", bars)


def top_values_svg(top_values: list[dict[str, Any]] | None) -> Markup:
    """Horizontal bars of the most frequent strings' shares (up to five)."""
    if not top_values:
        return Markup("")
    values = top_values[:5]
    shares = _shares([value["count"] for value in values])
    row = CHART_HEIGHT / len(values)
    bars = [
        f'<rect x="0" y="{index * row:.1f}" width="{CHART_WIDTH * share:.1f}" '
        f'height="{max(row - 1, 1):.1f}" fill="{CURRENT_FILL}">'
        f"<title>{_escape(str(value['value']))}: {value['count']}</title></rect>"
        for index, (value, share) in enumerate(zip(values, shares, strict=True))
    ]
    return _svg("top values", bars)


def _svg(label: str, shapes: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" aria-label="{label}" width="{CHART_WIDTH}" '
        f'height="{CHART_HEIGHT}" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}">'
        + "".join(shapes)
        + "</svg>"
    )


def _escape(text: str) -> str:
    return str(Markup.escape(text))


def duration(seconds: float | None) -> str:
    """A feature age as people read it: 42 s, 5.0 min, 3.2 h, 12.5 d."""
    if seconds is None:
        return "-"
    for limit, unit, size in ((120, "s", 1), (7200, "min", 60), (172800, "h", 3600)):
        if abs(seconds) < limit:
            return f"{seconds / size:.0f} {unit}" if size == 1 else f"{seconds / size:.1f} {unit}"
    return f"{seconds / 86400:.1f} d"


def number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def timestamp(value: str | None) -> str:
    """ISO timestamps shortened to the minute (UTC), the precision the page needs."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")


def dag_run_href(run: dict[str, Any]) -> str:
    """The Airflow UI's page of a DAG run, relative to the plugin's own URL."""
    return f"../dags/{quote(run['dag_id'], safe='')}/runs/{quote(run['run_id'], safe='')}"


_templates.globals.update(
    histogram_svg=histogram_svg,
    top_values_svg=top_values_svg,
    duration=duration,
    number=number,
    timestamp=timestamp,
    dag_run_href=dag_run_href,
)


def render_page(report: dict[str, Any] | None, health_dag_id: str) -> str:
    """The whole page; without a report, how to produce one."""
    alerts = (report or {}).get("alerts", [])
    return _templates.get_template("feature_health.html").render(
        report=report,
        health_dag_id=health_dag_id,
        alerts_by_view=_alerts_by_view(alerts),
    )


def _alerts_by_view(alerts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        grouped.setdefault(alert["view"], []).append(alert)
    return grouped
