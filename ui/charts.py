"""Altair charts of the dashboard, built from API answers (no Streamlit here)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from taxi_platform.monitoring.models import FeatureStats, Histogram

REALTIME_FEATURES = ("current_speed_mph", "traffic_level", "demand_level")


def _bins(histogram: Histogram, series: str) -> pd.DataFrame:
    total = sum(histogram.counts) or 1
    return pd.DataFrame(
        {
            "start": histogram.edges[:-1],
            "end": histogram.edges[1:],
            "share": [count / total for count in histogram.counts],
            "count": histogram.counts,
            "series": series,
        }
    )


def histogram_chart(stats: FeatureStats) -> alt.Chart | None:
    """Bins of the recent window (bars) and of the baseline (red ticks), as shares of rows;
    the top values for strings. None when the report has neither."""
    if stats.histogram is not None:
        bars = (
            alt.Chart(_bins(stats.histogram, "recent window"))
            .mark_bar(opacity=0.75)
            .encode(
                x=alt.X("start:Q", title="value (bins on the baseline's quantiles)"),
                x2="end:Q",
                y=alt.Y("share:Q", title="share of rows", axis=alt.Axis(format="%")),
                tooltip=["start:Q", "end:Q", "count:Q", alt.Tooltip("share:Q", format=".1%")],
            )
        )
        if stats.baseline_histogram is None:
            return bars.properties(height=220)
        baseline = (
            alt.Chart(_bins(stats.baseline_histogram, "baseline"))
            .mark_rule(color="#d62728", strokeWidth=3)
            .encode(x="start:Q", x2="end:Q", y="share:Q")
        )
        return alt.layer(bars, baseline).properties(height=220)
    if stats.top_values:
        values = pd.DataFrame([v.model_dump() for v in stats.top_values])
        return (
            alt.Chart(values)
            .mark_bar()
            .encode(x="count:Q", y=alt.Y("value:N", sort="-x"), tooltip=["value", "count"])
            .properties(height=220)
        )
    return None


def freshness_chart(table: pd.DataFrame) -> alt.Chart:
    """Each view's age (hours, log scale) as a point, with its SLO as a tick."""
    data = table.dropna(subset=["age_seconds"]).assign(
        age_hours=lambda d: d.age_seconds / 3600, slo_hours=lambda d: d.slo_seconds / 3600
    )
    bars = (  # points, not bars: a log scale has no zero to start a bar from
        alt.Chart(data)
        .mark_point(filled=True, size=120)
        .encode(
            y=alt.Y("view:N", title=None),
            x=alt.X("age_hours:Q", scale=alt.Scale(type="log"), title="age of newest value (h)"),
            color=alt.Color("status:N", legend=None),
            tooltip=["view", "age", "slo", "status"],
        )
    )
    slo = alt.Chart(data).mark_tick(color="black", thickness=3).encode(y="view:N", x="slo_hours:Q")
    return alt.layer(bars, slo).properties(height=40 * max(len(data), 1) + 40)


def drift_chart(drift: pd.DataFrame) -> alt.Chart:
    """Drift per feature against its threshold (red when drifted)."""
    data = drift.assign(label=drift["view"] + ":" + drift["feature"])
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort="-x"),
            x=alt.X("value:Q", title="drift (PSI or Jensen-Shannon)"),
            color=alt.condition("datum.drifted", alt.value("#d62728"), alt.value("#1f77b4")),
            tooltip=["label", "statistic", "value", "threshold", "drifted"],
        )
    )
    ticks = alt.Chart(data).mark_tick(color="black").encode(y="label:N", x="threshold:Q")
    return alt.layer(bars, ticks).properties(height=18 * max(len(data), 1) + 40)


def realtime_chart(table: pd.DataFrame) -> alt.Chart:
    """One small bar chart per real-time feature over the community areas that have a value."""
    present = table.dropna(subset=["value"])
    return (
        alt.Chart(present)
        .mark_bar()
        .encode(
            x=alt.X("area_id:O", title="community area"),
            y=alt.Y("value:Q", title=None),
            color=alt.Color("status:N"),
            tooltip=["area_id", "area", "feature", "value", "status", "age"],
        )
        .properties(height=160)
        .facet(row=alt.Row("feature:N", title=None))
        .resolve_scale(y="independent")
    )
