"""Feature views: the registry's views, and one view's schema, tags, source and online values."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from api.models import FeatureViewInfo
from ui import state
from ui.frames import InputError, age_text, online_table, parse_ids

SAMPLE_TRIP_IDS = "trip_010722, trip_010721, trip_010720, trip_000001"  # of the real sample


def view_rows(views: list[FeatureViewInfo]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "view": v.name,
                "entities": ", ".join(v.entities),
                "features": len(v.features),
                "ttl": age_text(v.ttl_seconds) if v.ttl_seconds else "none",
                "online": v.online,
                "type": v.tags.get("type", ""),
                "owner": v.owner,
                "last materialized": v.last_materialized,
            }
            for v in views
        ]
    )


def render() -> None:
    st.title("Feature views")
    api = state.api()
    views = state.call(api.feature_views)
    if views is None:
        return
    if not views:
        st.info("The registry holds no feature views yet: run `taxi-platform apply`.")
        return
    st.dataframe(view_rows(views), hide_index=True, width="stretch")
    by_name = {v.name: v for v in views}
    names = list(by_name)
    first = names.index("trip_features") if "trip_features" in names else 0
    name = st.selectbox("Feature view", names, index=first, key="view_detail")
    view = by_name[name]
    st.subheader(view.name)
    st.write(view.description or "(no description)")
    left, right = st.columns(2)
    left.markdown(
        f"**Owner** {view.owner or '-'}  \n**Entities** {', '.join(view.entities)} "
        f"(join keys {', '.join(view.join_keys)})  \n"
        f"**TTL** {age_text(view.ttl_seconds) if view.ttl_seconds else 'none'}  \n"
        f"**Online** {view.online}  \n**Source** `{view.source}`  \n"
        f"**Last materialized** {view.last_materialized or 'never'}"
    )
    right.markdown("**Tags**")
    right.json(view.tags, expanded=True)
    st.markdown("**Schema**")
    schema = [
        {"feature": f.name, "type": f.dtype, "description": f.description, "tags": str(f.tags)}
        for f in view.features
    ]
    st.dataframe(pd.DataFrame(schema), hide_index=True, width="stretch")
    _sample_values(api, view)


def _sample_values(api, view: FeatureViewInfo) -> None:
    """Online values of the view for a few trips (their area and company resolved)."""
    st.markdown("**Sample online values**")
    text = st.text_input(
        "Trip ids (each trip's area and company are resolved)",
        SAMPLE_TRIP_IDS,
        key=f"sample_ids_{view.name}",
    )
    try:
        ids = parse_ids(text)
    except InputError as exc:
        st.info(str(exc))
        return
    refs = [f"{view.name}:{f.name}" for f in view.features]
    answer = state.call(api.online, entity_ids=ids, features=refs)
    if answer is None:
        return
    table = online_table(answer)
    if (table["status"] == "NOT_FOUND").all():
        st.info(f"No online values of {view.name} for these trips (all NOT_FOUND).")
    st.dataframe(table, hide_index=True, width="stretch")


if __name__ == "__main__":
    render()
