"""The Streamlit dashboard: ``cd ui && streamlit run streamlit_app.py`` (or ``taxi-platform ui``).

A multipage app (``st.navigation``); each page is a module of ``ui/pages/`` with a ``render()``
that talks only to the feature API and Airflow's REST API (URLs in taxi_platform/settings.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts only this file's folder on sys.path; the pages import the `ui` package
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui import state  # noqa: E402

PAGES = {
    "Feature store": [
        ("pages/overview.py", "Store overview", ":material/home:"),
        ("pages/feature_views.py", "Feature views", ":material/view_list:"),
        ("pages/feature_services.py", "Feature services", ":material/extension:"),
        ("pages/online_features.py", "Online features", ":material/bolt:"),
        ("pages/historical_features.py", "Historical features", ":material/history:"),
        ("pages/feature_details.py", "Feature details", ":material/monitoring:"),
    ],
    "Model and stream": [
        ("pages/predictions.py", "Predictions", ":material/local_taxi:"),
        ("pages/realtime.py", "Real-time", ":material/sensors:"),
    ],
}


def main() -> None:
    st.set_page_config(
        page_title="Chicago Taxi feature store", page_icon=":material/local_taxi:", layout="wide"
    )
    pages = {
        section: [
            st.Page(path, title=title, icon=icon, default=path == "pages/overview.py")
            for path, title, icon in entries
        ]
        for section, entries in PAGES.items()
    }
    current = state.settings()
    st.sidebar.caption(f"Feature API: {current.ui_api_base}  \nAirflow: {current.ui_airflow_base}")
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
