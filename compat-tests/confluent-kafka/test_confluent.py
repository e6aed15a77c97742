"""confluent-kafka (librdkafka 2.x, from the PyPI wheel) compatibility checks.

No consumer-group API is used: consumers assign() partitions explicitly,
never subscribe() and never commit.
"""
import os
import sys
import time

import confluent_kafka
from confluent_kafka import TopicPartition

from compat import (BASE_TS, Rec, Reporter, ck_consume, ck_create_topic, ck_produce_all,
                    ck_producer, compare, gen_records, log, uniq)

R = Reporter("confluent-kafka")
AUTO_PARTS = int(os.environ.get("AUTO_CREATE_PARTITIONS", "0"))


def flat(parts):
    """dict partition -> [(offset, Rec)] for a single partition -> [Rec]"""
    assert len(parts) == 1
    return [r for _, r in next(iter(parts.values()))]


def t_roundtrip_10k():
    topic = uniq("ck-roundtrip")
    ck_create_topic(topic, 1)
    recs = gen_records(10_000, seed=1)
    res = ck_produce_all(recs, topic, partition=0)
    offs = [o for _, _, o in res]
    R.check("roundtrip-10k: delivery offsets are 0..9999 in order", offs == list(range(10_000)),
            f"first offsets {offs[:5]}..., sorted={offs == sorted(offs)}, unique={len(set(offs))}")
    got = ck_consume(topic, [0], len(recs))
    compare(R, "roundtrip-10k: key/value/headers/timestamp byte-exact", recs, flat(got))
    offsets = [o for o, _ in got[0]]
    R.check("roundtrip-10k: consumed offsets contiguous from 0", offsets == list(range(len(offsets))),
            f"offsets head {offsets[:5]} len {len(offsets)}")


def t_watermarks_and_times():
    topic = uniq("ck-offsets")
    ck_create_topic(topic, 1)
    recs = gen_records(1000, seed=2, monotonic_ts=True)
    ck_produce_all(recs, topic, partition=0, extra={"linger.ms": 5, "batch.num.messages": 100})
    from compat import ck_consumer
    c = ck_consumer()
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        R.check("list-offsets: watermarks (earliest, latest) = (0, 1000)", (lo, hi) == (0, 1000), f"got {(lo, hi)}")
        # offsetsForTimes: first offset whose timestamp >= target
        cases = [(BASE_TS + 437 * 10, 437), (BASE_TS + 437 * 10 - 3, 437), (BASE_TS - 1, 0),
                 (BASE_TS + 999 * 10 + 1, -1)]
        for target, want in cases:
            r = c.offsets_for_times([TopicPartition(topic, 0, target)], timeout=10)[0]
            if want == -1:
                ok = r.offset in (-1, 1000) and r.error is None  # "no such record" (-1) / log end
            else:
                ok = r.offset == want and r.error is None
            R.check(f"list-offsets: offsets_for_times({target - BASE_TS:+d}) -> {want}", ok,
                    f"got offset {r.offset} err {r.error}")
    finally:
        c.close()
    # consume starting from the middle (explicit offset)
    got = ck_consume(topic, [0], 500, start=500)
    compare(R, "fetch from explicit offset 500", recs[500:], flat(got))


def t_auto_create():
    topic = uniq("ck-autocreate")
    recs = gen_records(100, seed=3)
    p = ck_producer()
    md = p.list_topics(timeout=10)
    R.check("auto-create: topic does not exist beforehand", topic not in md.topics, "already listed")
    ck_produce_all(recs, topic)  # no partition: default partitioner
    md = p.list_topics(topic=topic, timeout=10)
    t = md.topics.get(topic)
    nparts = len(t.partitions) if t else 0
    ok = t is not None and t.error is None and nparts >= 1 and (AUTO_PARTS == 0 or nparts == AUTO_PARTS)
    R.check("auto-create: produce to never-created topic creates it", ok,
            f"metadata: {t and t.error}, partitions={nparts}, expected {AUTO_PARTS or '>=1'}",
            f"{nparts} partition(s)")
    got = ck_consume(topic, list(range(max(nparts, 1))), len(recs))
    allrecs = [r for p_ in sorted(got) for _, r in got[p_]]
    # keyed records land on different partitions when nparts > 1: compare as a multiset by key
    key = lambda r: r.key
    compare(R, "auto-create: records consumed back", sorted(recs, key=key), sorted(allrecs, key=key))


def t_three_partitions():
    topic = uniq("ck-3part")
    a = ck_create_topic(topic, 3)
    md = a.list_topics(topic=topic, timeout=10)
    parts = sorted(md.topics[topic].partitions)
    R.check("admin: create_topics 3 partitions visible in metadata", parts == [0, 1, 2], f"partitions {parts}")
    nkeys, per_key = 60, 50
    recs = []
    for s in range(per_key):  # keys interleaved: k0 s0, k1 s0, ... k59 s0, k0 s1, ...
        for k in range(nkeys):
            recs.append(Rec(f"key-{k}".encode(), f"{k}:{s}".encode(), [("seq", str(s).encode())],
                            BASE_TS + len(recs)))
    res = ck_produce_all(recs, topic)
    sent_part = {}
    for r, (_, p, _) in zip(recs, res):
        sent_part.setdefault(r.key, set()).add(p)
    R.check("3-partitions: producer put each key on one partition", all(len(v) == 1 for v in sent_part.values()))
    got = ck_consume(topic, [0, 1, 2], len(recs))
    total = sum(len(v) for v in got.values())
    R.check("3-partitions: all records consumed", total == len(recs), f"expected {len(recs)} got {total}")
    used = [p for p in got if got[p]]
    R.check("3-partitions: records spread over all 3 partitions", len(used) == 3, f"used {used}")
    key_parts, key_seqs = {}, {}
    for p, lst in got.items():
        for _, r in lst:
            key_parts.setdefault(r.key, set()).add(p)
            key_seqs.setdefault(r.key, []).append(int(r.value.split(b":")[1]))
    one = all(len(v) == 1 for v in key_parts.values()) and len(key_parts) == nkeys
    R.check("3-partitions: each key's records all from one partition", one,
            f"keys on >1 partition: {[k for k, v in key_parts.items() if len(v) > 1][:5]}, keys={len(key_parts)}")
    match = all(key_parts.get(k) == v for k, v in sent_part.items())
    R.check("3-partitions: consumed partition == partition reported at delivery", match)
    inorder = all(v == list(range(per_key)) for v in key_seqs.values())
    bad = [(k, v[:8]) for k, v in key_seqs.items() if v != list(range(per_key))][:3]
    R.check("3-partitions: each key's records in produce order, none missing/duplicated", inorder, f"{bad}")


def t_compression(codec):
    topic = uniq(f"ck-{codec}")
    recs = gen_records(2000, seed=10 + len(codec))
    ck_produce_all(recs, topic, partition=0,
                   extra={"compression.type": codec, "linger.ms": 50, "batch.num.messages": 500})
    got = ck_consume(topic, [0], len(recs))
    compare(R, f"compression {codec}: produce+consume byte-exact", recs, flat(got))


def t_idempotent():
    topic = uniq("ck-idempotent")
    recs = gen_records(3000, seed=20)
    res = ck_produce_all(recs, topic, partition=0,
                         extra={"enable.idempotence": True, "acks": "all", "linger.ms": 5,
                                "batch.num.messages": 200, "max.in.flight.requests.per.connection": 5})
    offs = [o for _, _, o in res]
    R.check("idempotent producer: acked offsets 0..N-1", offs == list(range(len(recs))), f"head {offs[:5]}")
    got = ck_consume(topic, [0], len(recs))
    compare(R, "idempotent producer: records byte-exact, no duplicates", recs, flat(got))


def t_null_key_and_large():
    topic = uniq("ck-misc")
    big = os.urandom(900_000)
    recs = [Rec(None, b"null-key", [], BASE_TS), Rec(b"big", big, [("h", b"")], BASE_TS + 1),
            Rec(None, None, [], BASE_TS + 2)]
    ck_produce_all(recs, topic, partition=0, extra={"message.max.bytes": 1_000_000})
    got = ck_consume(topic, [0], len(recs))
    compare(R, "null key / null value / 900KB value / empty header value", recs, flat(got))


def t_acks0():
    topic = uniq("ck-acks0")
    ck_create_topic(topic, 1)
    recs = gen_records(500, seed=30)
    ck_produce_all(recs, topic, partition=0, extra={"acks": 0})
    got = ck_consume(topic, [0], len(recs), timeout=30)
    compare(R, "acks=0 producer: records arrive byte-exact", recs, flat(got))


def t_too_large():
    """A record above the broker's message.max.bytes (default 1048588) is rejected
    with MSG_SIZE_TOO_LARGE and the partition keeps working."""
    from confluent_kafka import KafkaError
    topic = uniq("ck-toolarge")
    ck_create_topic(topic, 1)
    p = ck_producer({"message.max.bytes": 5_000_000, "message.timeout.ms": 30000})
    res = {}
    p.produce(topic, value=b"z" * 2_000_000, partition=0, on_delivery=lambda e, m: res.setdefault("big", e))
    p.flush(40)
    e = res.get("big")
    R.check("produce 2MB record -> MSG_SIZE_TOO_LARGE", e is not None and e.code() == KafkaError.MSG_SIZE_TOO_LARGE,
            f"delivery error: {e}")
    p.produce(topic, value=b"ok", partition=0, on_delivery=lambda e, m: res.setdefault("ok", (e, m.offset())))
    p.flush(30)
    R.check("produce after the rejected record succeeds at offset 0", res.get("ok") == (None, 0), f"{res.get('ok')}")


def t_topic_configs_and_errors():
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
    a = AdminClient({"bootstrap.servers": os.environ["BOOTSTRAP"], "socket.timeout.ms": 10000})
    # LogAppendTime topic: the broker stamps records with its own clock
    topic = uniq("ck-logappend")
    a.create_topics([NewTopic(topic, 1, 1, config={"message.timestamp.type": "LogAppendTime"})])[topic].result(30)
    cfg = a.describe_configs([ConfigResource("topic", topic)])
    entries = next(iter(cfg.values())).result(30)
    e = entries.get("message.timestamp.type")
    R.check("describe_configs: topic created with message.timestamp.type=LogAppendTime reports it",
            e is not None and e.value == "LogAppendTime", f"got {e and e.value}")
    t0 = int(time.time() * 1000)
    ck_produce_all([Rec(b"k", b"v", [], BASE_TS)], topic, partition=0)
    got = ck_consume(topic, [0], 1)
    t1 = int(time.time() * 1000)
    recs = flat(got)
    R.check("LogAppendTime topic: consumed timestamp is the broker's append time, not the client's",
            len(recs) == 1 and t0 - 5000 <= recs[0].ts <= t1 + 5000, f"got {[r.ts for r in recs]} window [{t0},{t1}]")
    # invalid requests get the right errors
    fs = a.create_topics([NewTopic(uniq("ck-zero"), 0, 1)])
    err = None
    try:
        next(iter(fs.values())).result(30)
    except Exception as ex:  # noqa: BLE001
        err = ex.args[0] if ex.args else ex
    R.check("create_topics with 0 partitions -> INVALID_PARTITIONS",
            err is not None and getattr(err, "code", lambda: None)() == KafkaError.INVALID_PARTITIONS, f"got {err}")
    p = ck_producer({"message.timeout.ms": 15000})
    out = []
    p.produce("bad topic name!", value=b"x", on_delivery=lambda e, m: out.append(e))
    p.flush(20)
    R.check("produce to an invalid topic name fails (TOPIC_EXCEPTION / unknown topic)",
            len(out) == 1 and out[0] is not None
            and out[0].code() in (KafkaError.TOPIC_EXCEPTION, KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC),
            f"got {out}")


def t_admin_apis():
    """DescribeCluster, DescribeTopics (authorized operations), DeleteRecords and ElectLeaders
    through librdkafka's AdminClient."""
    from confluent_kafka import ElectionType, KafkaError, TopicCollection
    from confluent_kafka.admin import AclOperation, AdminClient
    a = AdminClient({"bootstrap.servers": os.environ["BOOTSTRAP"], "socket.timeout.ms": 10000})
    cluster = a.describe_cluster(include_authorized_operations=True, request_timeout=15).result(30)
    ops = set(cluster.authorized_operations or [])
    R.check("describe_cluster: one node, a controller, a cluster id",
            len(cluster.nodes) == 1 and cluster.controller is not None and bool(cluster.cluster_id),
            f"got nodes={cluster.nodes} controller={cluster.controller} id={cluster.cluster_id}")
    R.check("describe_cluster: every CLUSTER operation authorized (no authorizer)",
            {AclOperation.DESCRIBE, AclOperation.ALTER, AclOperation.CREATE, AclOperation.CLUSTER_ACTION,
             AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE} <= ops,
            f"got {ops}")
    topic = uniq("ck-admin")
    ck_create_topic(topic, 1)
    ck_produce_all(gen_records(10, seed=9), topic, partition=0)
    desc = a.describe_topics(TopicCollection([topic]), include_authorized_operations=True)[topic].result(30)
    tops = set(desc.authorized_operations or [])
    R.check("describe_topics: every TOPIC operation authorized",
            {AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.DELETE} <= tops, f"got {tops}")
    fut = a.delete_records([TopicPartition(topic, 0, 4)])
    deleted = next(iter(fut.values())).result(30)
    R.check("delete_records: low watermark is the requested offset", deleted.low_watermark == 4,
            f"got {deleted.low_watermark}")
    from compat import ck_consumer
    c = ck_consumer()
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        R.check("delete_records: watermarks become (4, 10)", (lo, hi) == (4, 10), f"got {(lo, hi)}")
    finally:
        c.close()
    offs = [o for o, _ in ck_consume(topic, [0], 6)[0]]
    R.check("delete_records: consuming from the beginning starts at the new log start (4..9)",
            offs == list(range(4, 10)), f"got {offs}")
    res = a.elect_leaders(ElectionType.PREFERRED, [TopicPartition(topic, 0)]).result(30)
    err = res.get(TopicPartition(topic, 0))
    R.check("elect_leaders: a single node needs no election (ELECTION_NOT_NEEDED)",
            err is not None and err.code() == KafkaError.ELECTION_NOT_NEEDED, f"got {res}")


def t_dynamic_configs():
    """Dynamic broker configs through librdkafka's incremental_alter_configs and
    describe_configs (this broker's own; librdkafka refuses the empty name of the cluster
    default)."""
    from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                       ConfigSource)
    a = AdminClient({"bootstrap.servers": os.environ["BOOTSTRAP"], "socket.timeout.ms": 10000})
    broker = str(a.describe_cluster(request_timeout=15).result(30).nodes[0].id)
    mine = ConfigResource("broker", broker,
                          incremental_configs=[ConfigEntry("log.cleaner.backoff.ms", "13000",
                                                              incremental_operation=AlterConfigOpType.SET)])
    next(iter(a.incremental_alter_configs([mine]).values())).result(30)
    entries = next(iter(a.describe_configs([ConfigResource("broker", broker)]).values())).result(30)
    e = entries.get("log.cleaner.backoff.ms")
    R.check("incremental_alter_configs(broker id): described as DYNAMIC_BROKER_CONFIG",
            e is not None and e.value == "13000" and e.source == ConfigSource.DYNAMIC_BROKER_CONFIG.value,
            f"got {e and (e.value, e.source)}")
    bad = ConfigResource("broker", broker,
                         incremental_configs=[ConfigEntry("log.dirs", "/x", incremental_operation=AlterConfigOpType.SET)])
    err = None
    try:
        next(iter(a.incremental_alter_configs([bad]).values())).result(30)
    except Exception as ex:  # noqa: BLE001
        err = ex.args[0] if ex.args else ex
    R.check("incremental_alter_configs(log.dirs) -> INVALID_REQUEST",
            err is not None and "dynamically" in str(err), f"got {err}")
    undo = ConfigResource("broker", broker,
                          incremental_configs=[ConfigEntry("log.cleaner.backoff.ms", None,
                                                           incremental_operation=AlterConfigOpType.DELETE)])
    next(iter(a.incremental_alter_configs([undo]).values())).result(30)
    entries = next(iter(a.describe_configs([ConfigResource("broker", broker)]).values())).result(30)
    e = entries.get("log.cleaner.backoff.ms")
    R.check("incremental_alter_configs DELETE: back to DEFAULT_CONFIG",
            e is not None and e.source == ConfigSource.DEFAULT_CONFIG.value, f"got {e and (e.value, e.source)}")


def _read_values(topic, level, want, timeout=15):
    """Values read from partitions 0 and 1 of `topic` at isolation `level`."""
    from confluent_kafka import TopicPartition as TP
    from compat import ck_consumer
    c = ck_consumer({"isolation.level": level, "enable.partition.eof": False, "auto.offset.reset": "earliest"})
    out = []
    try:
        c.assign([TP(topic, 0, 0), TP(topic, 1, 0)])
        deadline = time.time() + timeout
        while len(out) < want and time.time() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                out.append(m.value().decode())
        extra_until = time.time() + 0.5
        while time.time() < extra_until:
            m = c.poll(0.1)
            if m is not None and not m.error():
                out.append(m.value().decode())
    finally:
        c.close()
    return sorted(out)


def t_transactions():
    """Transactions through librdkafka: a committed transaction is visible to read_committed,
    an aborted one is not (read_uncommitted sees both); a second instance fences the first."""
    from confluent_kafka import KafkaException
    topic = uniq("ck-txn")
    ck_create_topic(topic, 2)
    p = ck_producer({"transactional.id": uniq("ck-tx"), "transaction.timeout.ms": 30000, "message.timeout.ms": 30000})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(6):
        p.produce(topic, value=f"c{i}".encode(), partition=i % 2)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(4):
        p.produce(topic, value=f"a{i}".encode(), partition=i % 2)
    p.flush(30)
    p.abort_transaction(30)
    committed = _read_values(topic, "read_committed", 6)
    R.check("transactions: read_committed sees the 6 committed records only",
            committed == sorted(f"c{i}" for i in range(6)), f"got {committed}")
    everything = _read_values(topic, "read_uncommitted", 10)
    R.check("transactions: read_uncommitted sees all 10", len(everything) == 10, f"got {everything}")
    tid = uniq("ck-zombie")
    zombie = ck_producer({"transactional.id": tid, "message.timeout.ms": 30000})
    zombie.init_transactions(30)
    zombie.begin_transaction()
    zombie.produce(topic, value=b"zombie", partition=1)
    zombie.flush(30)
    fresh = ck_producer({"transactional.id": tid, "message.timeout.ms": 30000})
    fresh.init_transactions(30)
    fenced = None
    try:
        zombie.commit_transaction(30)
    except KafkaException as e:
        fenced = e.args[0]
    R.check("transactions: the zombie's commit fails as fenced",
            fenced is not None and (fenced.fatal() or "fenced" in str(fenced).lower()), f"got {fenced}")
    fresh.begin_transaction()
    fresh.produce(topic, value=b"c6", partition=1)
    fresh.commit_transaction(30)
    after = _read_values(topic, "read_committed", 7)
    R.check("transactions: the new instance's commit shows, the zombie's records never do",
            "c6" in after and "zombie" not in after, f"got {after}")


def main():
    log(f"confluent-kafka {confluent_kafka.version()} librdkafka {confluent_kafka.libversion()}")
    R.run("roundtrip-10k", t_roundtrip_10k)
    R.run("list-offsets", t_watermarks_and_times)
    R.run("auto-create", t_auto_create)
    R.run("3-partitions", t_three_partitions)
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        R.run(f"compression-{codec}", t_compression, codec)
    R.run("idempotent", t_idempotent)
    R.run("misc", t_null_key_and_large)
    R.run("acks0", t_acks0)
    R.run("too-large", t_too_large)
    R.run("topic-configs-and-errors", t_topic_configs_and_errors)
    R.run("admin-apis", t_admin_apis)
    R.run("dynamic-configs", t_dynamic_configs)
    R.run("transactions", t_transactions)
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
