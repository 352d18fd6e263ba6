"""What the multi-processing test runs in Beam's worker processes.

A module of its own, importing nothing heavy: each worker process unpickles the function by
importing this module, and the test module would make each of them load TensorFlow.
"""

from __future__ import annotations

import os
import time


def worker_pid(_: int) -> int:
    """The process an element ran in (a short sleep keeps both workers busy)."""
    time.sleep(0.01)
    return os.getpid()
