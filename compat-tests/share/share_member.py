"""One share-group consumer on confluent-kafka's ShareConsumer (librdkafka 2.16, KIP-932) for the
share suite, driven by test_share.py.  Its own OS process, so that SIGKILL kills a whole client.

stdout, one line each (ms = wall-clock milliseconds):

  READY <ms>                                   subscribed
  R <ms> <topic> <partition> <offset> <delivery count> <value>   a record poll() returned
  ACK <ms> ACCEPT|RELEASE|REJECT <topic> <partition> <offset>     explicit acknowledge()
  COMMIT <ms> ok <partitions>                   commit_sync() answered, every partition fine
  COMMIT <ms> fail <text>                       commit_sync() raised or a partition failed
  HOLD <ms>                                     stopped polling (holds what it acquired)
  ERR <ms> <text>
  CLOSED <ms>

stdin commands: close (commit_sync the pending acknowledgements, close(), exit).

--behaviour consume (default): poll until told to close; in implicit mode the records of one
    poll are accepted by the next poll (piggybacked on ShareFetch) and by the commit_sync
    before close().
--behaviour hold (explicit mode): poll until one non-empty batch arrives, print it, acknowledge
    nothing and stop polling: the records stay acquired by this member until it is killed or
    their acquisition lock expires.
--behaviour accept-then-hold (explicit mode): ACCEPT the first --accept records it receives,
    commit_sync after every batch; the records of the batch that passes --accept are, in turn,
    left unacknowledged (held) and RELEASEd (held first); then commit_sync and hold as above.
"""
import argparse
import queue
import sys
import threading
import time

from confluent_kafka import AcknowledgeType, KafkaException, ShareConsumer

OUT = sys.stdout


def now():
    return int(time.time() * 1000)


def emit(s):
    OUT.write(s + "\n")
    OUT.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--topics", required=True)
    ap.add_argument("--mode", default="implicit", choices=["implicit", "explicit"])
    ap.add_argument("--behaviour", default="consume", choices=["consume", "hold", "accept-then-hold"])
    ap.add_argument("--accept", type=int, default=0)
    ap.add_argument("--max-poll-records", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=150)
    ap.add_argument("--client-id")
    a = ap.parse_args()
    if (a.behaviour == "consume") != (a.mode == "implicit"):
        sys.exit("--behaviour consume needs --mode implicit, hold/accept-then-hold --mode explicit")

    conf = {
        "bootstrap.servers": a.bootstrap,
        "group.id": a.group,
        "share.acknowledgement.mode": a.mode,
        "socket.timeout.ms": 10000,
        "error_cb": lambda err: emit(f"ERR {now()} error_cb: {err}"),
    }
    if a.client_id:
        conf["client.id"] = a.client_id
    if a.max_poll_records > 0:
        conf["max.poll.records"] = a.max_poll_records
    c = ShareConsumer(conf)

    cmds = queue.Queue()

    def reader():
        for line in sys.stdin:
            cmds.put(line.strip())
        cmds.put("eof")

    threading.Thread(target=reader, daemon=True).start()

    def commit():
        try:
            res = c.commit_sync(30.0)
        except KafkaException as e:
            emit(f"COMMIT {now()} fail {e}")
            return
        bad = {f"{tp.topic}:{tp.partition}": str(e) for tp, e in res.items() if e is not None}
        if bad:
            emit(f"COMMIT {now()} fail {bad}")
        else:
            emit(f"COMMIT {now()} ok " + (",".join(sorted(f"{tp.topic}:{tp.partition}" for tp in res)) or "-"))

    def ack(m, kind):
        c.acknowledge(m, getattr(AcknowledgeType, kind))
        emit(f"ACK {now()} {kind} {m.topic()} {m.partition()} {m.offset()}")

    c.subscribe(a.topics.split(","))
    emit(f"READY {now()}")
    deadline = time.monotonic() + a.max_seconds
    accepted = 0
    holding = False
    closing = False
    try:
        while not closing and time.monotonic() < deadline:
            while True:
                try:
                    cmd = cmds.get_nowait()
                except queue.Empty:
                    break
                if cmd in ("close", "eof"):
                    closing = True
                else:
                    emit(f"ERR {now()} unknown command {cmd}")
            if closing:
                break
            if holding:
                time.sleep(0.1)
                continue
            msgs = c.poll(0.5)
            ms = now()
            recs = []
            for m in msgs:
                if m.error():
                    # librdkafka has acknowledged such a record itself (RELEASE or REJECT)
                    emit(f"ERR {ms} record error {m.topic()} {m.partition()} {m.offset()}: {m.error()}")
                    continue
                recs.append(m)
                v = m.value().decode() if m.value() is not None else "null"
                emit(f"R {ms} {m.topic()} {m.partition()} {m.offset()} {m.delivery_count()} {v}")
            if not recs:
                continue
            if a.behaviour == "hold":
                holding = True
                emit(f"HOLD {now()}")
            elif a.behaviour == "accept-then-hold":
                extra = 0
                for m in recs:
                    if accepted < a.accept:
                        ack(m, "ACCEPT")
                        accepted += 1
                    else:
                        if extra % 2 == 1:
                            ack(m, "RELEASE")
                        extra += 1
                commit()
                if extra:
                    holding = True
                    emit(f"HOLD {now()}")
        if time.monotonic() >= deadline:
            emit(f"ERR {now()} max-seconds reached")
        if not holding and a.mode == "implicit":
            commit()   # the records of the last poll (implicit mode: accepted now)
    finally:
        try:
            c.close()
        except Exception as e:  # noqa: BLE001
            emit(f"ERR {now()} close: {e}")
        emit(f"CLOSED {now()}")


if __name__ == "__main__":
    main()
