"""Predictions: a trip typed in a form or a stored trip picked by id, scored by the served model
with its Feast features; the pickup area on a map of Chicago's community areas."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import state
from ui.api_client import ApiError, ApiUnavailable
from ui.areas import area_label, area_map_chart, load_areas
from ui.frames import InputError, age_text, prediction_features
from ui.prediction import form_trip, pickup_point, stored_trip, stored_trip_refs

PAYMENT_TYPES = ["Credit Card", "Cash", "Mobile", "Prcard", "No Charge", "Unknown", "Dispute"]
RESULT = "prediction_result"


@st.cache_resource(show_spinner=False)
def _areas():
    return load_areas()


def render() -> None:
    st.title("Predictions")
    st.caption("P(tip > 20% of the fare) from the served model, with the trip's Feast features.")
    api = state.api()
    try:
        version = api.model_version()
    except (ApiUnavailable, ApiError) as exc:
        state.show_error(exc)
        return
    if version is None:
        st.warning(
            "**No model yet.** The API serves none: trigger taxi_training_pipeline in Airflow "
            "(or `taxi-platform airflow trigger taxi_training_pipeline`).",
            icon=":material/hourglass_empty:",
        )
    else:
        st.caption(f"model version {version}")
    stored = st.radio("Trip", ["Stored trip", "Trip form"], horizontal=True) == "Stored trip"
    slots: dict[str, Any] = {}
    trip: dict[str, Any] | None = None
    if stored:
        slots["trip_id"] = st.container()
        trip_id = slots["trip_id"].text_input("Trip id", "trip_010719", key="predict_trip_id")
    else:
        fields = _form(slots)
    use_feast = st.checkbox("Area and company features from Feast", value=True)
    if st.button("Predict", type="primary"):
        tips = None
        try:
            if stored:
                answer = api.online(entity_ids=[trip_id.strip()], features=stored_trip_refs())
                trip, tips = stored_trip(answer)
            else:
                trip = form_trip(fields)
            st.session_state[RESULT] = (trip, tips, api.predict(trip, use_feast))
        except InputError as exc:
            slots["trip_id"].error(str(exc), icon=":material/edit:")
            st.session_state.pop(RESULT, None)
        except ApiError as exc:
            for name, slot in slots.items():
                state.field_error(slot, exc, name)
            state.show_error(exc)
            st.session_state.pop(RESULT, None)
        except ApiUnavailable as exc:
            state.show_error(exc)
            st.session_state.pop(RESULT, None)
    if RESULT in st.session_state:
        _show(*st.session_state[RESULT])


def _form(slots: dict[str, Any]) -> dict[str, Any]:
    """The trip's fields, each in its own container so a 422 can be shown under it."""
    areas = _areas()
    left, right = st.columns(2)

    def slot(column, name: str):
        slots[name] = column.container()
        return slots[name]

    return {
        "trip_miles": slot(left, "trip_miles").number_input("Trip miles", value=3.5, step=0.5),
        "trip_seconds": slot(left, "trip_seconds").number_input("Trip seconds", value=900, step=60),
        "fare": slot(left, "fare").number_input("Fare (USD)", value=12.25, step=0.25),
        "payment_type": slot(left, "payment_type").selectbox("Payment type", PAYMENT_TYPES),
        "company": slot(right, "company").text_input("Company", "Flash Cab"),
        "pickup_community_area": slot(right, "pickup_community_area").selectbox(
            "Pickup community area",
            list(range(1, 78)),
            index=7,
            format_func=lambda n: area_label(areas, n),
        ),
        "trip_start_timestamp": slot(right, "trip_start_timestamp").text_input(
            "Trip start (ISO 8601, UTC; empty: now)", ""
        ),
    }


def _show(trip: dict[str, Any], tips: float | None, prediction) -> None:
    cols = st.columns(4)
    cols[0].metric("P(tip > 20%)", f"{prediction.probability:.1%}")
    cols[1].metric("Big tipper", "yes" if prediction.big_tipper else "no")
    cols[2].metric("Model", prediction.model_version)
    if tips is not None and trip.get("fare"):
        cols[3].metric(f"Real tip ({tips / trip['fare']:.0%} of the fare)", f"${tips:.2f}")
    if prediction.ignored:
        st.caption("not used by the model: " + ", ".join(prediction.ignored))
    areas = _areas()
    area = trip.get("pickup_community_area")
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Features used** (source, status and age at the trip's start)")
        st.dataframe(prediction_features(prediction), hide_index=True, width="stretch")
    with right:
        st.markdown(f"**Pickup area: {area_label(areas, area)}**")
        st.altair_chart(area_map_chart(areas, area, pickup_point(trip)), width="stretch")
        st.caption(f"Area positions: {areas.source} (no boundary file ships offline).")
        if area and areas.areas[area - 1].latitude is None:
            st.caption(f"Area {area} has no pickups in the sample, so no position on the map.")
    if prediction.warnings:
        with st.expander(f"{len(prediction.warnings)} warnings about the features used"):
            st.markdown("\n".join(f"- {warning}" for warning in prediction.warnings))
    ages = [u.age_seconds for u in prediction.features.values() if u.age_seconds is not None]
    if ages:
        st.caption(f"oldest Feast value used: {age_text(max(ages))}")


if __name__ == "__main__":
    render()
