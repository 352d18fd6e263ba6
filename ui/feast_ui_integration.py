"""The guide's embedding entry points: ``from ui.feast_ui_integration import feast_ui``, then
``feast_ui.render_feast_dashboard()`` and ``feast_ui.render_feature_monitoring()`` inside any
Streamlit script. They render the dashboard's own pages, so both stay one implementation.
"""

from __future__ import annotations

from ui.pages import feature_details, feature_services, feature_views, overview


class FeastUI:
    """The dashboard's sections as calls, for Streamlit apps that embed them."""

    def render_feast_dashboard(self) -> None:
        """Store overview, feature views and feature services (the guide's sections 1-3)."""
        overview.render()
        feature_views.render()
        feature_services.render()

    def render_feature_monitoring(self) -> None:
        """Statistics, drift, freshness and alerts (the guide's section 6)."""
        feature_details.render()


feast_ui = FeastUI()
