"""Atomic writes (offline store, registry, downloads): a failed step never loses data already
stored, and readers never see a file half written."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path


def replace_dir_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(staging_dir)``; only if it succeeds, swap the staging dir in for ``target``.

    Staging and backup dirs sit one level above ``target``'s siblings, so readers that glob
    over the siblings (the trip sources) never see half-written data.
    """
    holder = target.parent.parent / f".staging-{target.parent.name}"
    holder.mkdir(parents=True, exist_ok=True)
    staging = holder / f"new-{target.name}"
    backup = holder / f"old-{target.name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(backup, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.rename(backup)
    staging.rename(target)
    shutil.rmtree(backup, ignore_errors=True)


def replace_file_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(tmp_path)``; only if it succeeds, sync the temporary file and rename it over
    ``target``. Readers get the old file or the new one, whole; each writer has a temporary
    file of its own, so concurrent writers (two processes committing the registry) never
    write into one another's."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        with tmp.open("rb") as written:
            os.fsync(written.fileno())
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
