"""The registry as the online path needs it: views (with join keys, types and ttl), services.

Loaded once and swapped whole on refresh, so reads never touch Feast's registry (resolving it
per request costs 1-15 ms, feast-dev/feast issues 3440 and 6438).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from feast import FeatureStore, FeatureView
from feast.infra.online_stores.helpers import compute_versioned_name

from taxi_platform.store.online.model import (
    FeatureRef,
    FeatureRequestError,
    UnknownFeatureError,
    ViewSpec,
)


@dataclass(frozen=True)
class Catalog:
    """An immutable snapshot of the registry's feature views and feature services."""

    views: dict[str, dict[str, FeatureRef]]  # view name -> feature name -> ref
    services: dict[str, tuple[FeatureRef, ...] | str]  # refs, or why the service is unreadable

    @classmethod
    def load(cls, store: FeatureStore) -> Catalog:
        """Every view with entities (entity-less views are not supported) and every service."""
        versioning = store.config.registry.enable_online_feature_view_versioning
        views: dict[str, dict[str, FeatureRef]] = {}
        for fv in store.list_all_feature_views(allow_cache=True):
            if fv.join_keys and fv.name not in views:
                views[fv.name] = _features(fv, compute_versioned_name(fv, versioning))
        services = {
            service.name: _service_refs(service.feature_view_projections, views)
            for service in store.list_feature_services()
        }
        return cls(views, services)

    def resolve(
        self, features: Sequence[str] | None = None, service: str | None = None
    ) -> list[FeatureRef]:
        """The features of "view:feature" references or of a feature service, validated.

        Short names must be unique, as Feast requires when full_feature_names is False.
        """
        if (features is None) == (service is None):
            raise FeatureRequestError("name either features or a feature service, not both")
        if service is not None:
            refs = self.services.get(service)
            if refs is None:
                raise UnknownFeatureError("feature service", service, self.services)
            if isinstance(refs, str):
                raise FeatureRequestError(f"feature service {service!r} cannot be read: {refs}")
            return list(refs)
        resolved = [self._feature(ref) for ref in features or []]
        names = [ref.name for ref in resolved]
        clashes = sorted({ref.ref for ref in resolved if names.count(ref.name) > 1})
        if clashes:
            raise FeatureRequestError(f"feature names requested more than once: {clashes}")
        return resolved

    def check(self, refs: Sequence[FeatureRef]) -> None:
        """Fail on refs resolved before a refresh that removed their view or feature."""
        for ref in refs:
            current = self.views.get(ref.view)
            if current is None:
                raise UnknownFeatureError("feature view", ref.view, self.views)
            if ref.name not in current:
                raise UnknownFeatureError("feature", ref.ref, (r.ref for r in current.values()))

    def _feature(self, ref: str) -> FeatureRef:
        view_name, sep, name = ref.partition(":")
        if not sep:
            valid = (r.ref for view in self.views.values() for r in view.values())
            raise UnknownFeatureError("feature", ref, valid)
        view = self.views.get(view_name)
        if view is None:
            raise UnknownFeatureError("feature view", view_name, self.views)
        feature = view.get(name)
        if feature is None:
            raise UnknownFeatureError("feature", ref, (r.ref for r in view.values()))
        return feature


def _features(fv: FeatureView, storage_name: str) -> dict[str, FeatureRef]:
    types = {col.name: col.dtype.to_value_type() for col in fv.entity_columns}
    join_keys = tuple(fv.join_keys)
    spec = ViewSpec(
        fv.name, storage_name, join_keys, tuple(types[k] for k in join_keys), fv.ttl or None
    )
    return {f.name: FeatureRef(spec, f.name, f.dtype.to_value_type()) for f in fv.features}


def _service_refs(
    projections: Sequence[Any], views: dict[str, dict[str, FeatureRef]]
) -> tuple[FeatureRef, ...] | str:
    refs: list[FeatureRef] = []
    for projection in projections:
        view = views.get(projection.name)
        if view is None:
            return f"view {projection.name!r} is not a feature view with entities"
        if projection.join_key_map or getattr(projection, "version_tag", None) is not None:
            return f"view {projection.name!r} is projected with a join-key map or version"
        refs.extend(view[f.name] for f in projection.features)
    return tuple(refs)
