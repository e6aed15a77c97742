"""One consumer-group member on confluent-kafka (librdkafka 2.1x), driven by test_groups.py.

Same command line and stdout protocol as java/GroupMember.java:

  READY <ms>
  ASSIGNED|REVOKED|LOST <ms> <generation> <p,p,...|->   (generation: -1, librdkafka
                                                        does not expose it)
  R <ms> <partition> <offset> <value>
  COMMITTED <ms> <p:nextOffset,...>
  ERR <ms> <text>
  PAUSED / RESUMED / CLOSED <ms>

stdin commands: close, pause, resume, commit.
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


def parts(tps):
    ps = sorted(tp.partition for tp in tps)
    return ",".join(map(str, ps)) if ps else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--strategy", default="range")
    ap.add_argument("--instance-id")
    ap.add_argument("--session-ms", type=int)
    ap.add_argument("--heartbeat-ms", type=int)
    ap.add_argument("--reset", default="earliest")
    ap.add_argument("--commit", default="batch", choices=["batch", "auto", "none"])
    ap.add_argument("--max", type=int, default=-1)
    ap.add_argument("--max-seconds", type=float, default=180)
    ap.add_argument("--client-id")
    a = ap.parse_args()

    conf = {
        "bootstrap.servers": a.bootstrap,
        "group.id": a.group,
        "enable.auto.commit": a.commit == "auto",
        "auto.offset.reset": a.reset,
        "partition.assignment.strategy": a.strategy,
        "socket.timeout.ms": 10000,
        "reconnect.backoff.max.ms": 500,
    }
    if a.instance_id:
        conf["group.instance.id"] = a.instance_id
    if a.session_ms:
        conf["session.timeout.ms"] = a.session_ms
    if a.heartbeat_ms:
        conf["heartbeat.interval.ms"] = a.heartbeat_ms
    if a.client_id:
        conf["client.id"] = a.client_id
    conf["error_cb"] = lambda err: emit(f"ERR {now()} error_cb: {err}")

    c = Consumer(conf)
    pending = {}  # partition -> next offset

    def commit(which=None):
        if a.commit != "batch":
            return
        sel = {p: o for p, o in pending.items() if which is None or p in which}
        if not sel:
            return
        try:
            c.commit(offsets=[TopicPartition(a.topic, p, o) for p, o in sel.items()], asynchronous=False)
            emit(f"COMMITTED {now()} " + ",".join(f"{p}:{o}" for p, o in sel.items()))
            for p in sel:
                if pending.get(p) == sel[p]:
                    del pending[p]
        except KafkaException as e:
            emit(f"ERR {now()} commit: {e}")

    def on_assign(cons, tps):
        emit(f"ASSIGNED {now()} -1 {parts(tps)}")

    def on_revoke(cons, tps):
        emit(f"REVOKED {now()} -1 {parts(tps)}")
        commit({tp.partition for tp in tps})
        for tp in tps:
            pending.pop(tp.partition, None)

    def on_lost(cons, tps):
        for tp in tps:
            pending.pop(tp.partition, None)
        emit(f"LOST {now()} -1 {parts(tps)}")

    cmds = queue.Queue()

    def reader():
        for line in sys.stdin:
            cmds.put(line.strip())

    threading.Thread(target=reader, daemon=True).start()

    c.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
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
                elif cmd == "pause":
                    c.pause(c.assignment())
                    commit()
                    emit(f"PAUSED {now()}")
                elif cmd == "resume":
                    c.resume(c.assignment())
                    emit(f"RESUMED {now()}")
                elif cmd == "commit":
                    commit()
                else:
                    emit(f"ERR {now()} unknown command {cmd}")
            if closing:
                break
            msgs = c.consume(500, timeout=0.1)
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
                emit(f"R {ms} {m.partition()} {m.offset()} {v}")
                pending[m.partition()] = m.offset() + 1
                processed += 1
            if 0 <= a.max <= processed:
                done = True
            OUT.flush()   # report before committing (see GroupMember.java)
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
