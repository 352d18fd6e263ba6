"""Historical features: entity rows with timestamps (typed or uploaded), point-in-time values
from the offline store as a table, downloadable as CSV and Parquet."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import state
from ui.api_client import ApiError, ApiUnavailable
from ui.frames import InputError, csv_bytes, historical_entity_data, read_table

DEFAULT_ROWS = (
    "trip_id,event_timestamp\n"
    "trip_010719,2016-12-30T00:00:00\n"
    "trip_000100,2013-01-24T00:00:00\n"
    "trip_999999,2016-06-01T12:00:00"
)
RESULT = "historical_result"  # session key: the last answer, kept across download reruns


def render() -> None:
    st.title("Historical features")
    st.caption(
        "Point-in-time correct: each row gets the values valid at its event_timestamp "
        "(ISO 8601, naive = UTC); trips' areas and companies are resolved as of that time."
    )
    api = state.api()
    services = state.call(api.feature_services)
    views = state.call(api.feature_views)
    if services is None or views is None:
        return
    rows_slot = st.container()
    upload = rows_slot.file_uploader("Upload entity rows (CSV or Parquet)", type=["csv", "parquet"])
    text = rows_slot.text_area(
        "…or type them (CSV with a header line)", DEFAULT_ROWS, height=130, key="hist_rows"
    )
    feature_slot = st.container()
    use_service = feature_slot.radio(
        "Features", ["Feature service", "Feature list"], horizontal=True, key="hist_mode"
    )
    service, features = None, None
    if use_service == "Feature service":
        names = [s.name for s in services]
        service = feature_slot.selectbox(
            "Feature service", names, index=_index(names, "model_inference_v1"), key="hist_svc"
        )
    else:
        refs = [f"{v.name}:{f.name}" for v in views for f in v.features]
        features = feature_slot.multiselect("Features", refs, default=refs[:3], key="hist_refs")
    if st.button("Get historical features", type="primary"):
        st.session_state[RESULT] = _query(
            api, rows_slot, feature_slot, text, upload, service, features
        )
    result = st.session_state.get(RESULT)
    if result is not None:
        _show(*result)


def _query(api, rows_slot, feature_slot, text, upload, service, features):
    """(table, parquet bytes), or None after showing what was wrong next to its input."""
    try:
        frame = read_table(
            text, upload.getvalue() if upload else None, upload.name if upload else ""
        )
        entity_data = historical_entity_data(frame)
        answer = api.historical(entity_data, feature_service=service, features=features)
        parquet = api.historical_file(
            entity_data, "parquet", feature_service=service, features=features
        )
    except InputError as exc:
        rows_slot.error(str(exc), icon=":material/edit:")
        return None
    except ApiError as exc:
        state.field_error(rows_slot, exc, "entity_data")
        state.field_error(feature_slot, exc, "features", "feature_service")
        state.show_error(exc)
        return None
    except ApiUnavailable as exc:
        state.show_error(exc)
        return None
    return pd.DataFrame(answer.rows, columns=answer.columns), parquet


def _show(table: pd.DataFrame, parquet: bytes) -> None:
    if table.empty:
        st.info("No rows in the answer.")
        return
    st.success(f"{len(table)} rows x {len(table.columns)} columns")
    st.dataframe(table, hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.download_button(
        "Download CSV", csv_bytes(table), "historical_features.csv", "text/csv", on_click="ignore"
    )
    right.download_button(
        "Download Parquet",
        parquet,
        "historical_features.parquet",
        "application/vnd.apache.parquet",
        on_click="ignore",
    )


def _index(names: list[str], wanted: str) -> int:
    return names.index(wanted) if wanted in names else 0


if __name__ == "__main__":
    render()
