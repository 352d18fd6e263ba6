"""Real-time: the stream's per-area features (view area_realtime_features, as feature service
model_inference_v2 uses them) for every community area, refreshed every TAXI_UI_REFRESH_SECONDS."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from api.models import FeatureServiceInfo, OnlineFeaturesResponse
from ui import state
from ui.areas import NAMES
from ui.charts import REALTIME_FEATURES, realtime_chart
from ui.frames import age_text

VIEW = "area_realtime_features"
SERVICE = "model_inference_v2"
AREAS = list(range(1, len(NAMES) + 1))


def realtime_refs(services: list[FeatureServiceInfo]) -> list[str]:
    """The view's features as the service selects them (its declared ones without the service)."""
    service = next((s for s in services if s.name == SERVICE), None)
    refs = [ref for ref in service.features if ref.startswith(f"{VIEW}:")] if service else []
    return refs or [f"{VIEW}:{name}" for name in REALTIME_FEATURES]


def area_table(answer: OnlineFeaturesResponse) -> pd.DataFrame:
    """One row per area and feature; numeric value (None when missing), status and age."""
    rows = []
    for result in answer.results:
        area = int(result.entity["area_id"])
        for ref, cell in result.features.items():
            value = cell.value if isinstance(cell.value, int | float) else None
            rows.append(
                {
                    "area_id": area, "area": NAMES[area - 1], "feature": ref.split(":")[-1],
                    "value": value, "text": cell.value, "status": cell.status,
                    "age": age_text(cell.age_seconds), "event_timestamp": cell.event_timestamp,
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def render() -> None:
    st.title("Real-time area conditions")
    current = state.settings()
    st.caption(
        f"{VIEW} for all {len(AREAS)} community areas, read through /feast/online-features; "
        f"refreshed every {current.ui_refresh_seconds:g} s."
    )
    services = state.call(state.api().feature_services)
    if services is None:
        return
    refs = realtime_refs(services)

    @st.fragment(run_every=current.ui_refresh_seconds)
    def live() -> None:
        answer = state.call(state.api().online, entities={"area_id": AREAS}, features=refs)
        if answer is None:
            return
        table = area_table(answer)
        present = table[table["status"] != "NOT_FOUND"]
        if present.empty or present["text"].isna().all():
            st.info(
                "**No real-time values yet.** No area has a value of "
                f"{', '.join(r.split(':')[1] for r in refs)}: the stream processor has not "
                f"written {VIEW} (it pushes them from the Kafka topic of live trips).",
                icon=":material/sensors_off:",
            )
            return
        counts = table["status"].value_counts().to_dict()
        st.caption(", ".join(f"{n} {s}" for s, n in counts.items()))
        st.altair_chart(realtime_chart(table), width="stretch")
        st.dataframe(
            present.drop(columns=["value"]).rename(columns={"text": "value"}),
            hide_index=True,
            width="stretch",
        )

    live()


if __name__ == "__main__":
    render()
