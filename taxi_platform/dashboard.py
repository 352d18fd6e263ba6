"""Start the Streamlit dashboard (ui/streamlit_app.py): ``taxi-platform ui`` and scripts/demo.sh."""

from __future__ import annotations

import os
import sys

from taxi_platform.settings import PROJECT_ROOT, Settings

APP = PROJECT_ROOT / "ui" / "streamlit_app.py"


def streamlit_command(settings: Settings, port: int | None = None) -> list[str]:
    """`streamlit run` of the dashboard on ``port`` (default TAXI_UI_PORT), headless."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port or settings.ui_port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def run_dashboard(settings: Settings, port: int | None = None) -> None:
    """Replace this process with Streamlit serving the dashboard (Ctrl-C stops it)."""
    command = streamlit_command(settings, port)
    print(f"dashboard: http://127.0.0.1:{port or settings.ui_port} (API {settings.ui_api_base})")
    sys.stdout.flush()
    os.execv(command[0], command)
