"""The feature health plugin loads in Airflow (the page itself is checked in a running Airflow by
tests/test_airflow_scheduler.py through tests/feature_health_support.py)."""

from __future__ import annotations

import json
import os
import subprocess

from taxi_platform.settings import PROJECT_ROOT
from tests.airflow_support import AIRFLOW


def test_airflow_plugins_lists_it(tmp_path):
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "TAXI_HOME": str(tmp_path),
    }
    result = subprocess.run(
        [AIRFLOW, "plugins", "--output", "json"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    plugins = {plugin["name"]: plugin for plugin in json.loads(result.stdout)}
    plugin = plugins["feature_health"]
    assert "feature_health.py" in str(plugin["source"])
    [app] = plugin["fastapi_apps"]
    assert app["url_prefix"] == "/feature-health" and app["name"] == "Feature health"
    [view] = plugin["external_views"]
    assert view["name"] == "Feature health" and view["destination"] == "nav"
    assert view["href"] == "feature-health/"
