"""kafka-python compatibility checks (pure-python client, its own protocol code).

Most consumers have no group_id and use assign() + seek; one check runs a consumer group with
kafka-python's CooperativeStickyAssignor (issue 12's reported scenario).
"""
import sys
import threading
import time

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from compat import Deadline, Rec, Reporter, bootstrap, compare, gen_records, log, uniq

R = Reporter("kafka-python")


def produce(topic, recs, partition=None, **conf):
    p = KafkaProducer(bootstrap_servers=bootstrap(), request_timeout_ms=15000, max_block_ms=20000, **conf)
    try:
        futs = [p.send(topic, key=r.key, value=r.value, headers=r.headers, timestamp_ms=r.ts, partition=partition)
                for r in recs]
        p.flush(timeout=60)
        return [f.get(timeout=1) for f in futs]
    finally:
        p.close(timeout=10)


def consume(topic, partitions, expected, timeout=60):
    c = KafkaConsumer(bootstrap_servers=bootstrap(), group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", request_timeout_ms=20000)
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        out = []
        dl = Deadline(timeout)
        at_end_since = None
        while not dl.expired():
            batch = c.poll(timeout_ms=300)
            for tp, msgs in batch.items():
                for m in msgs:
                    out.append((m.partition, m.offset, Rec(m.key, m.value, list(m.headers), m.timestamp)))
            if len(out) >= expected:
                time.sleep(0.3)
                for tp, msgs in c.poll(timeout_ms=300).items():   # catch extras/duplicates
                    for m in msgs:
                        out.append((m.partition, m.offset, Rec(m.key, m.value, list(m.headers), m.timestamp)))
                break
            if not batch:
                ends = c.end_offsets(tps)
                if all(c.position(tp) >= ends[tp] for tp in tps):
                    at_end_since = at_end_since or time.monotonic()
                    if time.monotonic() - at_end_since > 3:
                        break
                else:
                    at_end_since = None
        return out
    finally:
        c.close()


def create_topic(name, parts):
    a = KafkaAdminClient(bootstrap_servers=bootstrap(), request_timeout_ms=20000)
    try:
        a.create_topics([NewTopic(name, num_partitions=parts, replication_factor=1)], timeout_ms=20000)
        dl = Deadline(20)
        while not dl.expired():
            md = a.describe_topics([name])
            if md and md[0].get("error_code", 0) == 0 and len(md[0].get("partitions", [])) == parts:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{name} not described with {parts} partitions")
    finally:
        a.close()


def t_roundtrip(codec=None):
    name = f"roundtrip {codec or 'uncompressed'}"
    topic = uniq(f"kp-{codec or 'none'}")
    create_topic(topic, 1)
    recs = gen_records(3000 if codec is None else 1000, seed=300 + len(codec or ""))
    conf = {"compression_type": codec} if codec else {}
    md = produce(topic, recs, partition=0, linger_ms=10, **conf)
    R.check(f"{name}: acked offsets 0..N-1", [m.offset for m in md] == list(range(len(recs))),
            f"head {[m.offset for m in md][:5]}")
    got = consume(topic, [0], len(recs))
    compare(R, f"{name}: key/value/headers/timestamp byte-exact", recs, [r for _, _, r in got])


def t_idempotent():
    topic = uniq("kp-idem")
    recs = gen_records(1000, seed=310)
    produce(topic, recs, partition=0, enable_idempotence=True, acks="all")
    got = consume(topic, [0], len(recs))
    compare(R, "idempotent producer (auto-created topic): byte-exact", recs, [r for _, _, r in got])


def t_three_partitions():
    topic = uniq("kp-3part")
    create_topic(topic, 3)
    recs = [Rec(f"key-{k}".encode(), f"{k}:{s}".encode(), [], 1_700_000_000_000 + s) for s in range(30) for k in range(40)]
    md = produce(topic, recs)
    got = consume(topic, [0, 1, 2], len(recs))
    parts, seqs = {}, {}
    for p, _, r in sorted(got, key=lambda x: (x[0], x[1])):
        parts.setdefault(r.key, set()).add(p)
        seqs.setdefault(r.key, []).append(int(r.value.split(b":")[1]))
    sent = {}
    for r, m in zip(recs, md):
        sent.setdefault(r.key, set()).add(m.partition)
    R.check("3-partitions: all consumed, each key on one partition (the acked one), in order",
            len(got) == len(recs) and parts == sent and all(v == list(range(30)) for v in seqs.values())
            and len({p for v in parts.values() for p in v}) == 3,
            f"got {len(got)}/{len(recs)}, partitions used {sorted({p for v in parts.values() for p in v})}")


def t_cooperative_group(delay_s):
    """Two consumers, CooperativeStickyAssignor, 4 partitions: the second joins `delay_s` after
    the first, so the first must give up two partitions in a cooperative follow-up round."""
    try:
        from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
    except ImportError:
        R.check("cooperative group: kafka-python has CooperativeStickyAssignor", False, kafka.__version__)
        return
    topic = uniq("kp-coop")
    create_topic(topic, 4)
    recs = [Rec(f"k{i}".encode(), str(i).encode(), [], 1_700_000_000_000 + i) for i in range(400)]
    produce(topic, recs)
    consumed = [set(), set()]
    final = [[], []]
    stop = threading.Event()

    def member(i):
        c = KafkaConsumer(topic, bootstrap_servers=bootstrap(), group_id=f"g-{topic}", client_id=f"coop-{i}",
                          auto_offset_reset="earliest", partition_assignment_strategy=[CooperativeStickyAssignor],
                          session_timeout_ms=10000, heartbeat_interval_ms=1000)
        try:
            while not stop.is_set():
                for rs in c.poll(timeout_ms=200).values():
                    consumed[i].update(r.value for r in rs)
                final[i] = sorted(tp.partition for tp in c.assignment())
        finally:
            c.close()

    threads = [threading.Thread(target=member, args=(i,), daemon=True) for i in (0, 1)]
    threads[0].start()
    time.sleep(delay_s)
    threads[1].start()
    deadline = Deadline(40)
    while not deadline.expired():
        if len(consumed[0] | consumed[1]) == 400 and final[0] and final[1] and sorted(final[0] + final[1]) == [0, 1, 2, 3]:
            break
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(15)
    total = len(consumed[0] | consumed[1])
    R.check(f"cooperative-sticky group (second member after {delay_s}s): partitions split 2/2, all 400 consumed",
            total == 400 and len(final[0]) == 2 and len(final[1]) == 2 and sorted(final[0] + final[1]) == [0, 1, 2, 3],
            f"consumed {total}, assignments {final}")


def main():
    log(f"kafka-python {kafka.__version__}")
    R.run("roundtrip", t_roundtrip)
    R.run("roundtrip-gzip", t_roundtrip, "gzip")
    R.run("idempotent", t_idempotent)
    R.run("3-partitions", t_three_partitions)
    R.run("cooperative-group-together", t_cooperative_group, 0)
    R.run("cooperative-group-late", t_cooperative_group, 4)
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
