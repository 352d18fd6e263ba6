"""Online lookups by trip id: resolve each trip's area and company, then read a feature service.

A trip id alone names only the trip entity, while a service such as model_inference_v1 spans
the trip, area and company entities; the trip's own features say which area and company it has.
"""

from __future__ import annotations

from typing import Any

from feast import FeatureStore

from taxi_platform.errors import PlatformError

# Feast cannot look up a null join key; a trip without an area or company is looked up under
# a key no entity has (areas are 1-77, blank company names are stored as null), so it reads
# as NOT_FOUND like any other missing entity.
NO_AREA = 0
NO_COMPANY = ""


def entity_rows_for_trips(store: FeatureStore, trip_ids: list[str]) -> list[dict[str, Any]]:
    """Join keys for each trip: trip_id plus its pickup area_id and company_name (or None)."""
    keys = store.get_online_features(
        features=["trip_features:pickup_community_area", "trip_features:company"],
        entity_rows=[{"trip_id": trip_id} for trip_id in trip_ids],
    ).to_dict()
    return [
        {"trip_id": trip_id, "area_id": area, "company_name": company}
        for trip_id, area, company in zip(
            trip_ids, keys["pickup_community_area"], keys["company"], strict=True
        )
    ]


def online_features_for_trips(
    store: FeatureStore, trip_ids: list[str], service_name: str
) -> list[dict[str, Any]]:
    """One dict per trip with its join keys and every feature of the service (None if absent)."""
    try:
        service = store.get_feature_service(service_name)
    except Exception as exc:  # Feast raises its own FeatureServiceNotFoundException
        valid = ", ".join(sorted(s.name for s in store.list_feature_services()))
        raise PlatformError(f"unknown feature service {service_name!r}; valid: {valid}") from exc
    rows = entity_rows_for_trips(store, trip_ids)
    lookup_rows = [
        {
            "trip_id": row["trip_id"],
            "area_id": NO_AREA if row["area_id"] is None else row["area_id"],
            "company_name": NO_COMPANY if row["company_name"] is None else row["company_name"],
        }
        for row in rows
    ]
    values = store.get_online_features(features=service, entity_rows=lookup_rows).to_dict()
    names = [name for name in values if name not in rows[0]]
    return [{**row, **{name: values[name][i] for name in names}} for i, row in enumerate(rows)]
