"""Check a deployed store: definitions registered, online store reachable and serving.

Run as ``python -m taxi_platform.store.verify``; exits 1 with one line per problem.
"""

from __future__ import annotations

import sys

from taxi_platform.errors import PlatformError
from taxi_platform.jobs.feature_job import lookup_step, newest_trip_ids
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.repo import check_online_store, open_store

EXPECTED_VIEWS = {"trip_features", "area_features", "company_features", "area_realtime_features"}
EXPECTED_SERVICES = {"model_inference_v1", "model_inference_v2", "model_serving_v1", "training_v1"}


def problems(settings: Settings) -> list[str]:
    """What is wrong with the deployed store; empty when it serves the newest trips."""
    check_online_store(settings)
    store = open_store(settings)
    found = []
    missing_views = EXPECTED_VIEWS - {v.name for v in store.list_all_feature_views()}
    if missing_views:
        found.append(f"feature views not registered: {sorted(missing_views)}; run feast apply")
    missing_services = EXPECTED_SERVICES - {s.name for s in store.list_feature_services()}
    if missing_services:
        found.append(f"feature services not registered: {sorted(missing_services)}")
    if found:
        return found
    for row in lookup_step(settings, newest_trip_ids(settings)):
        if any(row["features"][name]["value"] is None for name in ("trip_miles", "avg_fare")):
            found.append(f"trip {row['trip_id']} is not served online; run materialize")
    return found


def main() -> int:
    try:
        settings = load_settings()
        found = problems(settings)
    except PlatformError as exc:
        found = [str(exc)]
    for problem in found:
        print(f"verify: {problem}", file=sys.stderr)
    if not found:
        print(
            f"verify: ok (profile {settings.profile}): definitions registered, newest trips served"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
