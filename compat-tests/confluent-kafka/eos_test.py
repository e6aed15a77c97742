"""Exactly-once across application crashes (confluent-kafka): drives eos_app.py.

An input topic (3 partitions) holds EOS_N (default 3000) keyed records: key "k<j>" (50 keys),
value "<id>|<per-key seq>".  eos_app.py consumes it in a group (read_committed, no auto commit)
and for each batch of 10..50 records produces the transformed records and sends the offsets in
one transaction.  The driver kill -9s the app EOS_KILLS times (default 5) at random moments
(each time after it committed at least one transaction since its start), restarting it with
the same transactional.id, then lets the last instance finish and SIGTERMs it.

Checks: the group's committed offsets reach the end of the input; a read_committed consumer
of the output finds every input record exactly once (none missing, no duplicate), each carrying
its input partition/offset, per key in input order and on one output partition; a
read_uncommitted consumer sees at least as many (the killed instances' aborted attempts too).
Every wait is bounded.
"""
import os
import random
import signal
import subprocess
import sys
import time

from compat import Deadline, Rec, Reporter, bootstrap, ck_consume, ck_create_topic, ck_produce_all, log, uniq

R = Reporter("eos")
HERE = os.path.dirname(os.path.abspath(__file__))
N = int(os.environ.get("EOS_N", "3000"))
KILLS = int(os.environ.get("EOS_KILLS", "5"))
NKEYS = 50
TMP = os.environ.get("SUITE_TMP", "/tmp")


class App:
    """One eos_app.py process; its stdout goes to a log file we tail."""

    def __init__(self, args, n):
        self.path = os.path.join(TMP, f"eos-app-{n}.log")
        self.f = open(self.path, "w")
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "eos_app.py"), *args],
                                     stdout=self.f, stderr=subprocess.STDOUT)

    def lines(self):
        with open(self.path) as f:
            return f.read().splitlines()

    def committed_records(self):
        n = 0
        for ln in self.lines():
            if ln.startswith("COMMIT "):
                n += int(ln.split()[1])
        return n

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.f.close()


def group_committed(group, topic, nparts):
    from confluent_kafka import Consumer, TopicPartition
    # read_uncommitted: no require_stable in OffsetFetch, so offsets pending in the app's open
    # transaction do not make this wait (UNSTABLE_OFFSET_COMMIT); it sees the last committed ones.
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": group, "enable.auto.commit": False,
                  "isolation.level": "read_uncommitted", "socket.timeout.ms": 10000})
    try:
        return [tp.offset for tp in c.committed([TopicPartition(topic, p) for p in range(nparts)], timeout=15)]
    finally:
        c.close()


def end_offsets(topic, nparts, level):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": uniq("eos-wm"), "isolation.level": level,
                  "socket.timeout.ms": 10000})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=15)[1] for p in range(nparts)]
    finally:
        c.close()


def read_all(topic, nparts, level, want, timeout=60):
    """Every record of `topic` at isolation `level`: dict partition -> [(offset, key, value)].
    Reads until every partition is at its end (EOF) and `want` records arrived, or nothing new
    came for 3 s at EOF, or the deadline."""
    got = ck_consume(topic, list(range(nparts)), want, timeout=timeout, start=0, extra={"isolation.level": level})
    return {p: [(o, r.key, r.value) for o, r in recs] for p, recs in got.items()}


def main():
    in_topic, out_topic = uniq("eos-in"), uniq("eos-out")
    group, tid = uniq("eos-group"), uniq("eos-app")
    ck_create_topic(in_topic, 3)
    ck_create_topic(out_topic, 3)
    recs = [Rec(f"k{i % NKEYS}".encode(), f"{i}|{i // NKEYS}".encode(), [], 0) for i in range(N)]
    acks = ck_produce_all(recs, in_topic, extra={"enable.idempotence": True})
    # where every input id went: id -> (partition, offset)
    src = {i: (a[1], a[2]) for i, a in enumerate(acks)}
    in_end = end_offsets(in_topic, 3, "read_uncommitted")
    log(f"input: {N} records, end offsets {in_end}")
    args = [in_topic, out_topic, group, tid]

    apps = []
    kills = 0
    rnd = random.Random()
    t0 = time.monotonic()
    while kills < KILLS:
        app = App(args, len(apps))
        apps.append(app)
        dl = Deadline(40)
        while not dl.expired() and app.committed_records() == 0 and app.proc.poll() is None:
            time.sleep(0.05)
        if app.proc.poll() is not None:
            R.bad(f"app run {len(apps)}", f"exited with {app.proc.returncode}: {app.lines()[-5:]}")
            return R.finish()
        if app.committed_records() == 0:
            R.bad(f"app run {len(apps)}", f"committed nothing within 40 s: {app.lines()[-5:]}")
            app.kill9()
            return R.finish()
        time.sleep(rnd.uniform(0.0, 0.8))
        done = group_committed(group, in_topic, 3) == in_end
        app.kill9()
        kills += 1
        log(f"kill -9 #{kills} of app run {len(apps)} after it committed {app.committed_records()} records"
            f"{' (it had already finished)' if done else ''}")
        if done:
            break
    R.check(f"the app was kill -9'd {KILLS} times mid-run and restarted with the same transactional.id",
            kills == KILLS, f"only {kills} kills before the input was fully processed (raise EOS_N)")

    # The last instance runs to the end of the input.
    app = App(args, len(apps))
    apps.append(app)
    dl = Deadline(120)
    committed = None
    while not dl.expired() and app.proc.poll() is None:
        committed = group_committed(group, in_topic, 3)
        if committed == in_end:
            break
        time.sleep(0.5)
    R.check("the group's transactionally committed offsets reach the end of the input",
            committed == in_end, f"committed {committed}, input end {in_end}, app log tail {app.lines()[-5:]}")
    if app.proc.poll() is None:
        app.proc.send_signal(signal.SIGTERM)
        try:
            app.proc.wait(30)
        except subprocess.TimeoutExpired:
            app.kill9()
    log(f"{len(apps)} app runs, {time.monotonic() - t0:.1f}s; per run committed records: "
        f"{[a.committed_records() for a in apps]}")
    aborts = sum(1 for a in apps for ln in a.lines() if ln.startswith(("ABORT", "FATAL")))
    if aborts:
        log(f"apps reported {aborts} ABORT/FATAL lines: "
            f"{[ln for a in apps for ln in a.lines() if ln.startswith(('ABORT', 'FATAL'))][:5]}")

    out = read_all(out_topic, 3, "read_committed", N)
    seen = {}
    bad = []
    key_parts = {}
    order_bad = []
    for part, rows in out.items():
        last_seq = {}
        for off, key, val in rows:
            try:
                ip, io, ident, seq = val.decode().replace("|", ":").split(":")
                ip, io, ident, seq = int(ip), int(io), int(ident), int(seq)
            except ValueError:
                bad.append((part, off, val))
                continue
            seen[ident] = seen.get(ident, 0) + 1
            if src.get(ident) != (ip, io) or key != f"k{ident % NKEYS}".encode():
                bad.append((part, off, key, val, src.get(ident)))
            key_parts.setdefault(key, set()).add(part)
            if seq <= last_seq.get(key, -1) and len(order_bad) < 5:
                order_bad.append(f"{key!r}: seq {seq} after {last_seq[key]} at p{part}@{off}")
            last_seq[key] = max(seq, last_seq.get(key, -1))
    total = sum(len(v) for v in out.values())
    missing = [i for i in range(N) if i not in seen]
    dups = {i: c for i, c in seen.items() if c > 1}
    R.check(f"read_committed output: every one of the {N} input records present",
            not missing, f"{len(missing)} missing, e.g. ids {missing[:10]} (output has {total})")
    R.check("read_committed output: no input record twice (exactly once across the kills)",
            not dups, f"{len(dups)} duplicated, e.g. {sorted(dups.items())[:10]}")
    R.check("read_committed output: each record carries its input's key, partition and offset",
            not bad, f"{len(bad)} bad, e.g. {bad[:5]}")
    R.check("read_committed output: per key, one output partition and the input order",
            not order_bad and all(len(v) == 1 for v in key_parts.values()),
            f"order: {order_bad}; keys on several partitions: "
            f"{ {k: v for k, v in key_parts.items() if len(v) > 1} }")
    everything = read_all(out_topic, 3, "read_uncommitted", N)
    n_all = sum(len(v) for v in everything.values())
    R.check("read_uncommitted output: at least every input record (plus the killed instances' aborted attempts)",
            n_all >= N and n_all >= total, f"got {n_all} (read_committed {total})",
            f"{n_all} records, {n_all - total} from aborted attempts")
    lso = end_offsets(out_topic, 3, "read_committed")
    hw = end_offsets(out_topic, 3, "read_uncommitted")
    R.check("output LSO equals its high watermark once the app stopped (no transaction left open)",
            lso == hw, f"LSO {lso} HW {hw}")
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
