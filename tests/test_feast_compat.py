"""The compatibility module accepts the Feast it was written for and names any other."""

from __future__ import annotations

import feast
import pytest

from taxi_platform.errors import PlatformError
from taxi_platform.store.feast_compat import SUPPORTED_FEAST, check_feast_version, redis_field


def test_installed_feast_is_supported():
    check_feast_version(feast.__version__)
    check_feast_version(f"{SUPPORTED_FEAST}.9")


@pytest.mark.parametrize("version", ["0.68.0", "0.6.7", "1.0.0", "0.66.2"])
def test_other_versions_fail_readably(version):
    with pytest.raises(PlatformError, match=rf"feast {version} is installed .* written for"):
        check_feast_version(version)


def test_redis_field_is_feasts_4_byte_hash():
    """The field name of trip_features:fare as RedisOnlineStore writes it (mmh3, 4 bytes)."""
    assert len(redis_field("trip_features", "fare")) == 4
    assert redis_field("a", "b") == b"ChD\xa2"
