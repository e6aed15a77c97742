"""A few Kafka requests on the wire, for the benchmark scripts (no client library needed).

Only non-flexible request versions, so every header is v1 (api key, version, correlation id,
client id) and every response header is just the correlation id:

    ApiVersions v0, CreateTopics v2, OffsetCommit v2, OffsetFetch v1, IncrementalAlterConfigs v0

`commit_load` writes many OffsetCommit requests over a few connections, each connection keeping
up to `window` requests in flight (Brook answers a connection's requests in order).
"""
import asyncio
import socket
import struct
import time

CLIENT_ID = b"brook-bench"


def _str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def _nstr(s):
    return struct.pack(">h", -1) if s is None else _str(s)


def _header(api_key, version, corr):
    return struct.pack(">hhi", api_key, version, corr) + _str(CLIENT_ID)


class Reader:
    def __init__(self, b, pos=0):
        self.b, self.p = b, pos

    def i8(self):
        v = self.b[self.p]
        self.p += 1
        return v

    def i16(self):
        v = struct.unpack_from(">h", self.b, self.p)[0]
        self.p += 2
        return v

    def i32(self):
        v = struct.unpack_from(">i", self.b, self.p)[0]
        self.p += 4
        return v

    def i64(self):
        v = struct.unpack_from(">q", self.b, self.p)[0]
        self.p += 8
        return v

    def nstr(self):
        n = self.i16()
        if n < 0:
            return None
        v = bytes(self.b[self.p:self.p + n]).decode()
        self.p += n
        return v


class Conn:
    """One blocking connection: request() sends one request and returns the response body."""

    def __init__(self, host, port, timeout=60):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.corr = 0

    def close(self):
        self.s.close()

    def _recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            c = self.s.recv(n - len(buf))
            if not c:
                raise ConnectionError("broker closed the connection")
            buf += c
        return bytes(buf)

    def request(self, api_key, version, body):
        self.corr += 1
        msg = _header(api_key, version, self.corr) + body
        self.s.sendall(struct.pack(">i", len(msg)) + msg)
        n = struct.unpack(">i", self._recv(4))[0]
        resp = self._recv(n)
        corr = struct.unpack_from(">i", resp)[0]
        if corr != self.corr:
            raise ConnectionError(f"correlation id {corr}, expected {self.corr}")
        return Reader(resp, 4)

    # ------------------------------------------------------------------ requests

    def api_versions(self):
        r = self.request(18, 0, b"")
        return r.i16()

    def create_topic(self, name, partitions, configs=None, timeout_ms=60000):
        """CreateTopics v2; returns (error code, message). 36 = already exists."""
        cfg = configs or {}
        body = struct.pack(">i", 1) + _str(name) + struct.pack(">ihi", partitions, 1, 0)
        body += struct.pack(">i", len(cfg)) + b"".join(_str(k) + _nstr(str(v)) for k, v in cfg.items())
        body += struct.pack(">ib", timeout_ms, 0)
        r = self.request(19, 2, body)
        r.i32()  # throttle
        assert r.i32() == 1
        r.nstr()
        return r.i16(), r.nstr()

    def alter_topic_configs(self, name, configs):
        """IncrementalAlterConfigs v0, SET each of `configs` on topic `name`; returns (code, message)."""
        body = struct.pack(">i", 1) + struct.pack(">b", 2) + _str(name)
        body += struct.pack(">i", len(configs))
        body += b"".join(_str(k) + struct.pack(">b", 0) + _nstr(str(v)) for k, v in configs.items())
        body += struct.pack(">b", 0)
        r = self.request(44, 0, body)
        r.i32()
        assert r.i32() == 1
        return r.i16(), r.nstr()

    def offset_commit(self, group, topic, offsets):
        """Standalone OffsetCommit v2 (generation -1, no member); offsets: {partition: offset}.
        Returns {partition: error code}."""
        r = self.request(8, 2, commit_body(group, topic, offsets))
        out = {}
        for _ in range(r.i32()):
            r.nstr()
            for _ in range(r.i32()):
                p = r.i32()
                out[p] = r.i16()
        return out

    def offset_fetch(self, group, topic, partitions):
        """OffsetFetch v1; returns {partition: (offset, error code)}."""
        body = _str(group) + struct.pack(">i", 1) + _str(topic) + struct.pack(">i", len(partitions))
        body += b"".join(struct.pack(">i", p) for p in partitions)
        r = self.request(9, 1, body)
        out = {}
        for _ in range(r.i32()):
            r.nstr()
            for _ in range(r.i32()):
                p = r.i32()
                off = r.i64()
                r.nstr()
                out[p] = (off, r.i16())
        return out


def commit_body(group, topic, offsets):
    body = _str(group) + struct.pack(">i", -1) + _str("") + struct.pack(">q", -1)
    body += struct.pack(">i", 1) + _str(topic) + struct.pack(">i", len(offsets))
    body += b"".join(struct.pack(">iqh", p, o, -1) for p, o in offsets.items())
    return body


def commit_response_ok(topic, partitions):
    """The exact OffsetCommit v2 response body (after the correlation id) when all succeed."""
    return (struct.pack(">i", 1) + _str(topic) + struct.pack(">i", len(partitions))
            + b"".join(struct.pack(">ih", p, 0) for p in partitions))


async def _commit_conn(host, port, count, requests, window, stats, deadline):
    """Sends the `count` requests of the iterator `requests` ((body, expected response body)
    pairs) with up to `window` in flight."""
    reader, writer = await asyncio.open_connection(host, port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    slots = asyncio.Semaphore(window)
    expected = {}
    sent, got = [0], [0]

    async def read_all():
        while True:
            n = struct.unpack(">i", await reader.readexactly(4))[0]
            resp = await reader.readexactly(n)
            corr = struct.unpack_from(">i", resp)[0]
            want = expected.pop(corr)
            if resp[4:] != want:
                # parse to count the failed partitions
                r = Reader(resp, 4)
                for _ in range(r.i32()):
                    r.nstr()
                    for _ in range(r.i32()):
                        r.i32()
                        code = r.i16()
                        if code:
                            stats["errors"] += 1
                            stats["codes"][code] = stats["codes"].get(code, 0) + 1
            got[0] += 1
            stats["requests"] += 1
            slots.release()

    rd = asyncio.ensure_future(read_all())
    for corr, (body, want) in enumerate(requests, 1):
        if time.monotonic() > deadline or corr > count:
            stats["timed_out"] = stats["timed_out"] or time.monotonic() > deadline
            break
        await slots.acquire()
        expected[corr] = want
        msg = _header(8, 2, corr) + body
        writer.write(struct.pack(">i", len(msg)) + msg)
        sent[0] += 1
        if corr % 8 == 0:
            await writer.drain()
    await writer.drain()
    while got[0] < sent[0] and not rd.done():
        if time.monotonic() > deadline:
            stats["timed_out"] = True
            break
        await asyncio.sleep(0.005)
    rd.cancel()
    if rd.done() and not rd.cancelled() and rd.exception():
        raise rd.exception()
    writer.close()


def commit_load(host, port, conns, window=32, timeout=900):
    """Runs one connection per (count, iterator of (body, expected response)) in `conns`;
    returns stats: requests answered, partitions that failed (by code), whether it timed out."""
    stats = {"requests": 0, "errors": 0, "codes": {}, "timed_out": False}
    deadline = time.monotonic() + timeout

    async def main():
        await asyncio.gather(*(_commit_conn(host, port, n, it, window, stats, deadline) for n, it in conns))

    asyncio.run(main())
    return stats
