"""The one atomic file write (offline tables, downloads, Feast's registry): readers see a file
whole, a failed write keeps the old one, and concurrent writers never mix their bytes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from taxi_platform.data.storage import replace_file_atomically


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "registry.db"
    replace_file_atomically(target, lambda tmp: tmp.write_bytes(b"old"))

    def fail(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_file_atomically(target, fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["registry.db"]  # no temporary file left


def test_concurrent_writers_and_readers_see_whole_files(tmp_path: Path) -> None:
    """Eight writers (as two processes committing the registry) and a reader, 400 writes."""
    target = tmp_path / "registry.db"
    contents = [bytes([i]) * 200_000 for i in range(8)]
    replace_file_atomically(target, lambda tmp: tmp.write_bytes(contents[0]))

    def write(i: int) -> None:
        for _ in range(50):
            replace_file_atomically(target, lambda tmp: tmp.write_bytes(contents[i]))

    with ThreadPoolExecutor(9) as pool:
        writers = [pool.submit(write, i) for i in range(8)]
        seen = set()
        while not all(w.done() for w in writers):
            seen.add(target.read_bytes())
        for w in writers:
            w.result()
    assert seen <= set(contents)
    assert [p.name for p in tmp_path.iterdir()] == ["registry.db"]
