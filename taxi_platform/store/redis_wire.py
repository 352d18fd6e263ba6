"""Raw pipelined Redis commands on one Redis or a Redis Cluster, for the hot read and write paths.

redis-py's pipelines cost more per command than the commands themselves at the fast reader's
and the vectorized writer's sizes, so both pack commands in the Redis protocol themselves and
send them here: all of a node's commands in one write, then all its replies read back. On a
cluster each command goes to the master owning its key's hash slot (Feast's keys have no hash
tags; the slot is CRC16 of the whole key, as the server computes it), every node's batch is
sent before any reply is read, and replies come back in the commands' order.

Clients never retry: a down or hung node fails the call fast with ``redis.RedisError``.
"""

from __future__ import annotations

from collections.abc import Sequence

import hiredis
import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import Connection
from redis.crc import key_slot
from redis.retry import Retry

from taxi_platform.store.feast_compat import redis_connection

Client = redis.Redis | RedisCluster


def bulk(data: bytes) -> bytes:
    """One bulk string of the Redis protocol."""
    return b"$%d\r\n%b\r\n" % (len(data), data)


def pack(*parts: bytes) -> bytes:
    """One command (name and arguments) in the Redis protocol."""
    return b"*%d\r\n%b" % (len(parts), b"".join(bulk(part) for part in parts))


def connect(connection_string: str, redis_type: str, timeout: float | None) -> Client:
    """A client for Feast's connection string (``host:port[,host:port...][,key=value...]``).

    ``redis_cluster`` discovers the cluster from the listed nodes (one is enough). No retries,
    and no CLIENT SETINFO on connect: its reply would wait the full timeout on a hung server.
    """
    nodes, params = redis_connection(connection_string)
    params.update(
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        driver_info=None,
    )
    if redis_type == "redis_cluster":
        startup = [ClusterNode(node["host"], int(node["port"])) for node in nodes]
        return RedisCluster(startup_nodes=startup, **params)
    return redis.Redis(host=nodes[0]["host"], port=int(nodes[0]["port"]), **params)


def execute(
    client: Client,
    packed: Sequence[bytes],
    keys: Sequence[bytes],
    timeout: float | None = None,
    default_timeout: float | None = None,
) -> list:
    """The replies to ``packed`` (command i acts on ``keys[i]``), in order.

    ``timeout`` below ``default_timeout`` (the client's) bounds this call's socket waits only.
    An error reply is raised after every reply was read (the connections stay usable); a
    MOVED reply also refreshes the cluster's slot map, so the next call goes to the new owner.
    """
    if timeout is not None and timeout <= 0:
        raise redis.TimeoutError("the deadline passed before the commands were sent")
    if isinstance(client, RedisCluster):
        groups: dict[str, tuple[redis.Redis, list[int]]] = {}
        manager = client.nodes_manager
        for index, key in enumerate(keys):
            node = manager.get_node_from_slot(key_slot(key))
            groups.setdefault(node.name, (node.redis_connection, []))[1].append(index)
    else:
        groups = {"": (client, range(len(packed)))}  # type: ignore[dict-item]
    lowered = timeout if timeout is not None and (default_timeout or 1e9) > timeout else None
    taken: list[tuple[redis.Redis, Connection, Sequence[int]]] = []
    replies: list = [None] * len(packed)
    try:
        for node_client, indices in groups.values():
            conn = node_client.connection_pool.get_connection()
            taken.append((node_client, conn, indices))
            if lowered is not None:
                conn.update_current_socket_timeout(lowered)
            conn.send_packed_command([b"".join(packed[i] for i in indices)], check_health=False)
        for _, conn, indices in taken:
            for i, reply in zip(indices, _read(conn, len(indices)), strict=True):
                replies[i] = reply
    except BaseException:
        for _, conn, _ in taken:
            conn.disconnect()
        raise
    finally:
        for node_client, conn, _ in taken:
            if lowered is not None:
                conn.update_current_socket_timeout(default_timeout)  # no-op once disconnected
            node_client.connection_pool.release(conn)
    errors = [reply for reply in replies if isinstance(reply, redis.ResponseError)]
    if errors:
        if isinstance(client, RedisCluster) and any(
            str(e).startswith(("MOVED", "ASK")) for e in errors
        ):
            client.nodes_manager.initialize()
        raise errors[0]
    return replies


def _read(conn: Connection, count: int) -> list:
    """``count`` replies read off the connection's socket and parsed by hiredis.

    redis-py's read_response costs several times the parse per reply (health checks, error
    texts built in advance); at hundreds of thousands of replies that dominated the writer.
    An error reply comes back as a ``redis.ResponseError`` in its place.
    """
    sock = conn._sock  # connected by send_packed_command
    reader = hiredis.Reader()
    chunk = bytearray(1 << 18)
    out: list = []
    try:
        while len(out) < count:
            reply = reader.gets()
            if reply is False:
                size = sock.recv_into(chunk)
                if not size:
                    raise redis.ConnectionError("Redis closed the connection")
                reader.feed(chunk, 0, size)
            elif isinstance(reply, hiredis.ReplyError):
                out.append(redis.ResponseError(str(reply)))
            else:
                out.append(reply)
    except TimeoutError as exc:
        raise redis.TimeoutError(f"no reply within the timeout ({exc})") from None
    except OSError as exc:
        raise redis.ConnectionError(f"reading from Redis failed ({exc})") from None
    return out
