"""One consumer-group member on confluent-kafka (librdkafka 2.1x) for the KIP-848 suite,
driven by test_groups848.py.  group.protocol=consumer by default (--protocol classic for
the classic-group side of the takeover and migration checks; --assignor sets a classic
member's partition.assignment.strategy).

stdout, one line each (ms = wall-clock milliseconds; TP = topic:partition):

  READY <ms>
  ASSIGNED|REVOKED|LOST <ms> <TP,TP,...|->   rebalance callbacks (incremental with the
                                             consumer protocol and cooperative-sticky)
  REVOKE_END <ms> <TP,...|->                 on_revoke returns (its commit done): the
                                             partitions are released from then on
  ASN <ms> <TP,...|->                        the consumer's assignment() whenever it changed
  R <ms> <topic> <partition> <offset> <value>
  COMMITTED <ms> <TP:nextOffset,...>         after a successful synchronous commit
  ERR <ms> <text>
  CLOSED <ms>

stdin commands: close (commit, close(), exit), commit.

--topics: comma-separated topic names, or one regular expression starting with ^
(subscribe() sends it to the broker: ConsumerGroupHeartbeat v1 SubscribedTopicRegex).
--commit batch (default): commit the processed offsets synchronously after every
non-empty consume() and, for the partitions being revoked, in on_revoke; records are
printed (flushed) before they are committed, so a member killed in between re-delivers
them instead of hiding them.
--max N: process exactly N records, commit them, close, exit.
--slow-first-revoke-ms N: the first on_revoke sleeps N ms after its REVOKED line (a slow
rebalance listener: the rebalance waits for it).
"""
import argparse
import queue
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

OUT = sys.stdout


def now():
    return int(time.time() * 1000)


def emit(s):
    OUT.write(s + "\n")


def tps_str(tps):
    items = sorted(f"{tp.topic}:{tp.partition}" for tp in tps)
    return ",".join(items) if items else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--topics", required=True)
    ap.add_argument("--protocol", default="consumer", choices=["consumer", "classic"])
    ap.add_argument("--remote-assignor")
    ap.add_argument("--assignor", help="partition.assignment.strategy (classic protocol)")
    ap.add_argument("--instance-id")
    ap.add_argument("--reset", default="earliest")
    ap.add_argument("--commit", default="batch", choices=["batch", "none"])
    ap.add_argument("--max", type=int, default=-1)
    ap.add_argument("--max-seconds", type=float, default=150)
    ap.add_argument("--client-id")
    ap.add_argument("--slow-first-revoke-ms", type=int, default=0)
    a = ap.parse_args()

    conf = {
        "bootstrap.servers": a.bootstrap,
        "group.id": a.group,
        "group.protocol": a.protocol,
        "enable.auto.commit": False,
        "auto.offset.reset": a.reset,
        "socket.timeout.ms": 10000,
        "reconnect.backoff.max.ms": 500,
        # a new topic matching a regex is found at the next metadata refresh
        "topic.metadata.refresh.interval.ms": 2000,
    }
    if a.protocol == "classic":
        conf["session.timeout.ms"] = 6000
        conf["heartbeat.interval.ms"] = 1000
        if a.assignor:
            conf["partition.assignment.strategy"] = a.assignor
    if a.remote_assignor:
        conf["group.remote.assignor"] = a.remote_assignor
    if a.instance_id:
        conf["group.instance.id"] = a.instance_id
    if a.client_id:
        conf["client.id"] = a.client_id
    conf["error_cb"] = lambda err: emit(f"ERR {now()} error_cb: {err}")

    c = Consumer(conf)
    pending = {}  # (topic, partition) -> next offset
    last_asn = [None]

    def commit(which=None):
        if a.commit != "batch":
            return
        sel = {k: o for k, o in pending.items() if which is None or k in which}
        if not sel:
            return
        try:
            c.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in sel.items()], asynchronous=False)
            emit(f"COMMITTED {now()} " + ",".join(f"{t}:{p}:{o}" for (t, p), o in sorted(sel.items())))
            for k in sel:
                if pending.get(k) == sel[k]:
                    del pending[k]
        except KafkaException as e:
            emit(f"ERR {now()} commit: {e}")

    def report_assignment():
        try:
            s = tps_str(c.assignment())
        except KafkaException as e:
            emit(f"ERR {now()} assignment: {e}")
            return
        if s != last_asn[0]:
            last_asn[0] = s
            emit(f"ASN {now()} {s}")

    def on_assign(cons, tps):
        emit(f"ASSIGNED {now()} {tps_str(tps)}")

    slow_revoke = [a.slow_first_revoke_ms]

    def on_revoke(cons, tps):
        emit(f"REVOKED {now()} {tps_str(tps)}")
        OUT.flush()
        if slow_revoke[0] > 0:
            time.sleep(slow_revoke[0] / 1000.0)
            slow_revoke[0] = 0
        commit({(tp.topic, tp.partition) for tp in tps})
        for tp in tps:
            pending.pop((tp.topic, tp.partition), None)
        emit(f"REVOKE_END {now()} {tps_str(tps)}")
        OUT.flush()

    def on_lost(cons, tps):
        for tp in tps:
            pending.pop((tp.topic, tp.partition), None)
        emit(f"LOST {now()} {tps_str(tps)}")

    cmds = queue.Queue()

    def reader():
        for line in sys.stdin:
            cmds.put(line.strip())

    threading.Thread(target=reader, daemon=True).start()

    topics = a.topics.split(",") if not a.topics.startswith("^") else [a.topics]
    c.subscribe(topics, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    emit(f"READY {now()}")
    OUT.flush()
    deadline = time.monotonic() + a.max_seconds
    processed = 0
    closing = False
    try:
        while not closing:
            if time.monotonic() > deadline:
                emit(f"ERR {now()} max-seconds reached")
                break
            while True:
                try:
                    cmd = cmds.get_nowait()
                except queue.Empty:
                    break
                if cmd == "close":
                    closing = True
                elif cmd == "commit":
                    commit()
                else:
                    emit(f"ERR {now()} unknown command {cmd}")
            if closing:
                break
            msgs = c.consume(500, timeout=0.1)
            report_assignment()
            ms = now()
            done = False
            for m in msgs:
                if m.error():
                    emit(f"ERR {ms} consume: {m.error()}")
                    continue
                if 0 <= a.max <= processed:
                    done = True
                    break
                v = m.value().decode() if m.value() is not None else "null"
                emit(f"R {ms} {m.topic()} {m.partition()} {m.offset()} {v}")
                pending[(m.topic(), m.partition())] = m.offset() + 1
                processed += 1
            if 0 <= a.max <= processed:
                done = True
            OUT.flush()   # reported before committed (see the docstring)
            if msgs or done:
                commit()
            OUT.flush()
            if done:
                break
        commit()
    finally:
        try:
            c.close()
        except Exception as e:  # noqa: BLE001
            emit(f"ERR {now()} close: {e}")
        emit(f"CLOSED {now()}")
        OUT.flush()


if __name__ == "__main__":
    main()
