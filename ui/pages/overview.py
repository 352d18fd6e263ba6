"""Store overview: each part's status, what the registry holds, freshness, the DAGs' last runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import state, status
from ui.airflow_panel import FEATURE_DAG, AirflowUnavailable, DagStatus
from ui.api_client import ApiError, ApiUnavailable
from ui.charts import freshness_chart


def render() -> None:
    st.title("Store overview")
    api, airflow = state.api(), state.airflow()
    health, api_error = None, ""
    try:
        health = api.health()
    except (ApiUnavailable, ApiError) as exc:
        api_error = str(exc)
    parts = status.api_parts(health, api_error)
    parts += status.stream_parts(health)
    version, model_error = None, ""
    if health is not None:
        try:
            version = api.model_version()
        except (ApiUnavailable, ApiError) as exc:
            model_error = str(exc)
    parts.append(status.model_part(version, model_error or ("" if health else "unknown")))
    dags: list[DagStatus] | None = None
    airflow_error = ""
    try:
        dags = airflow.platform_dags()
    except AirflowUnavailable as exc:
        airflow_error = str(exc)
    parts.append(status.airflow_part(None if dags is None else len(dags), airflow_error))

    st.subheader("Parts")
    table = pd.DataFrame([p.row() for p in parts])
    st.dataframe(
        table.style.map(status.colour, subset=["status"]), hide_index=True, width="stretch"
    )
    if health is None:
        state.show_error(ApiUnavailable(api_error))
    else:
        _registry(api)
        _freshness(api)
    _airflow_runs(airflow, dags, airflow_error)


def _registry(api) -> None:
    info = state.call(api.info)
    views, services = state.call(api.feature_views), state.call(api.feature_services)
    if info is None or views is None or services is None:
        return
    st.subheader(f"Registry: project {info.project}")
    st.caption(
        f"Feast {info.feast_version} · profile {info.profile} · online store {info.online_store}"
        f" · offline store {info.offline_store} · registry {info.registry}"
    )
    for column, (name, count) in zip(
        st.columns(4), status.counts(info.entities, views, services).items(), strict=True
    ):
        column.metric(name, count)


def _freshness(api) -> None:
    st.subheader("Freshness per feature view")
    try:
        answer = api.freshness()
    except ApiError as exc:
        if exc.status == 503:
            st.info(f"No feature health report yet: {exc.message}. Trigger taxi_feature_health.")
            return
        raise
    table = status.freshness_table(answer)
    st.caption(f"from the feature health report of {answer.generated_at:%Y-%m-%d %H:%M} UTC")
    shown = ["view", "status", "age", "slo", "newest_event", "last_materialized_end"]
    styled = table[shown].style.map(status.colour, subset=["status"])
    st.dataframe(styled, hide_index=True, width="stretch")
    if table["age_seconds"].notna().any():
        st.altair_chart(freshness_chart(table), width="stretch")


def _airflow_runs(airflow, dags: list[DagStatus] | None, error: str) -> None:
    st.subheader("Airflow: the platform's DAGs")
    if dags is None:
        st.warning(f"**Airflow is not reachable.** {error}", icon=":material/cloud_off:")
        return
    if st.button(f"Trigger {FEATURE_DAG}", type="primary"):
        run_id = state.call(airflow.trigger, FEATURE_DAG)
        if run_id:
            st.success(f"Triggered {FEATURE_DAG}: {run_id}")
            dags = state.call(airflow.platform_dags) or dags
    rows = [
        {
            "DAG": dag.dag_id,
            "paused": dag.paused,
            "run": run.run_id,
            "state": run.state,
            "run after": run.run_after,
            "ended": run.end_date,
        }
        for dag in dags
        for run in dag.runs
    ]
    no_runs = [dag.dag_id for dag in dags if not dag.runs]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if no_runs:
        st.caption("No runs yet: " + ", ".join(no_runs))
    st.caption(f"Airflow UI: {airflow.url}")


if __name__ == "__main__":
    render()
