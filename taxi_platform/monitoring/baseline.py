"""A model version's baseline: the statistics of the training set it was trained on.

Saved next to the model (``<serving dir>/<version>/baseline_stats.json``) by the training DAG
after it publishes the version; the health job compares recent windows with the baseline of
the version the API serves (the newest, as api/model_store.py picks it).
"""

from __future__ import annotations

from pathlib import Path

from feast import FeatureStore
from pydantic import BaseModel

from taxi_platform.data.storage import replace_file_atomically
from taxi_platform.duck import connect
from taxi_platform.errors import PlatformError
from taxi_platform.monitoring.health import feature_kinds, float32_features
from taxi_platform.monitoring.models import FeatureStats
from taxi_platform.monitoring.stats import profile
from taxi_platform.settings import Settings

BASELINE_FILE = "baseline_stats.json"


class Baseline(BaseModel):
    model_version: str
    training_set: str
    rows: int
    views: dict[str, dict[str, FeatureStats]]


def baseline_path(settings: Settings, version: str) -> Path:
    return settings.model_dir / version / BASELINE_FILE


def serving_version(settings: Settings) -> str | None:
    """The version the API serves: the highest numbered directory of the serving dir."""
    if not settings.model_dir.is_dir():
        return None
    versions = [p.name for p in settings.model_dir.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(versions, key=int) if versions else None


def save_training_baseline(
    settings: Settings, store: FeatureStore, csv: Path, version: str, service: str
) -> Baseline:
    """Profile the training CSV, per view of ``service``'s features, as ``version``'s baseline."""
    if not (settings.model_dir / version).is_dir():
        raise PlatformError(f"no model version {version!r} under {settings.model_dir}")
    con = connect()
    rows = con.read_csv(str(csv), header=True)
    views = {v.name: v for v in store.list_all_feature_views()}
    stats: dict[str, dict[str, FeatureStats]] = {}
    for projection in store.get_feature_service(service).feature_view_projections:
        kinds = feature_kinds(views[projection.name])
        wanted = {f.name: kinds[f.name] for f in projection.features}
        stats[projection.name] = profile(
            con, rows, wanted, bins=settings.monitoring_bins,
            float32=float32_features(views[projection.name]),
        )  # fmt: skip
    baseline = Baseline(
        model_version=version,
        training_set=str(csv),
        rows=rows.aggregate("count(*)").fetchall()[0][0],
        views=stats,
    )
    text = baseline.model_dump_json(indent=1)
    replace_file_atomically(baseline_path(settings, version), lambda tmp: tmp.write_text(text))
    return baseline


def load_serving_baseline(settings: Settings) -> Baseline | None:
    """The served version's baseline, None when no version or no baseline is stored."""
    version = serving_version(settings)
    if version is None or not baseline_path(settings, version).exists():
        return None
    return Baseline.model_validate_json(baseline_path(settings, version).read_text())
