"""The measurements of scripts/bench-share (see there): share-group throughput beside a
classic consumer group, and redelivery latency after a consumer dies or hangs."""

import argparse
import json
import multiprocessing as mp
import os
import signal
import statistics
import time
import uuid

from confluent_kafka import Consumer, Producer, ShareConsumer
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic,
                                   ResourceType)

PARTITIONS = 8


_ADMINS = {}


def admin(bs):
    # Kept: a dropped AdminClient cancels the requests still in flight.
    if bs not in _ADMINS:
        _ADMINS[bs] = AdminClient({"bootstrap.servers": bs})
    return _ADMINS[bs]


def group_configs(bs, group, configs):
    r = ConfigResource(ResourceType.GROUP, group, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in configs.items()])
    admin(bs).incremental_alter_configs([r])[r].result(timeout=30)


def new_topic(bs, partitions, records):
    name = "bench-share-" + uuid.uuid4().hex[:8]
    admin(bs).create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=30)
    p = Producer({"bootstrap.servers": bs, "linger.ms": 5, "batch.num.messages": 1000})
    value = b"x" * 100
    for i in range(records):
        while True:
            try:
                p.produce(name, key=str(i).encode(), value=value)
                break
            except BufferError:
                p.poll(0.1)
    p.flush(60)
    return name


def share_worker(bs, group, topic, expected, out, deadline_s):
    """Consumes until the group has `expected` records or the deadline: reports its count
    and the time of its last record."""
    c = ShareConsumer({"bootstrap.servers": bs, "group.id": group, "max.poll.records": 500})
    c.subscribe([topic])
    n, last, end = 0, None, time.time() + deadline_s
    while time.time() < end:
        msgs = c.poll(0.5)
        got = sum(1 for m in msgs if m.error() is None)
        if got:
            n += got
            last = time.time()
        with expected.get_lock():
            expected.value -= got
            if expected.value <= 0:
                break
    # Implicit mode accepts a poll's records at the next poll or commit; close() alone
    # releases them (librdkafka 2.16), and they would be delivered to the others again.
    c.commit_sync()
    c.close()
    out.put({"count": n, "last": last})


def classic_worker(bs, topic, records, out, deadline_s):
    c = Consumer({"bootstrap.servers": bs, "group.id": "classic-" + topic, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    n, first, end = 0, None, time.time() + deadline_s
    while n < records and time.time() < end:
        for m in c.consume(500, 0.5):
            if m.error() is None:
                n += 1
                first = first or time.time()
    c.close()
    out.put({"classic": n, "classic_done": time.time()})


def throughput(bs, records, consumers):
    topic = new_topic(bs, PARTITIONS, records)
    group = "share-" + topic
    group_configs(bs, group, {"share.auto.offset.reset": "earliest"})
    left = mp.Value("q", records)
    out = mp.Queue()
    start = time.time()
    procs = [mp.Process(target=share_worker, args=(bs, group, topic, left, out, 120)) for _ in range(consumers)]
    procs.append(mp.Process(target=classic_worker, args=(bs, topic, records, out, 120)))
    for p in procs:
        p.start()
    results = [out.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(10)
    share = [r for r in results if "count" in r]
    classic = next(r for r in results if "classic" in r)
    got = sum(r["count"] for r in share)
    last = max((r["last"] for r in share if r["last"]), default=time.time())
    return {
        "consumers": consumers,
        "records": got,
        "share_records_per_s": round(got / (last - start)),
        "per_consumer": [r["count"] for r in share],
        "classic_records": classic["classic"],
        "classic_records_per_s": round(classic["classic"] / (classic["classic_done"] - start)),
    }


def holder(bs, group, topic, ready):
    """Takes one batch and holds it without acknowledging; tells the parent its offsets."""
    c = ShareConsumer({"bootstrap.servers": bs, "group.id": group, "share.acknowledgement.mode": "explicit"})
    c.subscribe([topic])
    while True:
        msgs = [m for m in c.poll(0.5) if m.error() is None]
        if msgs:
            ready.put([(m.partition(), m.offset()) for m in msgs])
            time.sleep(3600)


def redelivery(bs, how, lock_ms):
    """Seconds from a holder's death (kill) or hang (SIGSTOP) until another member of the
    group receives the records it held."""
    topic = new_topic(bs, 1, 200)
    group = "redeliver-" + topic
    group_configs(bs, group, {"share.auto.offset.reset": "earliest", "share.record.lock.duration.ms": str(lock_ms)})
    ready = mp.Queue()
    h = mp.Process(target=holder, args=(bs, group, topic, ready))
    h.start()
    held = set(ready.get(timeout=60))
    c = ShareConsumer({"bootstrap.servers": bs, "group.id": group})
    c.subscribe([topic])
    seen = set()
    deadline = time.time() + 20
    while time.time() < deadline and not (held - seen) and len(seen) < 200:
        seen.update((m.partition(), m.offset()) for m in c.poll(0.5) if m.error() is None)
    t0 = time.time()
    os.kill(h.pid, signal.SIGKILL if how == "kill" else signal.SIGSTOP)
    first = None
    deadline = t0 + lock_ms / 1000 + 30
    while time.time() < deadline and (held - seen):
        for m in c.poll(0.2):
            if m.error() is None and (m.partition(), m.offset()) in held and first is None:
                first = time.time()
            if m.error() is None:
                seen.add((m.partition(), m.offset()))
    done = time.time()
    if how == "hang":
        os.kill(h.pid, signal.SIGKILL)
    h.join(5)
    c.close()
    return {"how": how, "held": len(held), "first_s": round(first - t0, 3) if first else None,
            "all_s": round(done - t0, 3) if not (held - seen) else None, "lock_ms": lock_ms}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--lock-ms", type=int, default=5000)
    ap.add_argument("--broker-pid", type=int)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rows = []
    with open(os.path.join(a.out, "results.jsonl"), "w") as f:
        for rep in range(a.reps):
            for n in (1, 2, 4):
                r = throughput(a.bootstrap, a.records, n) | {"rep": rep, "kind": "throughput"}
                print(json.dumps(r), flush=True)
                f.write(json.dumps(r) + "\n")
                rows.append(r)
            for how in ("kill", "hang"):
                r = redelivery(a.bootstrap, how, a.lock_ms) | {"rep": rep, "kind": "redelivery"}
                print(json.dumps(r), flush=True)
                f.write(json.dumps(r) + "\n")
                rows.append(r)
    med = lambda xs: statistics.median(xs) if xs else None
    lines = ["| share consumers | share group records/s | classic group records/s beside it |", "|---|---|---|"]
    for n in (1, 2, 4):
        t = [r for r in rows if r["kind"] == "throughput" and r["consumers"] == n]
        lines.append(f"| {n} | {med([r['share_records_per_s'] for r in t]):,.0f} | "
                     f"{med([r['classic_records_per_s'] for r in t]):,.0f} |")
    lines += ["", "| holder | records held | first redelivered after (s) | all after (s) |", "|---|---|---|---|"]
    for how in ("kill", "hang"):
        t = [r for r in rows if r["kind"] == "redelivery" and r["how"] == how]
        lines.append(f"| {how} | {med([r['held'] for r in t])} | {med([r['first_s'] for r in t if r['first_s'] is not None])} | "
                     f"{med([r['all_s'] for r in t if r['all_s'] is not None])} |")
    summary = "\n".join(lines) + "\n"
    print(summary)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(f"records per run: {a.records}, partitions: {PARTITIONS}, reps: {a.reps}, lock: {a.lock_ms} ms\n\n")
        f.write(summary)


if __name__ == "__main__":
    main()
