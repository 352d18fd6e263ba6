"""Feature details: statistics and histogram per feature, drift against the baseline, freshness
against the SLO and the active alerts, from the newest feature health report (/monitoring)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from taxi_platform.monitoring.models import FeatureStats
from ui import state
from ui.api_client import ApiError, ApiUnavailable
from ui.charts import drift_chart, histogram_chart
from ui.frames import age_text, display

HEALTH_DAG = "taxi_feature_health"


def stats_table(features: dict[str, FeatureStats]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "feature": name,
                "kind": s.kind,
                "count": s.count,
                "null rate": f"{s.null_rate:.1%}",
                "mean": display(s.mean),
                "stddev": display(s.stddev),
                "min": display(s.min),
                "max": display(s.max),
                "drift": f"{s.drift.statistic} {s.drift.value:.3f}" if s.drift else "",
                "drifted": bool(s.drift and s.drift.drifted),
            }
            for name, s in features.items()
        ]
    )


def render() -> None:
    st.title("Feature details")
    api = state.api()
    try:
        freshness = api.freshness()
    except ApiError as exc:
        if exc.status == 503:
            st.info(
                f"**No feature health report yet.** {exc.message}. Unpause or trigger the "
                f"{HEALTH_DAG} DAG in Airflow; this page shows its newest report."
            )
            return
        state.show_error(exc)
        return
    except ApiUnavailable as exc:
        state.show_error(exc)
        return
    baseline = (
        f"the training set of model {freshness.model_version}"
        if freshness.model_version
        else "the offline window before (no model baseline)"
    )
    st.caption(
        f"Report of {freshness.generated_at:%Y-%m-%d %H:%M} UTC · window "
        f"{freshness.window.start:%Y-%m-%d %H:%M} .. {freshness.window.end:%Y-%m-%d %H:%M} · "
        f"drift against {baseline}"
    )
    _alerts(api)
    views = list(freshness.views)
    first = views.index("trip_features") if "trip_features" in views else 0
    view = st.selectbox("Feature view", views, index=first, key="details_view")
    fresh = freshness.views[view]
    cols = st.columns(3)
    cols[0].metric("Freshness", age_text(fresh.age_seconds) or "no data")
    cols[1].metric("SLO", age_text(fresh.slo_seconds))
    cols[2].metric("Within SLO", "yes" if fresh.ok else "no")
    health = state.call(api.view_health, view)
    if health is None:
        return
    features = health.health.features
    if not features:
        st.info(f"No rows of {view} in the report's window: no statistics.")
        return
    st.dataframe(stats_table(features), hide_index=True, width="stretch")
    name = st.selectbox("Feature", list(features), key="details_feature")
    stats = features[name]
    chart = histogram_chart(stats)
    if chart is None:
        st.info(f"No values of {name} in the window.")
    else:
        st.altair_chart(chart, width="stretch")
        st.caption("bars: the recent window; red: the baseline")
    if stats.drift:
        verdict = "drifted" if stats.drift.drifted else "no drift"
        st.markdown(
            f"**Drift** {stats.drift.statistic} = {stats.drift.value:.4f} "
            f"(threshold {stats.drift.threshold}): **{verdict}**"
        )
    _drift_overview(api)


def _alerts(api) -> None:
    answer = state.call(api.alerts)
    if answer is None:
        return
    if not answer.alerts:
        st.success("No active alerts.")
        return
    st.error(f"{len(answer.alerts)} active alerts")
    st.dataframe(
        pd.DataFrame([a.model_dump() for a in answer.alerts])[
            ["kind", "view", "feature", "value", "threshold", "message", "raised_at"]
        ],
        hide_index=True,
        width="stretch",
        height=240,
    )


def _drift_overview(api) -> None:
    """Drift of every feature in the newest report (the API serves the newest report only)."""
    answer = state.call(api.drift)
    if answer is None or not answer.features:
        return
    st.subheader("Drift of every feature")
    st.altair_chart(drift_chart(pd.DataFrame([f.model_dump() for f in answer.features])))


if __name__ == "__main__":
    render()
