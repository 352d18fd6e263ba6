"""Online features: by trip ids (area and company resolved) or explicit entities, for a feature
service or a list of features; status, value and age of every cell."""

from __future__ import annotations

import streamlit as st

from ui import state
from ui.api_client import ApiError, ApiUnavailable
from ui.frames import InputError, entity_columns, online_table, parse_ids, read_table

DEFAULT_SERVICE = "model_inference_v1"
DEFAULT_IDS = "trip_010719, trip_010720, trip_999999"
DEFAULT_ENTITIES = "area_id,company_name\n8,Flash Cab\n32,Taxi Affiliation Services"
STATUS_COLORS = {
    "PRESENT": "#d4edda",
    "OUTSIDE_MAX_AGE": "#fff3cd",
    "NOT_FOUND": "#f8d7da",
    "NULL_VALUE": "#e2e3e5",
}


def color_status(value: str) -> str:
    return f"background-color: {STATUS_COLORS.get(value, '')}"


def render() -> None:
    st.title("Online features")
    api = state.api()
    services = state.call(api.feature_services)
    views = state.call(api.feature_views)
    if services is None or views is None:
        return
    by_ids = st.radio("Entities", ["Trip ids", "Explicit entities"], horizontal=True) == "Trip ids"
    entity_slot = st.container()
    if by_ids:
        text = entity_slot.text_area("Trip ids", DEFAULT_IDS, height=80, key="online_ids")
    else:
        text = entity_slot.text_area(
            "Entity rows (CSV: join keys area_id, company_name, trip_id)",
            DEFAULT_ENTITIES,
            height=110,
            key="online_entities",
        )
    use_service = st.radio("Features", ["Feature service", "Feature list"], horizontal=True)
    feature_slot = st.container()
    service, features = None, None
    if use_service == "Feature service":
        names = [s.name for s in services]
        first = names.index(DEFAULT_SERVICE) if DEFAULT_SERVICE in names else 0
        service = feature_slot.selectbox("Feature service", names, first, key="online_service")
    else:
        refs = [f"{v.name}:{f.name}" for v in views for f in v.features]
        features = feature_slot.multiselect(
            "Features", refs, default=refs[:3], key="online_features"
        )
    if not st.button("Get online features", type="primary"):
        return
    try:
        if by_ids:
            answer = api.online(
                entity_ids=parse_ids(text), feature_service=service, features=features
            )
        else:
            entities = entity_columns(read_table(text))
            answer = api.online(entities=entities, feature_service=service, features=features)
    except InputError as exc:
        entity_slot.error(str(exc), icon=":material/edit:")
        return
    except ApiError as exc:
        state.field_error(entity_slot, exc, "entity_ids", "entities")
        state.field_error(feature_slot, exc, "features", "feature_service")
        state.show_error(exc)
        return
    except ApiUnavailable as exc:
        state.show_error(exc)
        return
    table = online_table(answer)
    counts = table["status"].value_counts().to_dict()
    st.success(
        f"{len(answer.results)} entities x {len(answer.features)} features: "
        + ", ".join(f"{count} {name}" for name, count in counts.items())
    )
    if table.empty:
        st.info("The answer holds no cells.")
        return
    st.dataframe(table.style.map(color_status, subset=["status"]), hide_index=True, width="stretch")


if __name__ == "__main__":
    render()
