"""Atomic writes into the offline store, so a failed step never loses data already stored."""

from __future__ import annotations

import shutil
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
    """Run ``write(tmp_path)``; only if it succeeds, rename the temporary file over ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        write(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)
