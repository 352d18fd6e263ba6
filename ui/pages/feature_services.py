"""Feature services: their features per view, two services (v1 and v2 by default) side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from api.models import FeatureServiceInfo
from ui import state

DEFAULT_PAIR = ("model_inference_v1", "model_inference_v2")


def comparison(left: FeatureServiceInfo, right: FeatureServiceInfo) -> pd.DataFrame:
    """Every feature of either service, marked where it is used, grouped by view."""
    refs = sorted(set(left.features) | set(right.features))
    return pd.DataFrame(
        [
            {
                "view": ref.split(":", 1)[0],
                "feature": ref.split(":", 1)[1],
                left.name: "yes" if ref in left.features else "",
                right.name: "yes" if ref in right.features else "",
            }
            for ref in refs
        ]
    )


def service_row(service: FeatureServiceInfo) -> dict[str, object]:
    return {
        "service": service.name,
        "features": len(service.features),
        "version": service.tags.get("version", ""),
        "owner": service.owner,
        "description": service.description,
    }


def render() -> None:
    st.title("Feature services")
    services = state.call(state.api().feature_services)
    if services is None:
        return
    if not services:
        st.info("The registry holds no feature services yet: run `taxi-platform apply`.")
        return
    by_name = {s.name: s for s in services}
    names = list(by_name)
    st.dataframe(pd.DataFrame([service_row(s) for s in services]), hide_index=True)
    pair = [
        n if n in by_name else names[min(i, len(names) - 1)] for i, n in enumerate(DEFAULT_PAIR)
    ]
    columns = st.columns(2)
    chosen = [
        column.selectbox(f"Service {i + 1}", names, index=names.index(default), key=f"svc{i}")
        for i, (column, default) in enumerate(zip(columns, pair, strict=True))
    ]
    for column, name in zip(columns, chosen, strict=True):
        service = by_name[name]
        with column:
            st.subheader(service.name)
            st.caption(service.description)
            st.json(service.tags, expanded=False)
            for view, features in _by_view(service).items():
                st.markdown(f"**{view}**: " + ", ".join(features))
    left, right = (by_name[n] for n in chosen)
    st.subheader("Side by side")
    table = comparison(left, right)
    only = {
        left.name: len(set(left.features) - set(right.features)),
        right.name: len(set(right.features) - set(left.features)),
    }
    st.caption(
        f"{len(set(left.features) & set(right.features))} shared features; "
        + "; ".join(f"{count} only in {name}" for name, count in only.items())
    )
    st.dataframe(table, hide_index=True, width="stretch")


def _by_view(service: FeatureServiceInfo) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for ref in service.features:
        view, feature = ref.split(":", 1)
        grouped.setdefault(view, []).append(feature)
    return grouped


if __name__ == "__main__":
    render()
