"""A real redis-server of a test's own (a port no one else uses), for faults the shared Redis
must not suffer: stopped (SIGSTOP), shut down, restarted with its data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from taxi_platform.polling import poll_until
from taxi_platform.settings import Settings, load_settings
from tests.conftest import build_store, make_home


def free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A real redis-server of this test's own, with a dump file so a restart keeps its data."""

    def __init__(self, directory, port: int):
        self.directory, self.port, self.process = directory, port, None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.directory), "--dbfilename", "dump.rdb", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        poll_until(
            redis.Redis(port=self.port).ping,
            timeout=5,
            interval=0.05,
            retry_on=(redis.ConnectionError,),
            failure="private redis-server did not start",
        )

    def stop(self) -> None:
        redis.Redis(port=self.port).shutdown(save=True)
        self.process.wait(timeout=10)

    def keys(self) -> int:
        return redis.Redis(port=self.port).dbsize()


@contextmanager
def store_on_private_redis(tmp: Path, sample_csv: Path) -> Iterator[tuple[Settings, PrivateRedis]]:
    """A private redis-server and a home built from the sample on it (the redis profile);
    the server is resumed if stopped and ended afterwards, its data with it."""
    server = PrivateRedis(tmp, free_port())
    server.start()
    try:
        home = make_home(tmp / "home", sample_csv)
        yield build_store(load_settings(home=home, profile="redis", redis_port=server.port)), server
    finally:
        if server.process.poll() is None:
            os.kill(server.process.pid, signal.SIGCONT)
            server.process.terminate()
            server.process.wait(timeout=10)


def api_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of an API process serving ``settings``' home on its Redis."""
    return {
        **os.environ,
        "TAXI_HOME": str(settings.home),
        "TAXI_PROFILE": settings.profile,
        "TAXI_REDIS_PORT": str(settings.redis_port),
        **extra,
    }
