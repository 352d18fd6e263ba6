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
        ("pages/overview.py", "Store overview", "🏠"),
        ("pages/feature_views.py", "Feature views", "🗂️"),
        ("pages/feature_services.py", "Feature services", "🧩"),
        ("pages/online_features.py", "Online features", "⚡"),
        ("pages/historical_features.py", "Historical features", "🕰️"),
        ("pages/feature_details.py", "Feature details", "📊"),
    ],
    "Model and stream": [
        ("pages/predictions.py", "Predictions", "🚕"),
        ("pages/realtime.py", "Real-time", "📡"),
    ],
}


def main() -> None:
    st.set_page_config(page_title="Chicago Taxi feature store", page_icon="🚕", layout="wide")
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
