"""kafka-python compatibility checks (pure-python client, its own protocol code).

Most consumers have no group_id and use assign() + seek; one check runs a consumer group with
kafka-python's CooperativeStickyAssignor (issue 12's reported scenario).  The transaction checks
(kafka-python >= 2.1: transactional_id, isolation_level) run a group too, for
send_offsets_to_transaction with the consumer's group metadata (KIP-447).
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


def t_cooperative_group(delay_s, defaults=False):
    """Two consumers, CooperativeStickyAssignor, 4 partitions: the second joins `delay_s` after
    the first, so the first must give up two partitions in a cooperative follow-up round.
    `defaults`: as a new user writes it, one client id for both and the default timers
    (heartbeat 3 s), so the member ids sort at random."""
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
        tuned = {} if defaults else dict(client_id=f"coop-{i}", session_timeout_ms=10000, heartbeat_interval_ms=1000)
        c = KafkaConsumer(topic, bootstrap_servers=bootstrap(), group_id=f"g-{topic}", auto_offset_reset="earliest",
                          partition_assignment_strategy=[CooperativeStickyAssignor], **tuned)
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
    how = ", default client id and timers" if defaults else ""
    R.check(f"cooperative-sticky group (second member after {delay_s}s{how}): partitions split 2/2, all 400 consumed",
            total == 400 and len(final[0]) == 2 and len(final[1]) == 2 and sorted(final[0] + final[1]) == [0, 1, 2, 3],
            f"consumed {total}, assignments {final}")


def _txn_producer(tid, **conf):
    return KafkaProducer(bootstrap_servers=bootstrap(), transactional_id=tid, transaction_timeout_ms=30000,
                         request_timeout_ms=15000, max_block_ms=30000, **conf)


def read_values(topic, partitions, level, expected, timeout=20):
    """(partition, value) pairs at isolation `level`, in partition order, read with assign()."""
    c = KafkaConsumer(bootstrap_servers=bootstrap(), group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", isolation_level=level, request_timeout_ms=20000)
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        out = []
        dl = Deadline(timeout)
        idle_since = None
        while not dl.expired():
            batch = c.poll(timeout_ms=200)
            for tp, msgs in batch.items():
                out.extend((m.partition, m.value.decode()) for m in msgs)
            if batch:
                idle_since = None
            else:
                idle_since = idle_since or time.monotonic()
                if len(out) >= expected and time.monotonic() - idle_since > 1.0:
                    break
        return sorted(out, key=lambda x: x[0])  # stable: keeps each partition's order
    finally:
        c.close()


def _end_offsets(topic, partitions, level):
    c = KafkaConsumer(bootstrap_servers=bootstrap(), group_id=None, isolation_level=level, request_timeout_ms=20000)
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        return [v for _, v in sorted(((tp.partition, o) for tp, o in c.end_offsets(tps).items()))]
    finally:
        c.close()


def t_transactions():
    topic = uniq("kp-txn")
    create_topic(topic, 2)
    p = _txn_producer(uniq("kp-tx"))
    try:
        p.init_transactions()
        p.begin_transaction()
        for i in range(6):
            p.send(topic, value=f"c{i}".encode(), partition=i % 2)
        p.commit_transaction()
        p.begin_transaction()
        for i in range(4):
            p.send(topic, value=f"a{i}".encode(), partition=i % 2)
        p.flush(timeout=30)
        p.abort_transaction()
        # A transaction left open: the LSO stays at its first record, the high watermark moves on.
        p.begin_transaction()
        p.send(topic, value=b"open0", partition=0).get(timeout=30)
        lso = _end_offsets(topic, [0, 1], "read_committed")
        hw = _end_offsets(topic, [0, 1], "read_uncommitted")
        # partition 0: c0 c2 c4 +marker, a0 a2 +marker, open0 (offset 7) -> LSO 7, HW 8
        R.check("transactions: with a transaction open, end_offsets(read_committed) is the LSO, below the HW",
                lso[0] == 7 and hw[0] == 8 and lso[1] == hw[1] == 7, f"LSO {lso} HW {hw}")
        open_view = read_values(topic, [0, 1], "read_committed", 6, timeout=8)
        R.check("transactions: read_committed does not see the open transaction's record",
                "open0" not in [v for _, v in open_view] and len(open_view) == 6, f"got {open_view}")
        p.send(topic, value=b"c6", partition=1)
        p.commit_transaction()
    finally:
        p.close(timeout=10)
    committed = read_values(topic, [0, 1], "read_committed", 8)
    want = [(0, "c0"), (0, "c2"), (0, "c4"), (0, "open0"), (1, "c1"), (1, "c3"), (1, "c5"), (1, "c6")]
    R.check("transactions: read_committed sees the 8 committed records in partition order, no aborted one",
            committed == want, f"got {committed}")
    everything = read_values(topic, [0, 1], "read_uncommitted", 12)
    R.check("transactions: read_uncommitted sees all 12 records (aborted ones too)",
            sorted(v for _, v in everything) == sorted([v for _, v in want] + ["a0", "a1", "a2", "a3"]),
            f"got {everything}")
    lso = _end_offsets(topic, [0, 1], "read_committed")
    hw = _end_offsets(topic, [0, 1], "read_uncommitted")
    R.check("transactions: with no transaction open the LSO is the high watermark", lso == hw == [9, 9],
            f"LSO {lso} HW {hw}")


def _group_offsets(group):
    a = KafkaAdminClient(bootstrap_servers=bootstrap(), request_timeout_ms=20000)
    try:
        return a.list_group_offsets(group).get(group, {})
    finally:
        a.close()


def t_send_offsets():
    from kafka.structs import OffsetAndMetadata
    src, dst = uniq("kp-ctp-in"), uniq("kp-ctp-out")
    group = uniq("kp-ctp-group")
    create_topic(src, 1)
    create_topic(dst, 1)
    produce(src, [Rec(f"k{i}".encode(), f"in{i}".encode(), [], 1_700_000_000_000 + i) for i in range(10)],
            partition=0, enable_idempotence=True, acks="all")
    c = KafkaConsumer(src, bootstrap_servers=bootstrap(), group_id=group, enable_auto_commit=False,
                      auto_offset_reset="earliest", isolation_level="read_committed",
                      session_timeout_ms=10000, heartbeat_interval_ms=1000)
    p = _txn_producer(uniq("kp-ctp"))
    tp = TopicPartition(src, 0)
    try:
        got = []
        dl = Deadline(30)
        while len(got) < 10 and not dl.expired():
            for msgs in c.poll(timeout_ms=300).values():
                got.extend(msgs)
        R.check("send_offsets: the group member read the 10 input records", len(got) == 10, f"got {len(got)}")
        nxt = max(m.offset for m in got) + 1
        p.init_transactions()
        p.begin_transaction()
        for m in got:
            p.send(dst, key=m.key, value=b"aborted-" + m.value.upper(), partition=0)
        p.flush(timeout=30)   # the aborted records reach the log (abort alone may drop unsent batches)
        p.send_offsets_to_transaction({tp: OffsetAndMetadata(nxt, "", -1)}, c.group_metadata())
        p.abort_transaction()
        R.check("send_offsets: offsets of an aborted transaction are not committed", c.committed(tp) is None,
                f"committed {c.committed(tp)}")
        p.begin_transaction()
        for m in got:
            p.send(dst, key=m.key, value=m.value.upper(), partition=0)
        p.send_offsets_to_transaction({tp: OffsetAndMetadata(nxt, "", -1)}, c.group_metadata())
        # (not c.committed(): a read_committed consumer's OffsetFetch sets require_stable, so the
        # broker answers UNSTABLE_OFFSET_COMMIT while the offsets are pending, and kafka-python
        # retries that until the transaction ends.  The admin client's OffsetFetch does not.)
        pending = _group_offsets(group)
        R.check("send_offsets: offsets of a transaction not yet committed are not visible (admin OffsetFetch)",
                pending.get(tp) is None or pending[tp].offset == -1, f"got {pending}")
        p.commit_transaction()
        R.check("send_offsets: offsets sent in a committed transaction are committed", c.committed(tp) == nxt,
                f"committed {c.committed(tp)}, want {nxt}")
    finally:
        p.close(timeout=10)
        c.close(autocommit=False)
    out = read_values(dst, [0], "read_committed", 10)
    R.check("send_offsets: read_committed output is exactly the committed transformed records",
            [v for _, v in out] == [f"IN{i}" for i in range(10)], f"got {out}")
    out_all = read_values(dst, [0], "read_uncommitted", 20)
    R.check("send_offsets: read_uncommitted output has the aborted attempt too (20)", len(out_all) == 20,
            f"got {len(out_all)}")
    offs = _group_offsets(group)
    R.check("send_offsets: admin list_group_offsets shows the committed offset",
            tp in offs and offs[tp].offset == nxt, f"got {offs}")


def t_fencing():
    from kafka.errors import InvalidProducerEpochError, KafkaError, ProducerFencedError
    topic = uniq("kp-fence")
    create_topic(topic, 1)
    tid = uniq("kp-fence-tx")
    zombie = _txn_producer(tid)
    fresh = _txn_producer(tid)
    try:
        zombie.init_transactions()
        zombie.begin_transaction()
        zombie.send(topic, value=b"zombie", partition=0).get(timeout=30)
        fresh.init_transactions()
        err = None
        try:
            zombie.send(topic, value=b"zombie-2", partition=0)
            zombie.commit_transaction()
        except KafkaError as e:
            err = e
        R.check("fencing: the first producer's commit fails as fenced",
                isinstance(err, (ProducerFencedError, InvalidProducerEpochError))
                or (err is not None and "fenc" in repr(err).lower()), f"got {err!r}")
        fresh.begin_transaction()
        fresh.send(topic, value=b"fresh", partition=0)
        fresh.commit_transaction()
    finally:
        zombie.close(timeout=5)
        fresh.close(timeout=10)
    got = read_values(topic, [0], "read_committed", 1)
    R.check("fencing: read_committed sees the new producer's commit, none of the fenced one's records",
            got == [(0, "fresh")], f"got {got}")


def main():
    log(f"kafka-python {kafka.__version__}")
    R.run("roundtrip", t_roundtrip)
    R.run("roundtrip-gzip", t_roundtrip, "gzip")
    R.run("idempotent", t_idempotent)
    R.run("3-partitions", t_three_partitions)
    R.run("cooperative-group-together", t_cooperative_group, 0)
    R.run("cooperative-group-late", t_cooperative_group, 4)
    R.run("cooperative-group-defaults", t_cooperative_group, 1, True)
    if not hasattr(KafkaProducer, "init_transactions"):
        R.bad("transactions", f"kafka-python {kafka.__version__} has no transactions (needs >= 2.1)")
    else:
        R.run("transactions", t_transactions)
        R.run("send-offsets-to-transaction", t_send_offsets)
        R.run("transactions-fencing", t_fencing)
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
