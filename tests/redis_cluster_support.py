"""A real three-master Redis Cluster of a test's own on loopback (free ports, own directories).

``redis-server --cluster-enabled yes`` three times, joined by ``redis-cli --cluster create
--cluster-replicas 0``; a master can be stopped (SIGSTOP: accepts connections, never answers)
and resumed. Everything the cluster wrote stays under its directory and goes with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from taxi_platform.polling import poll_until
from tests.redis_support import free_port

MASTERS = 3
NODE_TIMEOUT_MS = 5000  # a stopped master is marked failed after this (cluster then refuses)


class RedisClusterProcesses:
    """Three cluster-enabled redis-servers, their slots split by redis-cli."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ports = [free_port() for _ in range(MASTERS)]
        self.bus_ports = [free_port() for _ in range(MASTERS)]  # default port+10000 may not exist
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def connection_string(self) -> str:
        """Feast's redis_cluster connection string: every master as host:port."""
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start(self) -> None:
        for port, bus_port in zip(self.ports, self.bus_ports, strict=True):
            home = self.directory / str(port)
            home.mkdir(parents=True, exist_ok=True)
            command = [
                "redis-server", "--port", str(port), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes", "--cluster-port", str(bus_port),
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--dir", str(home),
                "--save", "", "--appendonly", "no",
            ]  # fmt: skip
            self.processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
        for port in self.ports:
            poll_until(
                redis.Redis(port=port).ping, timeout=10, interval=0.05,
                retry_on=(redis.ConnectionError,), failure=f"redis-server :{port} did not start",
            )  # fmt: skip
        subprocess.run(
            ["redis-cli", "--cluster", "create",
             *(f"127.0.0.1:{port}" for port in self.ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        self.wait_ok()

    def wait_ok(self, timeout: float = 30) -> None:
        """Until every master reports cluster_state:ok (all 16384 slots served)."""
        for port in self.ports:
            poll_until(
                lambda p=port: redis.Redis(port=p).cluster("info")["cluster_state"] == "ok"
                or None,
                timeout=timeout, interval=0.1, retry_on=(redis.RedisError,),
                failure=f"the cluster did not reach state ok on :{port}",
            )  # fmt: skip

    def pause(self, index: int) -> None:
        os.kill(self.processes[index].pid, signal.SIGSTOP)

    def resume(self, index: int) -> None:
        os.kill(self.processes[index].pid, signal.SIGCONT)

    def keys_per_master(self) -> list[int]:
        return [redis.Redis(port=port).dbsize() for port in self.ports]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


@contextmanager
def redis_cluster(directory: Path) -> Iterator[RedisClusterProcesses]:
    """A started three-master cluster, ended (with its data) when the block ends."""
    cluster = RedisClusterProcesses(directory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
