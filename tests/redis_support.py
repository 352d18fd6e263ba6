"""A real redis-server of a test's own (a port no one else uses), for faults the shared Redis
must not suffer: stopped (SIGSTOP), shut down, restarted with its data."""

from __future__ import annotations

import socket
import subprocess

import redis

from taxi_platform.polling import poll_until


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
