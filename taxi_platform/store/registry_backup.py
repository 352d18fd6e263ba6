"""Backups of the Feast registry and restoring one, never a broken one.

A backup is the registry file as Feast wrote it (a serialized ``RegistryProto``) and a
``.sha256`` file beside it in sha256sum's format. Restoring checks that the digest matches,
that the bytes parse as a registry and that it holds this repository's project; only then is
the live registry replaced, atomically. A refused backup leaves the live registry untouched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.repo_config import load_repo_config
from google.protobuf.message import DecodeError

from taxi_platform.data.storage import replace_file_atomically
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings
from taxi_platform.store.repo import export_profile_env

SUFFIX = ".db"


@dataclass
class RegistryBackup:
    path: Path
    sha256: str
    project: str
    feature_views: int


def backup_dir(settings: Settings) -> Path:
    return settings.var_dir / "registry_backups"


def live_registry(settings: Settings) -> tuple[Path, str]:
    """The registry file of the profile's feature_store.yaml, and its project."""
    export_profile_env(settings)
    config = load_repo_config(settings.feature_repo, settings.feature_store_yaml)
    path = Path(config.registry.path)
    return (path if path.is_absolute() else settings.feature_repo / path), config.project


def backup(settings: Settings, keep: int | None = None) -> RegistryBackup:
    """Copy the live registry (checked as a restore would check it) into the backup folder;
    keep the newest ``keep`` backups of this profile (default TAXI_REGISTRY_BACKUPS_KEPT)."""
    live, project = live_registry(settings)
    if not live.exists():
        raise PlatformError(f"no registry at {live}; run `taxi-platform apply` first")
    data = live.read_bytes()
    views = _check(data, project, live)
    digest = hashlib.sha256(data).hexdigest()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = backup_dir(settings) / f"registry-{settings.profile}-{project}-{stamp}{SUFFIX}"
    replace_file_atomically(target, lambda tmp: tmp.write_bytes(data))
    digest_file = target.with_name(target.name + ".sha256")
    replace_file_atomically(digest_file, lambda tmp: tmp.write_text(f"{digest}  {target.name}\n"))
    _prune(
        target.parent,
        f"registry-{settings.profile}-{project}-",
        keep or settings.registry_backups_kept,
    )
    return RegistryBackup(target, digest, project, views)


def restore(settings: Settings, file: Path) -> RegistryBackup:
    """Replace the live registry with the backup ``file`` once it passes every check."""
    live, project = live_registry(settings)
    try:
        data = file.read_bytes()
        expected = file.with_name(file.name + ".sha256").read_text().split()[0]
    except (OSError, IndexError) as exc:
        raise PlatformError(f"cannot read backup {file} and its .sha256: {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise PlatformError(
            f"backup {file} is corrupt: sha256 {digest[:12]}... != recorded {expected[:12]}..."
        )
    views = _check(data, project, file)
    replace_file_atomically(live, lambda tmp: tmp.write_bytes(data))
    return RegistryBackup(file, digest, project, views)


def _check(data: bytes, project: str, source: Path) -> int:
    """The number of feature views of ``project`` in the serialized registry ``data``."""
    proto = RegistryProto()
    try:
        proto.ParseFromString(data)
    except DecodeError as exc:
        raise PlatformError(f"{source} is not a Feast registry: {exc}") from None
    projects = {m.project for m in proto.project_metadata} | {p.spec.name for p in proto.projects}
    projects |= {view.spec.project for view in proto.feature_views}
    if project not in projects:
        found = ", ".join(sorted(projects)) or "none"
        raise PlatformError(f"{source} holds project(s) {found}, not this repository's {project}")
    return sum(view.spec.project == project for view in proto.feature_views)


def _prune(folder: Path, prefix: str, keep: int) -> None:
    """Delete all but the newest ``keep`` backups named ``prefix*`` (and their digests)."""
    backups = sorted(folder.glob(f"{prefix}*{SUFFIX}"))
    for old in backups[: max(len(backups) - keep, 0)]:
        old.unlink(missing_ok=True)
        old.with_name(old.name + ".sha256").unlink(missing_ok=True)
