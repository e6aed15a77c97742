"""Shared helpers for the python-driven compat suites (kcat, confluent-kafka, crash).

Every check prints exactly one line starting with "PASS: " or "FAIL: ", which the
shell runner counts.  Every loop here is bounded by a count and a deadline.
"""
import os
import random
import sys
import time
import traceback

BASE_TS = 1_700_000_000_000  # 2023-11-14, clearly not "now": proves timestamps are the client's


class Reporter:
    def __init__(self, suite):
        self.suite = suite
        self.passed = 0
        self.failed = 0

    def ok(self, name, detail=""):
        self.passed += 1
        print(f"PASS: {self.suite}: {name}" + (f" ({detail})" if detail else ""), flush=True)

    def bad(self, name, detail):
        self.failed += 1
        detail = str(detail).replace("\n", " | ")
        if len(detail) > 1500:
            detail = detail[:1500] + "...(truncated)"
        print(f"FAIL: {self.suite}: {name}: {detail}", flush=True)

    def check(self, name, cond, detail_fail="", detail_ok=""):
        if cond:
            self.ok(name, detail_ok)
        else:
            self.bad(name, detail_fail or "condition false")
        return bool(cond)

    def run(self, name, fn, *args, **kw):
        """Run one check function; an exception is a FAIL with its message."""
        t0 = time.monotonic()
        log(f"--- {name}")
        try:
            fn(*args, **kw)
        except Exception as e:  # noqa: BLE001 - any client error is a test failure
            tb = traceback.format_exc(limit=3).strip().splitlines()
            where = tb[-3] if len(tb) >= 3 else ""
            self.bad(name, f"{type(e).__name__}: {e} [{where.strip()}]")
        log(f"    {name} took {time.monotonic() - t0:.1f}s")

    def finish(self):
        print(f"{self.suite}: {self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed or not self.passed else 0


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bootstrap():
    b = os.environ.get("BOOTSTRAP")
    if not b:
        sys.exit("BOOTSTRAP env var not set")
    return b


def uniq(prefix):
    return f"{prefix}-{os.getpid()}-{random.randrange(1 << 30):x}"


class Rec:
    __slots__ = ("key", "value", "headers", "ts")

    def __init__(self, key, value, headers, ts):
        self.key = key          # bytes or None
        self.value = value      # bytes or None
        self.headers = headers  # list of (str, bytes)
        self.ts = ts            # int ms

    def __repr__(self):
        def short(b):
            if b is None:
                return "None"
            return repr(b[:40]) + (f"...({len(b)}B)" if len(b) > 40 else "")
        return f"Rec(key={short(self.key)}, value={short(self.value)}, headers={self.headers!r:.120}, ts={self.ts})"


def gen_records(n, seed, *, binary_values=True, binary_headers=True, ascii_keys=False,
                monotonic_ts=False, avoid=(), null_values=True):
    """Deterministic keyed records with headers and explicit timestamps.

    avoid: byte strings that must not occur inside keys/values (kcat delimiters).
    """
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        if ascii_keys:
            key = f"key-{i:05d}-{rnd.randrange(1 << 20):05x}".encode()
        else:
            # keys with binary prefix bytes, unique by index
            key = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 6))) + f"|k{i}".encode()
        kind = i % 10
        if kind == 0 and binary_values:
            value = bytes(range(256)) * rnd.randrange(1, 3)          # every byte value
        elif kind == 1 and binary_values:
            value = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200)))
        elif kind == 2:
            value = b""                                              # empty (not null)
        elif kind == 3 and null_values:
            value = None                                             # null value (tombstone)
        elif kind == 4:
            value = ("utf8 \u00e9\u4e2d\U0001F600 " * rnd.randrange(1, 5)).encode()
        elif kind == 5:
            value = b"x" * rnd.randrange(1000, 5000)                 # compressible, larger
        else:
            value = f"value-{i}-{rnd.random()}".encode()
        if avoid and value is not None:
            value = _strip(value, avoid)
            key = _strip(key, avoid)
        hcount = i % 4
        headers = []
        for h in range(hcount):
            if binary_headers and h == 1:
                hv = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 16)))
            else:
                hv = f"hv{i}.{h}".encode()
            headers.append((f"h{h}", hv))
        if hcount == 3:
            headers.append(("h0", b"dup-key"))  # duplicate header key, order must survive
        if monotonic_ts:
            ts = BASE_TS + i * 10
        else:
            ts = BASE_TS + i * 10 + rnd.randrange(-2000, 2000)  # out of order: negative deltas
        out.append(Rec(key, value, headers, ts))
    return out


def _strip(b, avoid):
    for a in avoid:
        while a in b:
            b = b.replace(a, b"")
    return b


def compare(reporter, name, expected, got, *, check_ts=True, check_headers=True, ts_window=None):
    """Compare expected vs consumed Rec lists field by field; one PASS/FAIL line."""
    problems = []
    if len(got) != len(expected):
        problems.append(f"count: expected {len(expected)} got {len(got)}")
    mism = 0
    for i, (e, g) in enumerate(zip(expected, got)):
        diffs = []
        if e.key != g.key:
            diffs.append("key")
        if e.value != g.value:
            diffs.append("value")
        if check_headers and list(e.headers) != list(g.headers):
            diffs.append("headers")
        if check_ts:
            if ts_window is not None:
                lo, hi = ts_window
                if not (lo <= g.ts <= hi):
                    diffs.append(f"ts {g.ts} not in [{lo},{hi}]")
            elif e.ts != g.ts:
                diffs.append("ts")
        if diffs:
            mism += 1
            if len(problems) < 4:
                problems.append(f"#{i} differs in {diffs}: expected {e!r} got {g!r}")
    if mism:
        problems.append(f"{mism} records differ")
    reporter.check(name, not problems, "; ".join(problems), f"{len(got)} records byte-exact")
    return not problems


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return max(0.0, self.end - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.end


# ---------------------------------------------------------------- confluent-kafka helpers

def ck_producer(extra=None):
    from confluent_kafka import Producer
    conf = {
        "bootstrap.servers": bootstrap(),
        "linger.ms": 20,
        "message.timeout.ms": 60000,
        "socket.timeout.ms": 10000,
    }
    conf.update(extra or {})
    return Producer(conf)


def ck_produce_all(recs, topic, partition=None, extra=None, timeout=90):
    """Produce recs; wait for every delivery report.  Returns list of
    (err, partition, offset) per record, in send order."""
    p = ck_producer(extra)
    results = [None] * len(recs)

    def cb_for(i):
        def cb(err, msg):
            results[i] = (err, msg.partition(), msg.offset() if err is None else None)
        return cb

    dl = Deadline(timeout)
    for i, r in enumerate(recs):
        kw = dict(value=r.value, key=r.key, headers=r.headers or None, timestamp=r.ts, on_delivery=cb_for(i))
        if partition is not None:
            kw["partition"] = partition
        while True:
            try:
                p.produce(topic, **kw)
                break
            except BufferError:
                p.poll(0.05)
                if dl.expired():
                    raise TimeoutError("producer queue full until deadline")
        if i % 500 == 0:
            p.poll(0)
    remaining = p.flush(dl.left())
    if remaining:
        raise TimeoutError(f"{remaining} messages not delivered within {timeout}s")
    errs = [(i, r[0]) for i, r in enumerate(results) if r is None or r[0] is not None]
    if errs:
        raise RuntimeError(f"{len(errs)} delivery errors, first: record #{errs[0][0]}: {errs[0][1]}")
    return results


def ck_consumer(extra=None):
    from confluent_kafka import Consumer
    conf = {
        "bootstrap.servers": bootstrap(),
        # group.id is required by the library's config, but no group API is used:
        # we only assign() partitions and never commit or subscribe.
        "group.id": uniq("compat-nogroup"),
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "socket.timeout.ms": 10000,
    }
    conf.update(extra or {})
    return Consumer(conf)


def ck_consume(topic, partitions, expected_count, timeout=60, start=None, settle=0.5, eof_grace=3.0, extra=None):
    """assign() partitions from OFFSET_BEGINNING (or `start` offset), read until
    expected_count messages arrived AND every partition hit EOF, or every partition
    is at EOF with nothing new for eof_grace s, or the deadline. `extra`: consumer
    settings (e.g. isolation.level).
    Returns dict partition -> list of (offset, Rec)."""
    from confluent_kafka import KafkaError, TopicPartition, OFFSET_BEGINNING
    c = ck_consumer(extra)
    try:
        off = OFFSET_BEGINNING if start is None else start
        c.assign([TopicPartition(topic, p, off) for p in partitions])
        out = {p: [] for p in partitions}
        eof = set()
        n = 0
        dl = Deadline(timeout)
        last_msg = time.monotonic()
        while not dl.expired():
            msgs = c.consume(1000, timeout=0.5)
            for m in msgs:
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                        continue
                    raise RuntimeError(f"consume error: {m.error()}")
                eof.discard(m.partition())
                ts_type, ts = m.timestamp()
                hdrs = [(k, v) for k, v in (m.headers() or [])]
                out[m.partition()].append((m.offset(), Rec(m.key(), m.value(), hdrs, ts)))
                n += 1
            if msgs:
                last_msg = time.monotonic()
            if len(eof) == len(partitions):
                # Every partition is at its high watermark.  With enough records, linger
                # `settle` s to catch extra/duplicate ones; with too few, give the broker
                # `eof_grace` s to show more (a produce already acked must be visible).
                idle = time.monotonic() - last_msg
                if n >= expected_count and idle >= settle:
                    break
                if n < expected_count and idle >= eof_grace:
                    break
        return out
    finally:
        c.close()


def ck_create_topic(name, partitions, timeout=30):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": bootstrap(), "socket.timeout.ms": 10000})
    fs = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                         operation_timeout=timeout, request_timeout=timeout)
    fs[name].result(timeout=timeout)
    # wait (bounded) until metadata shows the partitions
    dl = Deadline(timeout)
    while not dl.expired():
        md = a.list_topics(topic=name, timeout=5)
        t = md.topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == partitions:
            return a
        time.sleep(0.2)
    raise TimeoutError(f"topic {name} not visible with {partitions} partitions in metadata")


# --- consumer-group suites (groups, groups848) ---
def wait_until(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def producer():
    from confluent_kafka import Producer
    return Producer({"bootstrap.servers": bootstrap(), "linger.ms": 5, "message.timeout.ms": 60000,
                     "socket.timeout.ms": 10000, "reconnect.backoff.max.ms": 500})


def new_topic(prefix, nparts):
    t = uniq(prefix)
    ck_create_topic(t, nparts)
    return t


def committed_offsets(group, topic, nparts, timeout=30):
    """OffsetFetch through a confluent-kafka consumer that never joins: {partition: offset or None}."""
    from confluent_kafka import Consumer, TopicPartition, KafkaException
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": group, "enable.auto.commit": False,
                  "socket.timeout.ms": 10000})
    try:
        end = time.monotonic() + timeout
        while True:
            try:
                res = c.committed([TopicPartition(topic, p) for p in range(nparts)], timeout=10)
                return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in res}
            except KafkaException:
                if time.monotonic() > end:
                    raise
                time.sleep(0.5)
    finally:
        c.close()


class MemberSet:
    """Every member process a scenario started (made by `factory`, each with `alive()`, `kill()`
    and a `logf`); all are killed at the end of the `with` block."""

    def __init__(self, factory):
        self.factory = factory
        self.all = []

    def start(self, *a, **kw):
        m = self.factory(*a, **kw)
        self.all.append(m)
        return m

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for m in self.all:
            try:
                if m.alive():
                    m.kill()
            except Exception:  # noqa: BLE001
                pass
            m.logf.close()
