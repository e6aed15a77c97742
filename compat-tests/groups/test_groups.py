"""Consumer-group behaviour with stock clients, against a running broker.

usage: test_groups.py [CLIENT...]     CLIENT: kcat rdk java (default: all three)

Every group member is its own OS process (so SIGKILL kills a whole client):
  java  java/GroupMember.java        Apache kafka-clients 3.9.1
  rdk   rdk_member.py                confluent-kafka (librdkafka 2.1x)
  kcat  kcat -G                      kcat 1.7.1 (Debian librdkafka 2.0.2)
Members report rebalance callbacks and every record on stdout (see GroupMember.java);
this script drives them, produces with confluent-kafka (values are sequence numbers,
partition = seq % partitions), and asserts on what each member saw.

The clients' scenarios run in parallel threads (one per client), each on its own
topics and groups; the broker-restart scenario runs last, for all clients at once.

Environment: BOOTSTRAP, JAVA_CP, JAVA_OPTS_COMPAT, LOGDIR (member logs),
RESTART_CMD (shell command that kill -9s the broker and restarts it on the same
data dir and port), KCAT_LD_LIBRARY_PATH, GROUPS_SERIAL=1 (clients one after another).
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

from compat import Reporter, log, bootstrap, uniq, ck_create_topic, MemberSet, wait_until, producer, new_topic, committed_offsets

HERE = os.path.dirname(os.path.abspath(__file__))
LOGDIR = os.environ.get("LOGDIR", "/tmp")
SESSION_KILL_MS = 6000      # session timeout in the SIGKILL scenarios (broker minimum by default)
SESSION_STATIC_MS = 10000   # session timeout of the static members
HEARTBEAT_MS = 1000
KCAT_LEAVE_AFTER = 400      # a kcat member that "closes" exits via -c after this many records


class SafeReporter(Reporter):
    """Reporter whose counters and lines are safe to use from several threads."""
    _lock = threading.Lock()

    def ok(self, name, detail=""):
        with self._lock:
            super().ok(name, detail)

    def bad(self, name, detail):
        with self._lock:
            super().bad(name, detail)


R = SafeReporter("groups")

# ---------------------------------------------------------------- members

KCAT_ASSIGN = re.compile(r"(assigned:|incremental assignment of)")
KCAT_REVOKE = re.compile(r"(revoked:|incremental revoke of)")


class Member:
    """One group member process and everything it reported."""

    def __init__(self, kind, name, group, topic, *, strategy="range", instance_id=None, session_ms=None,
                 heartbeat_ms=None, reset="earliest", commit="batch", max_n=None, max_seconds=150):
        self.kind, self.name, self.group, self.topic = kind, name, group, topic
        self.max_n = max_n
        self.lock = threading.Lock()
        self.events = []          # (monotonic t, kind, payload)
        self.assigned = set()
        self.records = []         # (t, partition, offset, value)
        self.committed = {}       # partition -> next offset (last COMMITTED lines merged)
        self.gen = None           # (generation, memberId) from the last GEN line (java only)
        self.gens = []            # every GEN value seen, with time
        self.errors = []
        self.closed = False
        self.t_start = time.monotonic()
        if kind == "kcat":
            # -u: unbuffered output, so a record kcat printed (and will commit) is seen
            cmd = ["kcat", "-u", "-b", bootstrap(), "-G", group, "-f", "R 0 %p %o %s\\n",
                   "-X", f"auto.offset.reset={reset}", "-X", f"partition.assignment.strategy={strategy}",
                   "-X", "reconnect.backoff.max.ms=500"]
            if instance_id:
                cmd += ["-X", f"group.instance.id={instance_id}"]
            if session_ms:
                cmd += ["-X", f"session.timeout.ms={session_ms}"]
            if heartbeat_ms:
                cmd += ["-X", f"heartbeat.interval.ms={heartbeat_ms}"]
            if max_n is not None:
                cmd += ["-c", str(max_n)]
            if commit != "auto":
                raise ValueError("kcat members always auto-commit (and commit on close)")
            cmd += [topic]
        else:
            args = ["--bootstrap", bootstrap(), "--group", group, "--topic", topic, "--strategy", strategy,
                    "--reset", reset, "--commit", commit, "--max-seconds", str(max_seconds)]
            if instance_id:
                args += ["--instance-id", instance_id]
            if session_ms:
                args += ["--session-ms", str(session_ms)]
            if heartbeat_ms:
                args += ["--heartbeat-ms", str(heartbeat_ms)]
            if max_n is not None:
                args += ["--max", str(max_n)]
            if kind == "java":
                cmd = ["java", *os.environ.get("JAVA_OPTS_COMPAT", "").split(), "-cp", os.environ["JAVA_CP"],
                       "GroupMember", *args]
            elif kind == "rdk":
                cmd = [sys.executable, os.path.join(HERE, "rdk_member.py"), *args]
            else:
                raise ValueError(kind)
        env = dict(os.environ)
        if kind == "kcat" and os.environ.get("KCAT_LD_LIBRARY_PATH"):
            env["LD_LIBRARY_PATH"] = os.environ["KCAT_LD_LIBRARY_PATH"]
        self.logf = open(os.path.join(LOGDIR, f"member-{group}-{name}-{os.getpid()}-{id(self):x}.log"), "w")
        self.logf.write(" ".join(cmd) + "\n")
        self.logf.flush()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if kind != "kcat" else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                     text=True, bufsize=1)
        self.threads = [threading.Thread(target=self._read_out, daemon=True),
                        threading.Thread(target=self._read_err, daemon=True)]
        for t in self.threads:
            t.start()

    def __repr__(self):
        return f"{self.kind}:{self.name}"

    # -- parsing
    def _event(self, kind, payload):
        t = time.monotonic()
        with self.lock:
            self.events.append((t, kind, payload))
            if kind == "ASSIGNED":
                self.assigned |= payload
            elif kind in ("REVOKED", "LOST"):
                self.assigned -= payload

    @staticmethod
    def _parts(s):
        return set() if s == "-" else {int(x) for x in s.split(",")}

    def _read_out(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            f = line.split(" ", 4)
            try:
                self.logf.write(line + "\n")
                if f[0] == "R":
                    with self.lock:
                        self.records.append((time.monotonic(), int(f[2]), int(f[3]), f[4] if len(f) > 4 else ""))
                    continue
                if f[0] in ("ASSIGNED", "REVOKED", "LOST"):
                    self._event(f[0], self._parts(f[3]))
                elif f[0] == "GEN":
                    with self.lock:
                        self.gen = (int(f[2]), f[3] if len(f) > 3 else "")
                        self.gens.append((time.monotonic(), self.gen))
                elif f[0] == "COMMITTED":
                    with self.lock:
                        for kv in f[2].split(","):
                            p, o = kv.split(":")
                            self.committed[int(p)] = int(o)
                    self._event("COMMITTED", f[2])
                elif f[0] == "ERR":
                    with self.lock:
                        self.errors.append(line)
                elif f[0] in ("READY", "PAUSED", "RESUMED", "CLOSED"):
                    self._event(f[0], None)
            except (IndexError, ValueError):
                self.logf.write(f"(unparsed) {line}\n")
        self.logf.flush()

    def _read_err(self):
        for line in self.proc.stderr:
            if "Reached end of topic" in line:
                continue
            self.logf.write(line)
            self.logf.flush()
            if self.kind != "kcat" or not line.startswith("%"):
                continue
            ps = {int(x) for x in re.findall(r"\[(\d+)\]", line)}
            if KCAT_ASSIGN.search(line):
                self._event("ASSIGNED", ps)
            elif KCAT_REVOKE.search(line):
                self._event("REVOKED", ps)
            elif "ERROR" in line:
                with self.lock:
                    self.errors.append(line.strip())

    # -- queries
    def assignment(self):
        with self.lock:
            return set(self.assigned)

    def values(self):
        with self.lock:
            return [int(r[3]) for r in self.records]

    def n_records(self):
        with self.lock:
            return len(self.records)

    def rebalance_events(self, since=0.0):
        with self.lock:
            return [(t, k, p) for (t, k, p) in self.events if t >= since and k in ("ASSIGNED", "REVOKED", "LOST")]

    def has(self, kind):
        with self.lock:
            return any(k == kind for (_, k, _) in self.events)

    def alive(self):
        return self.proc.poll() is None

    # -- control
    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def close(self, timeout=25):
        """Graceful: 'close' command (java, rdk) or SIGTERM (kcat); waits for exit.

        A kcat started with -c N (max_n) is instead left to exit by itself after N
        records: on SIGTERM kcat 1.7.1 drops the message its poll() returned while the
        signal arrived without printing it (consume_cb returns early when !conf.run),
        although librdkafka already stored that offset, and close() commits it: the
        record is then skipped by the group. -c exits after printing."""
        if self.alive():
            if self.kind == "kcat" and self.max_n is not None:
                if self.wait_exit(timeout):
                    return True
                self.proc.send_signal(signal.SIGTERM)
            elif self.kind == "kcat":
                self.proc.send_signal(signal.SIGTERM)
            else:
                try:
                    self.send("close")
                except (BrokenPipeError, OSError):
                    pass
        return self.wait_exit(timeout)

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        for t in self.threads:
            t.join(5)

    def wait_exit(self, timeout):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            for t in self.threads:
                t.join(5)
            return False
        for t in self.threads:
            t.join(5)
        return True

    def describe(self):
        with self.lock:
            ev = [f"{t - self.t_start:.1f}s {k} {sorted(p) if isinstance(p, set) else p}"
                  for (t, k, p) in self.events if k != "COMMITTED"][-12:]
            return (f"{self}: assigned={sorted(self.assigned)} records={len(self.records)} "
                    f"events={ev} errors={self.errors[-3:]}")


def Members():  # noqa: N802 (used as a context manager like the class it stands for)
    """Every member a scenario started; all are killed at the end."""
    return MemberSet(Member)


# ---------------------------------------------------------------- producing


def produce(topic, nparts, start, n, timeout=60):
    """Produce seq start..start+n-1 (value str(seq), partition seq % nparts); returns the acked seqs."""
    p = producer()
    acked, errs = set(), []

    def cb(err, msg):
        if err is None:
            acked.add(int(msg.value()))
        else:
            errs.append(str(err))

    for s in range(start, start + n):
        while True:
            try:
                p.produce(topic, value=str(s).encode(), partition=s % nparts, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
    left = p.flush(timeout)
    if left or errs or len(acked) != n:
        raise RuntimeError(f"produce to {topic}: {left} undelivered, {len(errs)} errors {errs[:2]}, {len(acked)}/{n} acked")
    return acked


class BackgroundProducer:
    """Steady producer thread (rate records/s) from seq `start`; stop() returns the acked seqs."""

    def __init__(self, topic, nparts, start, rate=200):
        self.topic, self.nparts, self.seq, self.rate = topic, nparts, start, rate
        self.acked, self.errs = set(), []
        self.stop_ev = threading.Event()
        self.p = producer()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _cb(self, err, msg):
        if err is None:
            self.acked.add(int(msg.value()))
        else:
            self.errs.append(str(err))

    def _run(self):
        t0 = time.monotonic()
        n = 0
        while not self.stop_ev.is_set():
            due = int((time.monotonic() - t0) * self.rate)
            while n < due:
                try:
                    self.p.produce(self.topic, value=str(self.seq).encode(), partition=self.seq % self.nparts,
                                   on_delivery=self._cb)
                except BufferError:
                    break
                self.seq += 1
                n += 1
            self.p.poll(0.01)

    def stop(self, timeout=60):
        self.stop_ev.set()
        self.t.join(10)
        left = self.p.flush(timeout)
        if left or self.errs:
            raise RuntimeError(f"background producer: {left} undelivered, errors {self.errs[:3]}")
        return set(self.acked)


def next_offsets(member):
    """{partition: last processed offset + 1} from a member's records."""
    out = {}
    with member.lock:
        for (_, p, o, _) in member.records:
            out[p] = max(out.get(p, 0), o + 1)
    return out


def loss_report(expected, members):
    """(missing seqs, duplicate deliveries, total deliveries) over the union of members."""
    seen = {}
    for m in members:
        for v in m.values():
            seen[v] = seen.get(v, 0) + 1
    missing = sorted(set(expected) - set(seen))
    dups = sum(c - 1 for c in seen.values() if c > 1)
    return missing, dups, sum(seen.values())


def fmt_missing(missing):
    return f"{len(missing)} missing, first {missing[:10]}"


# ---------------------------------------------------------------- scenarios

def two_groups(kind):
    name = f"{kind}: two groups on one topic each get every record (independent offsets)"
    topic = new_topic(f"g2-{kind}", 3)
    exp = produce(topic, 3, 0, 300)
    commit = "auto" if kind == "kcat" else "batch"
    with Members() as ms:
        a = ms.start(kind, "g1", uniq(f"g2a-{kind}"), topic, commit=commit)
        b = ms.start(kind, "g2", uniq(f"g2b-{kind}"), topic, commit=commit)
        ok_a = wait_until(lambda: set(a.values()) >= exp, 40)
        ok_b = wait_until(lambda: set(b.values()) >= exp, 40)
        if not (ok_a and ok_b):
            raise AssertionError(f"history not read by both: {a.describe()} | {b.describe()}")
        # live records after both are running reach both groups too
        exp |= produce(topic, 3, 300, 100)
        wait_until(lambda: set(a.values()) >= exp and set(b.values()) >= exp, 30)
        a.close()
        b.close()
        probs = []
        for m in (a, b):
            v = m.values()
            if set(v) != exp:
                probs.append(f"{m.group}: {fmt_missing(sorted(exp - set(v)))}, extra {sorted(set(v) - exp)[:5]}")
            if len(v) != len(set(v)):
                probs.append(f"{m.group}: {len(v) - len(set(v))} duplicate deliveries")
        R.check(name, not probs, "; ".join(probs) + f" | {a.describe()} | {b.describe()}",
                f"each group got all {len(exp)} records once")


def commit_resume(kind):
    name = f"{kind}: commit half, close, a new member of the same group resumes exactly after the commit"
    nparts, total, half = 3, 600, 300
    topic = new_topic(f"cr-{kind}", nparts)
    group = uniq(f"cr-{kind}")
    exp = produce(topic, nparts, 0, total)
    commit = "auto" if kind == "kcat" else "batch"   # kcat commits the offsets it printed when it exits
    with Members() as ms:
        a = ms.start(kind, "A", group, topic, commit=commit, max_n=half)
        if not a.wait_exit(60):
            raise AssertionError(f"first member did not stop after {half} records: {a.describe()}")
        first = a.values()
        nxt = next_offsets(a)
        got_commit = committed_offsets(group, topic, nparts)
        want = {p: nxt.get(p) for p in range(nparts)}
        c_ok = got_commit == want
        b = ms.start(kind, "B", group, topic, commit=commit)
        rest = exp - set(first)
        wait_until(lambda: set(b.values()) >= rest, 40)
        time.sleep(1.0)   # anything re-delivered would arrive now
        b.close()
        second = b.values()
        probs = []
        if len(first) != half:
            probs.append(f"first member processed {len(first)} records, not {half}")
        if not c_ok:
            probs.append(f"OffsetFetch after close: {got_commit}, expected the first member's next offsets {want}")
        redelivered = sorted(set(first) & set(second))
        if redelivered:
            probs.append(f"{len(redelivered)} committed records re-delivered to the new member, first {redelivered[:10]}")
        missing = sorted(rest - set(second))
        if missing:
            probs.append(f"new member lost records: {fmt_missing(missing)}")
        if len(second) != len(set(second)):
            probs.append(f"new member got {len(second) - len(set(second))} duplicates")
        R.check(name, not probs, "; ".join(probs) + f" | {a.describe()} | {b.describe()}",
                f"committed {want}, first {len(first)} + resumed {len(second)} = {total}, no overlap")


def earliest_latest(kind):
    nparts = 3
    topic = new_topic(f"el-{kind}", nparts)
    hist = produce(topic, nparts, 0, 500)
    commit = "auto" if kind == "kcat" else "batch"
    with Members() as ms:
        e = ms.start(kind, "E", uniq(f"early-{kind}"), topic, reset="earliest", commit=commit)
        wait_until(lambda: set(e.values()) >= hist, 40)
        time.sleep(0.5)
        e.close()
        v = e.values()
        offs_ok = all(min((o for (_, p, o, _) in e.records if p == q), default=-1) == 0 for q in range(nparts))
        R.check(f"{kind}: brand-new group with auto.offset.reset=earliest replays the whole history",
                set(v) == hist and len(v) == len(hist) and offs_ok,
                f"got {len(v)} records ({len(set(v))} unique) of {len(hist)}, every partition from offset 0: {offs_ok} | {e.describe()}",
                f"{len(v)} records from offset 0 of {nparts} partitions")

        lt = ms.start(kind, "L", uniq(f"late-{kind}"), topic, reset="latest", commit=commit)
        if not wait_until(lambda: lt.assignment() == set(range(nparts)), 30):
            raise AssertionError(f"latest member not assigned: {lt.describe()}")
        time.sleep(2.0)   # let it resolve 'latest' before producing
        new = produce(topic, nparts, 500, 60)
        wait_until(lambda: set(lt.values()) >= new, 20)
        time.sleep(0.5)
        lt.close()
        v = lt.values()
        R.check(f"{kind}: brand-new group with auto.offset.reset=latest skips the history, gets new records",
                set(v) == new and len(v) == len(new),
                f"got {len(v)} records, {len(set(v) & hist)} of them history, {len(new - set(v))} new ones missing | {lt.describe()}",
                f"{len(v)} new records only")


def split_and_leave(kind, strategy, how):
    """A alone, then B joins: 2+2 of a 4-partition topic; B leaves (close) or is SIGKILLed."""
    coop = strategy == "cooperative-sticky"
    label = f"{kind}: {strategy}: {how}"
    nparts = 4
    topic = new_topic(f"sp-{kind}", nparts)
    group = uniq(f"sp-{kind}-{how}")
    commit = "auto" if kind == "kcat" else "batch"
    kw = dict(strategy=strategy, commit=commit, session_ms=SESSION_KILL_MS, heartbeat_ms=HEARTBEAT_MS)
    pre = produce(topic, nparts, 0, 400)
    bg = None
    try:
        with Members() as ms:
            a = ms.start(kind, "A", group, topic, **kw)
            if not wait_until(lambda: a.assignment() == set(range(nparts)), 30):
                raise AssertionError(f"first member never got all {nparts} partitions: {a.describe()}")
            bg = BackgroundProducer(topic, nparts, 10_000, rate=200)
            # kcat leaves gracefully through -c (see Member.close)
            b = ms.start(kind, "B", group, topic, max_n=KCAT_LEAVE_AFTER if kind == "kcat" and how == "close" else None, **kw)
            split = wait_until(lambda: len(a.assignment()) == 2 and len(b.assignment()) == 2
                               and not (a.assignment() & b.assignment()), 40)
            split_desc = f"A={sorted(a.assignment())} B={sorted(b.assignment())}"
            a_kept = a.assignment()
            wait_until(lambda: len(b.values()) > 20, 15)   # B consumes for a while
            time.sleep(1.0)
            t_split_done = time.monotonic()
            t0 = time.monotonic()
            if how == "close":
                b.close()
                if kind == "kcat":
                    t0 = time.monotonic()   # kcat left by itself (-c): count from its exit
            else:
                b.kill()
            limit = 25 if how == "close" else SESSION_KILL_MS / 1000 + 25
            took = wait_until(lambda: a.assignment() == set(range(nparts)), limit)
            t_take = time.monotonic() - t0
            time.sleep(1.5)
            produced = pre | bg.stop()
            bg = None
            wait_until(lambda: not loss_report(produced, [a, b])[0], 30)
            t_end = time.monotonic()     # A's own close() revokes everything: not counted
            a.close()
            missing, dups, total = loss_report(produced, [a, b])

            probs = []
            if not split:
                probs.append(f"members never split 2+2: {split_desc}")
            if not took:
                probs.append(f"survivor did not get all {nparts} partitions within {limit:.0f}s after B's {how}")
            R.check(f"{label}: 2 members split 4 partitions 2+2, after one {'closes' if how == 'close' else 'is SIGKILLed'} the other gets all 4",
                    not probs, "; ".join(probs) + f" | {a.describe()} | {b.describe()}",
                    f"{split_desc}, survivor had all 4 after {t_take:.1f}s")
            R.check(f"{label}: no record lost across the rebalances (union of both members)",
                    not missing, fmt_missing(missing) + f" of {len(produced)} | {a.describe()} | {b.describe()}",
                    f"{len(produced)} produced, {total} delivered, {dups} at-least-once duplicates")
            if coop:
                # A must never lose a partition it keeps.  The only legal revocation is, when B
                # joins, of partitions that moved to B; after the 2+2 split: none at all.
                bad = []
                b_ever = set()
                for (_, k, p) in b.rebalance_events():
                    if k == "ASSIGNED":
                        b_ever |= p
                a_revs = [(t, k, p) for (t, k, p) in a.rebalance_events() if k != "ASSIGNED" and p and t < t_end]
                for (t, k, p) in a_revs:
                        if t >= t_split_done:
                            bad.append(f"{k} {sorted(p)} after the split")
                        elif p & a_kept:
                            bad.append(f"{k} {sorted(p)} includes kept partitions {sorted(a_kept)}")
                        elif not p <= b_ever:
                            bad.append(f"{k} {sorted(p)} not moved to B ({sorted(b_ever)})")
                R.check(f"{label}: cooperative: the surviving member is never revoked a partition it keeps",
                        not bad, "; ".join(bad) + f" | {a.describe()}",
                        f"A's revocations: {[sorted(p) for (_, k, p) in a_revs] or 'none'}, none after the 2+2 split")
    finally:
        if bg is not None:
            bg.stop_ev.set()


def static_restart(kind, how):
    label = f"{kind}: static member (group.instance.id) {'closes' if how == 'close' else 'is SIGKILLed'} and restarts within its session timeout"
    nparts = 4
    topic = new_topic(f"st-{kind}", nparts)
    group = uniq(f"st-{kind}-{how}")
    commit = "auto" if kind == "kcat" else "batch"
    kw = dict(strategy="range", commit=commit, session_ms=SESSION_STATIC_MS, heartbeat_ms=HEARTBEAT_MS)
    pre = produce(topic, nparts, 0, 200)
    bg = None
    try:
        with Members() as ms:
            a = ms.start(kind, "A", group, topic, instance_id=f"{group}-a", **kw)
            if not wait_until(lambda: a.assignment() == set(range(nparts)), 30):
                raise AssertionError(f"first member never got all partitions: {a.describe()}")
            b = ms.start(kind, "B", group, topic, instance_id=f"{group}-b",
                         max_n=KCAT_LEAVE_AFTER if kind == "kcat" and how == "close" else None, **kw)
            if not wait_until(lambda: len(a.assignment()) == 2 and len(b.assignment()) == 2, 40):
                raise AssertionError(f"members never split 2+2: {a.describe()} | {b.describe()}")
            bg = BackgroundProducer(topic, nparts, 10_000, rate=200)
            wait_until(lambda: len(b.values()) > 20, 15)
            time.sleep(HEARTBEAT_MS / 1000 * 2)
            a_parts, b_parts = a.assignment(), b.assignment()
            a_gen = a.gen
            t0 = time.monotonic()
            if how == "close":
                b.close()
            else:
                b.kill()
            b2 = ms.start(kind, "B2", group, topic, instance_id=f"{group}-b", **kw)
            back = wait_until(lambda: b2.assignment(), SESSION_STATIC_MS / 1000 - 1)
            t_back = time.monotonic() - t0
            # long enough for A to hear of any rebalance (heartbeat every HEARTBEAT_MS)
            time.sleep(max(4.0, HEARTBEAT_MS / 1000 * 4))
            produced = pre | bg.stop()
            bg = None
            wait_until(lambda: not loss_report(produced, [a, b, b2])[0], 30)
            a_events = a.rebalance_events(since=t0)
            a_gens = [g for (t, g) in a.gens if t >= t0]
            b2_parts = b2.assignment()
            a_parts_end = a.assignment()
            a.close()
            b2.close()
            missing, dups, total = loss_report(produced, [a, b, b2])
            probs = []
            if not back:
                probs.append(f"restarted member got no assignment within {SESSION_STATIC_MS / 1000 - 1:.0f}s")
            if a_events:
                probs.append(f"other member saw rebalance callbacks: {[(k, sorted(p)) for (_, k, p) in a_events]}")
            if kind == "java" and any(g[0] != a_gen[0] for g in a_gens):
                probs.append(f"other member's generation changed: {a_gen} -> {a_gens}")
            if b2_parts != b_parts:
                probs.append(f"restarted member got {sorted(b2_parts)}, before the restart {sorted(b_parts)}")
            if a_parts_end != a_parts:
                probs.append(f"other member's assignment changed {sorted(a_parts)} -> {sorted(a_parts_end)}")
            gen_note = f", generation {a_gen[0]} unchanged" if kind == "java" and a_gen else ""
            R.check(f"{label}: the other member sees no rebalance", not probs,
                    "; ".join(probs) + f" | {a.describe()} | {b2.describe()}",
                    f"B back with {sorted(b2_parts)} after {t_back:.1f}s, no callbacks on A{gen_note}")
            R.check(f"{label}: no record lost", not missing,
                    fmt_missing(missing) + f" | {a.describe()} | {b2.describe()}",
                    f"{len(produced)} produced, {total} delivered, {dups} duplicates")
    finally:
        if bg is not None:
            bg.stop_ev.set()


def broker_restart(kinds):
    """kill -9 the broker in the middle of each group's life, restart it on the same data dir.

    java/rdk: a live member consumes about half, pauses and commits; the broker is
    kill -9'd and restarted; the committed offsets must be there (OffsetFetch); the same
    member resumes and reads the rest; after it closes, a new member of the group
    receives only records produced after that.  kcat: `-c` half (commit on exit), broker
    kill -9 + restart, a new kcat in the group resumes exactly after the commit."""
    nparts = 3
    setup = {}
    with Members() as ms:
        for kind in kinds:
            topic = new_topic(f"rs-{kind}", nparts)
            group = uniq(f"rs-{kind}")
            exp = produce(topic, nparts, 0, 600)
            if kind == "kcat":
                m = ms.start(kind, "A", group, topic, commit="auto", max_n=300)
            else:
                m = ms.start(kind, "A", group, topic, commit="batch", session_ms=SESSION_STATIC_MS,
                             heartbeat_ms=HEARTBEAT_MS)
            setup[kind] = dict(topic=topic, group=group, exp=exp, a=m)
        for kind, s in setup.items():
            a = s["a"]
            if kind == "kcat":
                if not a.wait_exit(60):
                    raise AssertionError(f"kcat -c 300 did not exit: {a.describe()}")
            else:
                wait_until(lambda: a.n_records() >= 300, 60)
                a.send("pause")
                if not wait_until(lambda: a.has("PAUSED"), 20):
                    raise AssertionError(f"{kind} member did not pause: {a.describe()}")
            s["before"] = next_offsets(a)
            s["commit_before"] = committed_offsets(s["group"], s["topic"], nparts)
        log("broker restart: kill -9 and start on the same data dir")
        t0 = time.monotonic()
        r = subprocess.run(os.environ["RESTART_CMD"], shell=True, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            R.bad("broker restart", f"restart command failed: {r.stdout[-500:]} {r.stderr[-500:]}")
            return
        log(f"broker back after {time.monotonic() - t0:.1f}s")
        for kind, s in setup.items():
            a, topic, group = s["a"], s["topic"], s["group"]
            name = f"{kind}: committed offsets survive a broker kill -9 + restart"
            try:
                got = committed_offsets(group, topic, nparts, timeout=30)
            except Exception as e:  # noqa: BLE001
                got = f"{type(e).__name__}: {e}"
            want = {p: s["before"].get(p) for p in range(nparts)}
            R.check(name, got == want and s["commit_before"] == want,
                    f"OffsetFetch before the crash {s['commit_before']}, after the restart {got}, consumed up to {want}",
                    f"{want}")
        # Resume the live members; more records arrive after the restart.
        for kind, s in setup.items():
            s["exp"] |= produce(s["topic"], nparts, 600, 200)
            if kind != "kcat":
                s["a"].send("resume")
        for kind, s in setup.items():
            a, exp = s["a"], s["exp"]
            if kind == "kcat":
                continue
            ok = wait_until(lambda: set(a.values()) >= exp, 60)
            time.sleep(0.5)
            a.close()
            v = a.values()
            missing = sorted(exp - set(v))
            R.check(f"{kind}: a live member keeps consuming across the broker kill -9 + restart",
                    ok and not missing, fmt_missing(missing) + f" | {a.describe()}",
                    f"{len(set(v))} of {len(exp)}, {len(v) - len(set(v))} duplicates")
        # A brand-new member of each group: resumes after the last commit (earliest reset
        # would replay from 0 if the offsets were lost).
        for kind, s in setup.items():
            s["b"] = ms.start(kind, "B", s["group"], s["topic"], commit="auto" if kind == "kcat" else "batch")
        for kind, s in setup.items():
            wait_until(lambda: s["b"].assignment() == set(range(nparts)), 30)
        time.sleep(2.0)
        for kind, s in setup.items():
            s["tail"] = produce(s["topic"], nparts, 5000, 50)
        for kind, s in setup.items():
            a, b = s["a"], s["b"]
            if kind == "kcat":
                want = (s["exp"] - set(a.values())) | s["tail"]
            else:
                want = s["tail"]
            wait_until(lambda: set(b.values()) >= want, 30)
            time.sleep(1.0)
            b.close()
            v = b.values()
            extra = sorted(set(v) - want)
            missing = sorted(want - set(v))
            R.check(f"{kind}: after the broker restart a new member of the group resumes after the last commit",
                    not extra and not missing and len(v) == len(set(v)),
                    f"{len(extra)} already-committed records re-delivered (first {extra[:10]}), {fmt_missing(missing)}, "
                    f"{len(v) - len(set(v))} dups | {b.describe()}",
                    f"{len(v)} records, none of them before the commit")


# ---------------------------------------------------------------- main

def client_sequence(kind):
    checks = [
        ("two groups", two_groups, (kind,)),
        ("commit/resume", commit_resume, (kind,)),
        ("earliest/latest", earliest_latest, (kind,)),
        ("range close", split_and_leave, (kind, "range", "close")),
        ("range kill", split_and_leave, (kind, "range", "kill")),
        ("coop close", split_and_leave, (kind, "cooperative-sticky", "close")),
        ("coop kill", split_and_leave, (kind, "cooperative-sticky", "kill")),
        ("static close", static_restart, (kind, "close")),
        ("static kill", static_restart, (kind, "kill")),
    ]
    only = os.environ.get("GROUPS_ONLY")
    for (n, fn, args) in checks:
        if only and not any(o.strip() in n for o in only.split(",")):
            continue
        R.run(f"{kind}: {n}", fn, *args)


def main():
    kinds = sys.argv[1:] or ["kcat", "rdk", "java"]
    if os.environ.get("GROUPS_SERIAL") == "1":
        for k in kinds:
            client_sequence(k)
    else:
        ts = [threading.Thread(target=client_sequence, args=(k,)) for k in kinds]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    if os.environ.get("RESTART_CMD") and os.environ.get("GROUPS_SKIP_RESTART") != "1":
        R.run("broker restart", broker_restart, kinds)
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
