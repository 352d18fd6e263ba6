"""Feast's file registry store with writes no reader sees half done.

Feast's ``FileRegistryStore`` truncates the registry file, then writes it. A reader in between
(an API request refreshing its registry while a materialization commits a view's state)
parses a truncated file: "Wire format was corrupt", or views "not found". This store writes
the new registry with the platform's atomic write (a temporary file in the same directory,
synced, renamed over the old one), so every reader gets the old registry or the new one,
whole. Selected in feature_store*.yaml with ``registry_store_type``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from feast.infra.registry.file import FileRegistryStore
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.repo_config import RegistryConfig

from taxi_platform.data.storage import replace_file_atomically


class AtomicFileRegistryStore(FileRegistryStore):
    def __init__(self, registry_config: RegistryConfig, repo_path: Path) -> None:
        super().__init__(registry_config, repo_path)
        path = Path(registry_config.path)
        self.path = path if path.is_absolute() else repo_path / path

    def update_registry_proto(self, registry_proto: RegistryProto) -> None:
        registry_proto.version_id = str(uuid.uuid4())  # what Feast's own write stamps
        registry_proto.last_updated.FromDatetime(datetime.now(UTC))
        data = registry_proto.SerializeToString()
        replace_file_atomically(self.path, lambda tmp: tmp.write_bytes(data))
