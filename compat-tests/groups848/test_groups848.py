"""KIP-848 consumer groups (group.protocol=consumer) with confluent-kafka, against a running broker.

usage: test_groups848.py SCENARIO...
  SCENARIO: split leave static regex takeover restart upgrade classiconly

Every group member is its own OS process (rdk848_member.py, so SIGKILL kills a whole
client); it reports its assignment, every record and every commit on stdout, and this
script asserts on what the members saw.  Records are produced with confluent-kafka:
value = a sequence number, partition = seq % partitions.

  split     two, then three members on a 6-partition topic split it 3+3, then 2+2+2; every
            record produced before and during the rebalances is consumed, re-delivered only
            if it was not yet committed when it was delivered again
  leave     three members: one close()s, the two others take its partitions; one is SIGKILLed,
            the survivor has all 6 within the session timeout (+6 s); nothing lost, duplicates
            only after the killed member's last commit
  static    group.instance.id: a static member close()s and restarts within the session
            timeout: same partitions, the other member sees no change; a static member
            SIGKILLed and restarted gets its partitions back
  regex     subscribe(["^rx..."]) (the broker resolves the regex, ConsumerGroupHeartbeat v1):
            a matching topic created after the member joined is consumed, a non-matching one not
  takeover  an EMPTY classic group (committed offsets only) is taken over by a consumer-protocol
            member, which resumes from the committed offsets; ListGroups type CLASSIC -> CONSUMER
  upgrade   online upgrade (KIP-848 migration), three runs side by side: the default eager range
            assignor, cooperative-sticky, and eager range with the consumer-protocol member
            joining while the classic group rebalances (a JoinGroup waiting).  Two classic members consume a 6-partition topic
            (3+3) while a producer runs; a consumer-protocol member joins (the group turns
            CONSUMER, 2+2+2 with the classic members still in, and steady: no callbacks for 3 s);
            each classic member in turn close()s and is replaced by a consumer-protocol one
            (rolling upgrade).  Nothing lost, nothing re-delivered after its commit, the
            committed offsets end at the end offsets, and by the rebalance callbacks no
            partition is owned by two members at once (assigned to B before A's on_revoke
            returned)
  classiconly  three classic members and one consumer-protocol member; the latter leaves, so only
            classic members are left and the group is downgraded to a classic group: they
            take its partitions, consume new records, are steady; one is SIGKILLed and fenced
            after its session timeout, the two others get its partitions; a new classic member
            joins (2+2+2 again); nothing lost, nothing owned twice at once
  restart   committed offsets survive a broker stop + restart on the same data dir (and then a
            kill -9 + restart); a new member resumes from them; a live member keeps its
            membership (no callbacks) and consumes on across both

Environment: BOOTSTRAP, LOGDIR (member logs), RESTART_CMD (+ term|kill: stops the broker and
starts it again on the same port and data dir), SESSION_MS (the broker's consumer session timeout).
"""
import os
import signal
import subprocess
import sys
import threading
import time

from compat import Reporter, log, bootstrap, uniq, ck_create_topic, MemberSet, wait_until, producer, new_topic, committed_offsets

HERE = os.path.dirname(os.path.abspath(__file__))
LOGDIR = os.environ.get("LOGDIR", "/tmp")
SESSION_S = int(os.environ.get("SESSION_MS", "6000")) / 1000.0


class SafeReporter(Reporter):
    _lock = threading.Lock()

    def ok(self, name, detail=""):
        with self._lock:
            super().ok(name, detail)

    def bad(self, name, detail):
        with self._lock:
            super().bad(name, detail)


R = SafeReporter("groups848")


def parse_tps(s):
    if s == "-":
        return set()
    out = set()
    for item in s.split(","):
        t, p = item.rsplit(":", 1)
        out.add((t, int(p)))
    return out


# ---------------------------------------------------------------- members

class Member:
    """One rdk848_member.py process and everything it reported."""

    def __init__(self, name, group, topics, *, protocol="consumer", instance_id=None, remote_assignor=None,
                 assignor=None, reset="earliest", max_n=None, max_seconds=150, slow_first_revoke_ms=0):
        self.name, self.group, self.topics = name, group, topics
        self.lock = threading.Lock()
        self.events = []        # (ms, kind, payload)
        self.asn = set()        # current assignment (ASN lines)
        self.asn_hist = []      # (ms, assignment)
        self.records = []       # (ms, topic, partition, offset, value)
        self.commits = []       # (ms, topic, partition, next offset)
        self.errors = []
        self.killed_ms = None   # wall-clock ms just before a SIGKILL
        self.t_start = time.time()
        args = [sys.executable, os.path.join(HERE, "rdk848_member.py"), "--bootstrap", bootstrap(),
                "--group", group, "--topics", topics, "--protocol", protocol, "--reset", reset,
                "--max-seconds", str(max_seconds), "--client-id", f"{name}-{group}"]
        if instance_id:
            args += ["--instance-id", instance_id]
        if remote_assignor:
            args += ["--remote-assignor", remote_assignor]
        if assignor:
            args += ["--assignor", assignor]
        if slow_first_revoke_ms:
            args += ["--slow-first-revoke-ms", str(slow_first_revoke_ms)]
        if max_n is not None:
            args += ["--max", str(max_n)]
        self.logf = open(os.path.join(LOGDIR, f"member-{group}-{name}-{id(self):x}.log"), "w")
        self.logf.write(" ".join(args) + "\n")
        self.logf.flush()
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.threads = [threading.Thread(target=self._read_out, daemon=True),
                        threading.Thread(target=self._read_err, daemon=True)]
        for t in self.threads:
            t.start()

    def __repr__(self):
        return self.name

    def _read_out(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            f = line.split(" ", 5)
            try:
                if f[0] == "R":
                    with self.lock:
                        self.records.append((int(f[1]), f[2], int(f[3]), int(f[4]), f[5] if len(f) > 5 else ""))
                    self.logf.write(line + "\n")
                    continue
                self.logf.write(line + "\n")
                ms = int(f[1])
                if f[0] == "ASN":
                    a = parse_tps(f[2])
                    with self.lock:
                        self.asn = a
                        self.asn_hist.append((ms, a))
                elif f[0] in ("ASSIGNED", "REVOKED", "REVOKE_END", "LOST"):
                    with self.lock:
                        self.events.append((ms, f[0], parse_tps(f[2])))
                elif f[0] == "COMMITTED":
                    with self.lock:
                        for item in f[2].split(","):
                            t, p, o = item.rsplit(":", 2)
                            self.commits.append((ms, t, int(p), int(o)))
                elif f[0] == "ERR":
                    with self.lock:
                        self.errors.append(line)
                else:
                    with self.lock:
                        self.events.append((ms, f[0], None))
            except (IndexError, ValueError):
                self.logf.write(f"(unparsed) {line}\n")
        self.logf.flush()

    def _read_err(self):
        for line in self.proc.stderr:
            self.logf.write(line)
            self.logf.flush()

    # -- queries
    def assignment(self):
        with self.lock:
            return set(self.asn)

    def parts(self):
        return {p for (_, p) in self.assignment()}

    def keys(self):
        """(topic, value) of every record delivered, in order."""
        with self.lock:
            return [(r[1], int(r[4])) for r in self.records]

    def n_records(self):
        with self.lock:
            return len(self.records)

    def rebalance_events(self, since_ms=0):
        with self.lock:
            return [(t, k, p) for (t, k, p) in self.events if t >= since_ms and k in ("ASSIGNED", "REVOKED", "LOST")]

    def last_commits(self):
        """(topic, partition) -> the highest next offset this member committed."""
        out = {}
        with self.lock:
            for (_, t, p, o) in self.commits:
                out[(t, p)] = max(out.get((t, p), 0), o)
        return out

    def next_offsets(self):
        out = {}
        with self.lock:
            for (_, t, p, o, _) in self.records:
                out[(t, p)] = max(out.get((t, p), 0), o + 1)
        return out

    def alive(self):
        return self.proc.poll() is None

    def close(self, timeout=25):
        if self.alive():
            try:
                self.proc.stdin.write("close\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass
        return self.wait_exit(timeout)

    def kill(self):
        if self.alive():
            self.killed_ms = int(time.time() * 1000)
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
            ev = [f"{t / 1000 - self.t_start:.1f}s {k} {sorted(p) if isinstance(p, set) else ''}"
                  for (t, k, p) in self.events][-8:]
            return (f"{self.name}: asn={sorted(p for (_, p) in self.asn)} records={len(self.records)} "
                    f"events={ev} errors={self.errors[-3:]}")


def Members():  # noqa: N802 (used as a context manager like the class it stands for)
    """Every member a scenario started; all are killed at the end."""
    return MemberSet(Member)


# ---------------------------------------------------------------- producing, offsets


def produce(topic, nparts, start, n, timeout=60):
    """Produce seq start..start+n-1 (value str(seq), partition seq % nparts); returns {(topic, seq)}."""
    p = producer()
    acked, errs = set(), []

    def cb(err, msg):
        if err is None:
            acked.add((topic, int(msg.value())))
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
    """Steady producer thread (rate records/s) from seq `start`; stop() returns the acked keys."""

    def __init__(self, topic, nparts, start, rate=150):
        self.topic, self.nparts, self.seq, self.rate = topic, nparts, start, rate
        self.acked, self.errs = set(), []
        self.stop_ev = threading.Event()
        self.p = producer()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _cb(self, err, msg):
        if err is None:
            self.acked.add((self.topic, int(msg.value())))
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


def group_types(groups, timeout=15):
    """ListGroups through confluent-kafka's AdminClient: {group: (type name, state name)}."""
    from confluent_kafka.admin import AdminClient
    a = AdminClient({"bootstrap.servers": bootstrap(), "socket.timeout.ms": 10000})
    res = a.list_consumer_groups(request_timeout=timeout).result(timeout=timeout)
    out = {}
    for g in res.valid:
        if g.group_id in groups:
            typ = getattr(g, "type", None)
            out[g.group_id] = (getattr(typ, "name", str(typ)), getattr(g.state, "name", str(g.state)))
    return out


# ---------------------------------------------------------------- checks

def loss_report(expected, members):
    """(missing keys, duplicate deliveries, total deliveries) over the union of members."""
    seen = {}
    for m in members:
        for k in m.keys():
            seen[k] = seen.get(k, 0) + 1
    missing = sorted(set(expected) - set(seen))
    dups = sum(c - 1 for c in seen.values() if c > 1)
    return missing, dups, sum(seen.values())


def fmt_missing(missing):
    return f"{len(missing)} missing, first {missing[:8]}"


def bad_redeliveries(members):
    """Re-deliveries that the group's commits do not allow: a record delivered again although,
    before that second delivery, some member had committed an offset past it.  (A member
    commits the records it printed before it gives up a partition, and a partition moves only
    after its old owner revoked it, so an honest re-delivery starts at the committed offset.)"""
    commits = {}   # (topic, partition) -> [(ms, next offset)]
    for m in members:
        with m.lock:
            for (ms, t, p, o) in m.commits:
                commits.setdefault((t, p), []).append((ms, o))
    deliveries = {}  # (topic, partition, offset) -> [(ms, member)]
    for m in members:
        with m.lock:
            for (ms, t, p, o, _) in m.records:
                deliveries.setdefault((t, p, o), []).append((ms, m.name))
    bad = []
    ndup = 0
    for (t, p, o), ds in deliveries.items():
        if len(ds) < 2:
            continue
        ds.sort()
        for (ms, who) in ds[1:]:
            ndup += 1
            before = [c for (cms, c) in commits.get((t, p), []) if cms < ms]
            if before and max(before) > o:
                bad.append(f"p{p}@{o} to {who} (first to {ds[0][1]}), committed {max(before)} before")
    return ndup, bad


def balanced(members, nparts, sizes):
    """Assignments disjoint, union = every partition, sizes as given (sorted)."""
    asg = [m.parts() for m in members]
    union = set().union(*asg)
    disjoint = sum(len(a) for a in asg) == len(union)
    return disjoint and union == set(range(nparts)) and sorted(len(a) for a in asg) == sorted(sizes)


def asg_desc(members):
    return " ".join(f"{m.name}={sorted(m.parts())}" for m in members)


def ownership(members):
    """[(topic, partition, start ms, end ms, member)] from the rebalance callbacks: a member owns
    a partition from on_assign until its on_revoke returned (REVOKE_END: its commit is done),
    on_lost, its exit (CLOSED) or its SIGKILL; still open at the end: until now."""
    out = []
    now_ms = int(time.time() * 1000)
    for m in members:
        owned = {}
        with m.lock:
            events = list(m.events)
        for (ms, kind, tps) in events:
            if kind == "ASSIGNED":
                for tp in tps:
                    owned.setdefault(tp, ms)
            elif kind in ("REVOKE_END", "LOST"):
                for tp in tps:
                    if tp in owned:
                        out.append((tp[0], tp[1], owned.pop(tp), ms, m.name))
            elif kind == "CLOSED":
                for tp, t0 in owned.items():
                    out.append((tp[0], tp[1], t0, ms, m.name))
                owned = {}
        end = m.killed_ms if m.killed_ms is not None else now_ms
        for tp, t0 in owned.items():
            out.append((tp[0], tp[1], t0, end, m.name))
    return out


def overlaps(members):
    """Moments a partition was owned by two members at once (by the callbacks): a partition
    assigned to B before A's on_revoke of it returned."""
    t_ref = min(m.t_start for m in members)
    by_tp = {}
    for (t, p, a, b, who) in ownership(members):
        by_tp.setdefault((t, p), []).append((a, b, who))
    bad = []
    for (t, p), iv in sorted(by_tp.items()):
        iv.sort()
        for i, (a1, b1, w1) in enumerate(iv):
            for (a2, b2, w2) in iv[i + 1:]:
                if w2 != w1 and a2 < b1:
                    bad.append(f"p{p}: {w2} from {a2 / 1000 - t_ref:.3f}s while {w1} owned it "
                               f"{a1 / 1000 - t_ref:.3f}s-{b1 / 1000 - t_ref:.3f}s")
    return bad


def lost_events(members):
    return [f"{m.name} LOST {sorted(p for (_, p) in tps)}" for m in members
            for (_, k, tps) in m.rebalance_events() if k == "LOST"]


# ---------------------------------------------------------------- scenarios

def split():
    nparts = 6
    topic = new_topic("s848-split", nparts)
    group = uniq("s848-split")
    pre = produce(topic, nparts, 0, 1500)
    bg = None
    try:
        with Members() as ms:
            a = ms.start("A", group, topic)
            b = ms.start("B", group, topic)
            t0 = time.monotonic()
            ok2 = wait_until(lambda: balanced([a, b], nparts, [3, 3]), 40)
            t2 = time.monotonic() - t0
            d2 = asg_desc([a, b])
            R.check("confluent-kafka: 2 consumer-protocol members split a 6-partition topic 3+3 (disjoint, all 6)", ok2,
                    f"after 40s: {d2} | {a.describe()} | {b.describe()}", f"{d2} after {t2:.1f}s")
            bg = BackgroundProducer(topic, nparts, 100_000, rate=150)
            wait_until(lambda: a.n_records() + b.n_records() > 1500, 20)
            c = ms.start("C", group, topic)
            t0 = time.monotonic()
            ok3 = wait_until(lambda: balanced([a, b, c], nparts, [2, 2, 2]), 40)
            t3 = time.monotonic() - t0
            d3 = asg_desc([a, b, c])
            R.check("confluent-kafka: a third member joins: 2+2+2 (disjoint, all 6)", ok3,
                    f"after 40s: {d3} | {a.describe()} | {b.describe()} | {c.describe()}", f"{d3} after {t3:.1f}s")
            wait_until(lambda: c.n_records() > 20, 10)
            time.sleep(1.0)
            produced = pre | bg.stop()
            bg = None
            wait_until(lambda: not loss_report(produced, [a, b, c])[0], 40)
            time.sleep(1.0)       # anything delivered twice would arrive now
            # leaving one by one moves partitions to the others, which resume from the commits
            for m in (a, b, c):
                m.close()
            missing, dups, total = loss_report(produced, [a, b, c])
            ndup, bad = bad_redeliveries([a, b, c])
            R.check(f"confluent-kafka: all {len(produced)} records consumed by the group across the rebalances and "
                    "closes, none re-delivered after it was committed",
                    not missing and not bad,
                    f"{fmt_missing(missing)}; {len(bad)} re-deliveries of committed records: {bad[:5]} | "
                    f"{a.describe()} | {b.describe()} | {c.describe()}",
                    f"{len(produced)} produced, {total} deliveries, {ndup} re-deliveries of uncommitted records")
    finally:
        if bg is not None:
            bg.stop_ev.set()


def leave():
    nparts = 6
    topic = new_topic("s848-leave", nparts)
    group = uniq("s848-leave")
    pre = produce(topic, nparts, 0, 600)
    bg = None
    try:
        with Members() as ms:
            a = ms.start("A", group, topic)
            b = ms.start("B", group, topic)
            c = ms.start("C", group, topic)
            if not wait_until(lambda: balanced([a, b, c], nparts, [2, 2, 2]), 40):
                raise AssertionError(f"3 members never split 2+2+2: {asg_desc([a, b, c])} | "
                                     f"{a.describe()} | {b.describe()} | {c.describe()}")
            bg = BackgroundProducer(topic, nparts, 100_000, rate=150)
            wait_until(lambda: b.n_records() > 20 and c.n_records() > 20, 15)
            time.sleep(1.0)
            b_parts = b.parts()
            t0 = time.monotonic()
            b.close()
            ok = wait_until(lambda: balanced([a, c], nparts, [3, 3]), 20)
            t_close = time.monotonic() - t0
            d = asg_desc([a, c])
            R.check("confluent-kafka: a member close()s: the two others take its partitions (3+3)", ok,
                    f"20s after B ({sorted(b_parts)}) closed: {d} | {a.describe()} | {c.describe()}",
                    f"B had {sorted(b_parts)}, then {d} after {t_close:.1f}s")
            wait_until(lambda: len([k for k in c.keys()]) > 0, 5)
            time.sleep(1.5)
            c_parts = c.parts()
            t0 = time.monotonic()
            c.kill()
            limit = SESSION_S + 6
            ok = wait_until(lambda: a.parts() == set(range(nparts)), limit + 10)
            t_kill = time.monotonic() - t0
            R.check(f"confluent-kafka: a member is SIGKILLed: the survivor has all 6 partitions within the session "
                    f"timeout + 6 s ({limit:.0f}s)", ok and t_kill <= limit,
                    f"survivor had {sorted(a.parts())} {t_kill:.1f}s after the kill of C ({sorted(c_parts)}) | {a.describe()}",
                    f"C had {sorted(c_parts)}; A had all 6 after {t_kill:.1f}s")
            time.sleep(1.0)
            produced = pre | bg.stop()
            bg = None
            wait_until(lambda: not loss_report(produced, [a, b, c])[0], 30)
            time.sleep(1.0)
            a.close()
            missing, dups, total = loss_report(produced, [a, b, c])
            # duplicates: only records the killed member received after its last commit
            c_commit = c.last_commits()
            c_delivered = {}
            with c.lock:
                for (_, t, p, o, _) in c.records:
                    c_delivered.setdefault((t, p, o), True)
            seen = {}
            bad = []
            for m in (a, b, c):
                with m.lock:
                    for (_, t, p, o, _) in m.records:
                        seen[(t, p, o)] = seen.get((t, p, o), 0) + 1
            for (t, p, o), n in seen.items():
                if n < 2:
                    continue
                if not c_delivered.get((t, p, o)) or o < c_commit.get((t, p), 0) or n > 2:
                    bad.append(f"p{p}@{o} x{n} (C delivered: {bool(c_delivered.get((t, p, o)))}, "
                               f"C committed {c_commit.get((t, p))})")
            R.check("confluent-kafka: close + SIGKILL: no record lost, duplicates only of records the killed member "
                    "got after its last commit", not missing and not bad,
                    f"{fmt_missing(missing)}; {len(bad)} bad duplicates: {bad[:6]} | {a.describe()} | {c.describe()}",
                    f"{len(produced)} produced, {total} deliveries, {dups} duplicates (all after C's last commit)")
    finally:
        if bg is not None:
            bg.stop_ev.set()


def static():
    nparts = 4
    topic = new_topic("s848-static", nparts)
    group = uniq("s848-static")
    pre = produce(topic, nparts, 0, 400)
    bg = None
    try:
        with Members() as ms:
            a = ms.start("A", group, topic, instance_id=f"{group}-a")
            b = ms.start("B", group, topic, instance_id=f"{group}-b")
            if not wait_until(lambda: balanced([a, b], nparts, [2, 2]), 40):
                raise AssertionError(f"static members never split 2+2: {asg_desc([a, b])} | {a.describe()} | {b.describe()}")
            bg = BackgroundProducer(topic, nparts, 100_000, rate=100)
            wait_until(lambda: b.n_records() > 20, 15)
            time.sleep(1.0)
            a_parts, b_parts = a.parts(), b.parts()
            t0_ms = int(time.time() * 1000)
            t0 = time.monotonic()
            b.close()
            b2 = ms.start("B2", group, topic, instance_id=f"{group}-b")
            back = wait_until(lambda: b2.parts() == b_parts, SESSION_S + 2)
            t_back = time.monotonic() - t0
            time.sleep(2.0)    # A would hear of a change at its next heartbeats
            a_ev = a.rebalance_events(since_ms=t0_ms)
            probs = []
            if not back:
                probs.append(f"restarted member has {sorted(b2.parts())} after {SESSION_S + 2:.0f}s, before {sorted(b_parts)}")
            if a_ev or a.parts() != a_parts:
                probs.append(f"the other member changed: {sorted(a_parts)} -> {sorted(a.parts())}, "
                             f"callbacks {[(k, sorted(p)) for (_, k, p) in a_ev]}")
            R.check("confluent-kafka: static member (group.instance.id) close()s and restarts within the session "
                    "timeout: same partitions back, the other member undisturbed", not probs,
                    "; ".join(probs) + f" | {a.describe()} | {b2.describe()}",
                    f"B2 has {sorted(b_parts)} after {t_back:.1f}s, A kept {sorted(a_parts)} with no callbacks")

            # SIGKILL: B2 never sent its temporary leave (epoch -2), so it still owns the
            # instance id until its session times out.  As in Kafka (GroupMetadataManager,
            # docs/kip848-spec.md 2.5), a new member with that instance id is refused with
            # UNRELEASED_INSTANCE_ID meanwhile (librdkafka makes it a fatal error), the other
            # member is undisturbed, then the old member is fenced and its partitions move.
            wait_until(lambda: b2.n_records() > 10, 10)
            time.sleep(1.0)
            b2_parts = b2.parts()
            t0_ms = int(time.time() * 1000)
            t0 = time.monotonic()
            b2.kill()
            b3 = ms.start("B3", group, topic, instance_id=f"{group}-b")
            refused = wait_until(lambda: any("instance ID is still used" in e or "UNRELEASED_INSTANCE_ID" in e
                                             for e in b3.errors), SESSION_S - 1)
            t_ref = time.monotonic() - t0
            a_during = a.parts()
            a_ev = a.rebalance_events(since_ms=t0_ms)
            b3_got = b3.parts()
            b3.kill()
            probs = []
            if not refused:
                probs.append(f"no UNRELEASED_INSTANCE_ID for the restarted instance within {SESSION_S - 1:.0f}s "
                             f"(it has {sorted(b3_got)}; errors {b3.errors[-2:]})")
            if b3_got:
                probs.append(f"the restarted instance got {sorted(b3_got)} while the killed one still held it")
            if a_ev or a_during != a_parts:
                probs.append(f"the other member changed before the session timeout: {sorted(a_parts)} -> "
                             f"{sorted(a_during)}, callbacks {[(k, sorted(p)) for (_, k, p) in a_ev]}")
            R.check("confluent-kafka: static member SIGKILLed and restarted at once: refused with "
                    "UNRELEASED_INSTANCE_ID while the killed member's session lasts, the other member undisturbed",
                    not probs, "; ".join(probs) + f" | {a.describe()} | {b3.describe()}",
                    f"refused after {t_ref:.1f}s, A kept {sorted(a_parts)}")
            limit = SESSION_S + 6
            took = wait_until(lambda: a.parts() == set(range(nparts)), limit + 10)
            t_take = time.monotonic() - t0
            b4 = ms.start("B4", group, topic, instance_id=f"{group}-b")
            t1 = time.monotonic()
            split_again = wait_until(lambda: balanced([a, b4], nparts, [2, 2]), 20)
            t_split = time.monotonic() - t1
            probs = []
            if not took or t_take > limit:
                probs.append(f"other member had {sorted(a.parts())} {t_take:.1f}s after the kill (limit {limit:.0f}s)")
            if not split_again:
                probs.append(f"instance restarted after the session timeout: no 2+2 split in 20s: {asg_desc([a, b4])}")
            R.check(f"confluent-kafka: the SIGKILLed static member is fenced after its session timeout (other member has "
                    f"all 4 within {limit:.0f}s); the instance restarted then joins, 2+2 again", not probs,
                    "; ".join(probs) + f" | {a.describe()} | {b4.describe()}",
                    f"A had all 4 after {t_take:.1f}s; {asg_desc([a, b4])} {t_split:.1f}s after the restart")
            time.sleep(1.0)
            produced = pre | bg.stop()
            bg = None
            wait_until(lambda: not loss_report(produced, [a, b, b2, b4])[0], 30)
            a.close()
            b4.close()
            missing, dups, total = loss_report(produced, [a, b, b2, b3, b4])
            R.check("confluent-kafka: static members: no record lost across the restarts", not missing,
                    f"{fmt_missing(missing)} of {len(produced)} | {a.describe()} | {b4.describe()}",
                    f"{len(produced)} produced, {total} deliveries, {dups} duplicates")
    finally:
        if bg is not None:
            bg.stop_ev.set()


def regex():
    u = uniq("rx848").replace("-", "")
    t1, t2, tno = f"{u}-a", f"{u}-b", f"no{u}-c"
    ck_create_topic(t1, 3)
    ck_create_topic(tno, 1)
    exp1 = produce(t1, 3, 0, 150)
    produce(tno, 1, 0, 20)
    group = uniq("rx848")
    with Members() as ms:
        m = ms.start("RX", group, f"^{u}-.*")
        ok1 = wait_until(lambda: set(m.keys()) >= exp1, 30)
        R.check("confluent-kafka: regex subscription (^prefix-.*, resolved by the broker): the matching topic is "
                "assigned and consumed", ok1,
                f"got {len(set(m.keys()) & exp1)} of {len(exp1)} | {m.describe()}",
                f"{len(exp1)} records of {t1}, assignment {sorted(m.assignment())}")
        t0 = time.monotonic()
        ck_create_topic(t2, 2)
        exp2 = produce(t2, 2, 0, 100)
        ok2 = wait_until(lambda: set(m.keys()) >= exp2, 35)
        took = time.monotonic() - t0
        time.sleep(1.0)
        got = m.keys()
        m.close()
        R.check("confluent-kafka: regex subscription: a matching topic created after the member joined is consumed "
                "(within 35 s)", ok2,
                f"after {took:.0f}s got {len(set(got) & exp2)} of {len(exp2)} of the new topic | {m.describe()}",
                f"all {len(exp2)} records of the new topic after {took:.1f}s")
        wrong = [k for k in got if k[0] == tno]
        dup = len(got) - len(set(got))
        R.check("confluent-kafka: regex subscription: a non-matching topic is not consumed, nothing twice",
                not wrong and not dup and ok1,
                f"{len(wrong)} records of {tno}, {dup} duplicates | {m.describe()}",
                f"{len(got)} records, none of {tno}")


def takeover():
    nparts = 3
    topic = new_topic("s848-takeover", nparts)
    group = uniq("s848-takeover")
    exp = produce(topic, nparts, 0, 600)
    with Members() as ms:
        c = ms.start("CLASSIC", group, topic, protocol="classic", max_n=300)
        if not c.wait_exit(60):
            raise AssertionError(f"classic member did not stop after 300 records: {c.describe()}")
        first = set(c.keys())
        nxt = {p: o for ((_, p), o) in c.next_offsets().items()}
        want = {p: nxt.get(p) for p in range(nparts)}
        got = committed_offsets(group, topic, nparts)
        if got != want or len(first) != 300:
            raise AssertionError(f"classic member committed {got}, consumed up to {want} ({len(first)} records)")
        before = group_types({group})
        n = ms.start("NEW", group, topic)
        rest = exp - first
        ok = wait_until(lambda: set(n.keys()) >= rest, 40)
        time.sleep(1.0)
        during = group_types({group})
        n.close()
        got2 = n.keys()
        redelivered = sorted(set(got2) & first)
        probs = []
        if not ok:
            probs.append(f"new member got {len(set(got2) & rest)} of the {len(rest)} uncommitted records")
        if redelivered:
            probs.append(f"{len(redelivered)} records committed by the classic group re-delivered, first {redelivered[:5]}")
        if len(got2) != len(set(got2)):
            probs.append(f"{len(got2) - len(set(got2))} duplicates")
        R.check("confluent-kafka: a consumer-protocol member takes over an empty classic group (only committed "
                "offsets) and resumes from its committed offsets", not probs,
                "; ".join(probs) + f" | classic committed {want} | {n.describe()}",
                f"classic group committed {want} ({len(first)} records); the new member got the other {len(got2)}")
        end = committed_offsets(group, topic, nparts)
        R.check("takeover: the consumer-protocol member's commits (OffsetCommit with member epochs) land",
                end == {p: 200 for p in range(nparts)}, f"OffsetFetch after it closed: {end}", f"{end}")
        R.check("takeover: ListGroups reports the group as CLASSIC before, CONSUMER after",
                before.get(group, ("",))[0] == "CLASSIC" and during.get(group, ("",))[0] == "CONSUMER",
                f"before {before}, during {during}", f"before {before.get(group)}, with the new member {during.get(group)}")


def restart():
    nparts = 4
    t1 = new_topic("s848-rs", nparts)
    t2 = new_topic("s848-rslive", nparts)
    g1 = uniq("s848-rs")
    g2 = uniq("s848-rslive")
    exp1 = produce(t1, nparts, 0, 800)
    exp2 = produce(t2, nparts, 0, 400)
    with Members() as ms:
        m1 = ms.start("M1", g1, t1, max_n=300)
        live = ms.start("LIVE", g2, t2)
        if not m1.wait_exit(60):
            raise AssertionError(f"M1 did not stop after 300 records: {m1.describe()}")
        if not wait_until(lambda: set(live.keys()) >= exp2, 40):
            raise AssertionError(f"live member did not read its topic: {live.describe()}")
        wait_until(lambda: live.last_commits() == live.next_offsets(), 10)
        want = {p: o for ((_, p), o) in m1.next_offsets().items()}
        want = {p: want.get(p) for p in range(nparts)}
        before = committed_offsets(g1, t1, nparts)
        live_before = committed_offsets(g2, t2, nparts)
        live_asn = live.assignment()
        log("restart: stopping the broker and starting it on the same data dir")
        t_restart_ms = int(time.time() * 1000)
        t0 = time.monotonic()
        restart_broker("term")
        log(f"broker back after {time.monotonic() - t0:.1f}s")
        try:
            after = committed_offsets(g1, t1, nparts)
        except Exception as e:  # noqa: BLE001
            after = f"{type(e).__name__}: {e}"
        R.check("restart: committed offsets of a consumer-protocol group survive a broker stop + restart",
                before == want and after == want,
                f"consumed up to {want}, OffsetFetch before {before}, after {after}", f"{after}")
        tail1 = produce(t1, nparts, 800, 100)
        tail2 = produce(t2, nparts, 400, 100)
        n = ms.start("N", g1, t1)
        rest = (exp1 - set(m1.keys())) | tail1
        ok = wait_until(lambda: set(n.keys()) >= rest, 40)
        ok_live = wait_until(lambda: set(live.keys()) >= tail2, 40)
        time.sleep(1.0)
        n.close()
        got = n.keys()
        again = sorted(set(got) & set(m1.keys()))
        probs = []
        if not ok:
            probs.append(f"got {len(set(got) & rest)} of the {len(rest)} uncommitted records")
        if again:
            probs.append(f"{len(again)} committed records re-delivered, first {again[:5]}")
        if len(got) != len(set(got)):
            probs.append(f"{len(got) - len(set(got))} duplicates")
        R.check("restart: a new consumer-protocol member of the group resumes from the committed offsets", not probs,
                "; ".join(probs) + f" | {n.describe()}", f"{len(got)} records, none before the commits")

        # then a crash: kill -9 and restart; the group records must have been durable
        wait_until(lambda: live.last_commits() == live.next_offsets(), 10)
        log("restart: kill -9 the broker and start it on the same data dir")
        t0 = time.monotonic()
        restart_broker("kill")
        log(f"broker back after {time.monotonic() - t0:.1f}s")
        try:
            after = committed_offsets(g1, t1, nparts)
        except Exception as e:  # noqa: BLE001
            after = f"{type(e).__name__}: {e}"
        end1 = {p: 225 for p in range(nparts)}
        R.check("restart: committed offsets of a consumer-protocol group survive a broker kill -9 + restart",
                after == end1, f"OffsetFetch after the crash {after}, expected {end1}", f"{after}")
        tail3 = produce(t2, nparts, 500, 100)
        ok_live2 = wait_until(lambda: set(live.keys()) >= tail3, 40)
        time.sleep(1.0)
        lv = live.keys()
        redo = [k for k in lv if k in exp2 or k in tail2]
        # the group's state (member, epoch, assignment) is replayed from __consumer_offsets:
        # the member goes on with its epoch, no rejoin, no callbacks
        lv_ev = live.rebalance_events(since_ms=t_restart_ms)
        lv_asn = live.assignment()
        live.close()
        lv_dups = len(lv) - len(set(lv))
        R.check("restart: a live consumer-protocol member keeps its membership and assignment across a broker stop + "
                "restart and a kill -9 + restart (no rebalance callbacks), consumes on, nothing committed re-delivered",
                ok_live and ok_live2 and len(redo) == len(exp2) + len(tail2) and not lv_dups and not lv_ev
                and lv_asn == live_asn,
                f"new records: {len(set(lv) & tail2)} of {len(tail2)} after the stop, {len(set(lv) & tail3)} of "
                f"{len(tail3)} after the crash; committed {live_before} then {len(redo) - len(exp2) - len(tail2)} "
                f"re-deliveries, {lv_dups} duplicates; assignment before {sorted(live_asn)}, after {sorted(lv_asn)}, "
                f"callbacks since the first restart {[(k, sorted(p)) for (_, k, p) in lv_ev]} | {live.describe()}",
                f"{len(set(lv) & (tail2 | tail3))} new records after the restarts, no re-delivery, no callbacks")


def settle_and_watch(members, watch_s=3.0, settle_s=1.5, limit=15):
    """Waits (bounded) until no member saw a rebalance callback for settle_s, then watches
    watch_s more: (ok, detail). ok: the group settled, nobody saw a callback while watched,
    and every member consumed records meanwhile (a classic member inside a consumer group
    must not be sent back to JoinGroup at every heartbeat)."""
    def last_cb():
        return max([t for m in members for (t, _, _) in m.rebalance_events()] or [0])
    settled = wait_until(lambda: time.time() * 1000 - last_cb() > settle_s * 1000, limit, step=0.1)
    t0_ms = int(time.time() * 1000)
    n0 = {m.name: m.n_records() for m in members}
    time.sleep(watch_s)
    ev = {m.name: [(k, sorted(p for (_, p) in tps)) for (_, k, tps) in m.rebalance_events(since_ms=t0_ms)]
          for m in members}
    ev = {k: v for k, v in ev.items() if v}
    grew = {m.name: m.n_records() - n0[m.name] for m in members}
    ok = settled and not ev and all(v > 0 for v in grew.values())
    return ok, (f"{'settled' if settled else f'still rebalancing after {limit}s'}; callbacks while watched "
                f"{ev or 'none'}; records in {watch_s:.0f}s {grew}")


def end_offsets(topic, nparts):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": uniq("s848-wm"), "socket.timeout.ms": 10000})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(nparts)}
    finally:
        c.close()


def upgrade_one(strategy, mid_rebalance=False):
    """Rolling upgrade of a classic group (partition.assignment.strategy `strategy`, None: the
    default range,roundrobin) while it consumes: see upgrade().  mid_rebalance: the first
    consumer-protocol member joins while the classic group rebalances (C2's JoinGroup waits
    for C1, whose first on_revoke takes 3 s): the waiting JoinGroup is answered
    REBALANCE_IN_PROGRESS by the upgrade and the classic members rejoin into the consumer
    group."""
    nparts = 6
    name = (strategy or "range") + (", mid-rebalance" if mid_rebalance else "")
    tag = (strategy or "range") + ("-mid" if mid_rebalance else "")
    label = f"confluent-kafka online upgrade ({name})"
    topic = new_topic(f"s848-up-{tag}", nparts)
    group = uniq(f"s848-up-{tag}")
    pre = produce(topic, nparts, 0, 600)
    bg = None
    try:
        with Members() as ms:
            c1 = ms.start("C1", group, topic, protocol="classic", assignor=strategy,
                          slow_first_revoke_ms=3000 if mid_rebalance else 0)
            if mid_rebalance:
                if not wait_until(lambda: c1.parts() == set(range(nparts)), 40):
                    raise AssertionError(f"the classic member never got all 6 partitions: {c1.describe()}")
                bg = BackgroundProducer(topic, nparts, 100_000, rate=100)
                wait_until(lambda: c1.n_records() >= 650, 20)
                before = group_types({group})
                c2 = ms.start("C2", group, topic, protocol="classic", assignor=strategy)
                # C2's JoinGroup waits for C1's rejoin, which waits for C1's slow on_revoke:
                # the first consumer-protocol member comes meanwhile
                if not wait_until(lambda: any(k == "REVOKED" for (_, k, _) in c1.rebalance_events()), 10):
                    raise AssertionError(f"C1 did not start revoking after C2 joined: {c1.describe()}")
                n1 = ms.start("N1", group, topic)
            else:
                c2 = ms.start("C2", group, topic, protocol="classic", assignor=strategy)
                if not wait_until(lambda: balanced([c1, c2], nparts, [3, 3]), 40):
                    raise AssertionError(f"2 classic members never split 3+3: {asg_desc([c1, c2])} | "
                                         f"{c1.describe()} | {c2.describe()}")
                bg = BackgroundProducer(topic, nparts, 100_000, rate=100)
                wait_until(lambda: c1.n_records() + c2.n_records() >= 700, 20)
                before = group_types({group})
                # the first consumer-protocol member: the classic group becomes a consumer group
                n1 = ms.start("N1", group, topic)
            t0 = time.monotonic()
            ok = wait_until(lambda: balanced([c1, c2, n1], nparts, [2, 2, 2]), 40)
            t_up = time.monotonic() - t0
            during = group_types({group})
            d = asg_desc([c1, c2, n1])
            typ_ok = before.get(group, ("",))[0] == "CLASSIC" and during.get(group, ("",))[0] == "CONSUMER"
            R.check(f"{label}: a consumer-protocol member joins 2 classic members"
                    + (" while they rebalance" if mid_rebalance else "") + ": the group is listed CLASSIC "
                    "before, CONSUMER after; the classic members keep 2 partitions each, the new one gets 2",
                    ok and typ_ok, f"split {ok}: {d}; types before {before}, after {during} | {c1.describe()} | "
                    f"{c2.describe()} | {n1.describe()}",
                    f"{d} after {t_up:.1f}s; type {before.get(group)} -> {during.get(group)}"
                    + ("; classic JoinGroup answered REBALANCE_IN_PROGRESS by the upgrade: "
                       f"{sum('REBALANCE_IN_PROGRESS' in e for m in (c1, c2) for e in m.errors)}x" if mid_rebalance else ""))
            ok, detail = settle_and_watch([c1, c2, n1])
            R.check(f"{label}: the mixed group (2 classic + 1 consumer-protocol member) is steady: no rebalance "
                    "callbacks for 3 s once settled, every member consuming", ok,
                    f"{detail} | {c1.describe()} | {c2.describe()} | {n1.describe()}", detail)
            # rolling upgrade: each classic member in turn is replaced by a consumer-protocol one
            c1.close()
            n2 = ms.start("N2", group, topic)
            t0 = time.monotonic()
            ok = wait_until(lambda: balanced([c2, n1, n2], nparts, [2, 2, 2]), 40)
            t_roll = time.monotonic() - t0
            after = group_types({group})
            d = asg_desc([c2, n1, n2])
            R.check(f"{label}: a classic member close()s and is replaced by a consumer-protocol one: 2+2+2 "
                    "(the classic member that stays keeps consuming), the group still CONSUMER",
                    ok and after.get(group, ("",))[0] == "CONSUMER",
                    f"split {ok}: {d}; type {after} | {c2.describe()} | {n1.describe()} | {n2.describe()}",
                    f"{d} after {t_roll:.1f}s")
            wait_until(lambda: n2.n_records() > 10 and c2.n_records() > 0, 10)
            c2.close()
            n3 = ms.start("N3", group, topic)
            t0 = time.monotonic()
            ok = wait_until(lambda: balanced([n1, n2, n3], nparts, [2, 2, 2]), 40)
            t_roll = time.monotonic() - t0
            d = asg_desc([n1, n2, n3])
            R.check(f"{label}: the last classic member close()s and is replaced: 3 consumer-protocol members, 2+2+2",
                    ok, f"{d} | {n1.describe()} | {n2.describe()} | {n3.describe()}", f"{d} after {t_roll:.1f}s")
            wait_until(lambda: n3.n_records() > 10, 10)
            time.sleep(1.0)
            produced = pre | bg.stop()
            bg = None
            allm = [c1, c2, n1, n2, n3]
            wait_until(lambda: not loss_report(produced, allm)[0], 40)
            time.sleep(1.0)       # anything delivered twice would arrive now
            for m in (n1, n2, n3):
                m.close()
            missing, dups, total = loss_report(produced, allm)
            ndup, bad = bad_redeliveries(allm)
            errs = [f"{m.name}: {e}" for m in allm for e in m.errors]
            want = end_offsets(topic, nparts)
            got = committed_offsets(group, topic, nparts)
            R.check(f"{label}: all {len(produced)} records consumed across the upgrade, none re-delivered after it "
                    "was committed; the group's committed offsets are the end offsets", not missing and not bad
                    and got == want,
                    f"{fmt_missing(missing)}; {len(bad)} re-deliveries of committed records: {bad[:5]}; committed "
                    f"{got}, end offsets {want} | " + " | ".join(m.describe() for m in allm),
                    f"{len(produced)} produced, {total} deliveries, {ndup} re-deliveries of uncommitted records"
                    + (f"; client errors: {errs[:3]}" if errs else ""))
            ov = overlaps(allm)
            lost = lost_events(allm)
            R.check(f"{label}: no partition owned by two members at once (on_assign after the previous owner's "
                    "on_revoke returned), no partition lost", not ov and not lost,
                    f"{len(ov)} overlaps: {ov[:4]}; {lost[:4]} | " + " | ".join(m.describe() for m in allm),
                    f"{len(ownership(allm))} ownership intervals over {nparts} partitions")
    finally:
        if bg is not None:
            bg.stop_ev.set()


def upgrade():
    """The default (eager range) and the cooperative-sticky runs, and the eager one with the
    upgrade in the middle of a classic rebalance, side by side."""
    ts = [threading.Thread(target=R.run, args=(f"upgrade ({s or 'range'}{', mid-rebalance' if mid else ''})",
                                               upgrade_one, s, mid), daemon=True)
          for (s, mid) in ((None, False), ("cooperative-sticky", False), (None, True))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(170)
        if t.is_alive():
            R.bad("upgrade", "a run did not finish within 170s")


def classiconly():
    nparts = 6
    topic = new_topic("s848-conly", nparts)
    group = uniq("s848-conly")
    pre = produce(topic, nparts, 0, 600)
    bg = None
    try:
        with Members() as ms:
            cs = [ms.start(f"C{i}", group, topic, protocol="classic") for i in (1, 2, 3)]
            c1, c2, c3 = cs
            if not wait_until(lambda: balanced(cs, nparts, [2, 2, 2]), 40):
                raise AssertionError(f"3 classic members never split 2+2+2: {asg_desc(cs)}")
            bg = BackgroundProducer(topic, nparts, 100_000, rate=100)
            n1 = ms.start("N1", group, topic)
            if not wait_until(lambda: balanced(cs + [n1], nparts, [2, 2, 1, 1]), 40):
                raise AssertionError(f"no 2+2+1+1 split after a consumer-protocol member joined: {asg_desc(cs + [n1])} "
                                     f"| {n1.describe()}")
            wait_until(lambda: n1.n_records() > 5, 10)
            up = group_types({group})
            if up.get(group, ("",))[0] != "CONSUMER":
                raise AssertionError(f"group not upgraded: {up}")
            # the last consumer-protocol member leaves: only classic members are left, and the
            # group goes back to the classic protocol (online downgrade, the default policy)
            n1.close()
            t0 = time.monotonic()
            ok = wait_until(lambda: balanced(cs, nparts, [2, 2, 2]), 30)
            t_back = time.monotonic() - t0
            typ = group_types({group})
            fresh = produce(topic, nparts, 50_000, 300)
            got = wait_until(lambda: set().union(*(set(m.keys()) for m in cs)) >= fresh, 30)
            by = {m.name: len(set(m.keys()) & fresh) for m in cs}
            steady, detail = settle_and_watch(cs)
            R.check("confluent-kafka: the last consumer-protocol member leaves: the group is downgraded to a classic "
                    "group; the 3 classic members take its partitions (2+2+2), consume new records and are steady "
                    "(no callbacks for 3 s once settled)",
                    ok and got and steady and typ.get(group, ("?",))[0] == "CLASSIC",
                    f"split {ok}: {asg_desc(cs)}; new records consumed: {by} of {len(fresh)}; {detail}; type {typ} | "
                    + " | ".join(m.describe() for m in cs),
                    f"{asg_desc(cs)} after {t_back:.1f}s; {len(fresh)} new records consumed {by}; {detail}; "
                    f"group type now {typ.get(group, ('?',))[0]}")
            c3_parts = c3.parts()
            t0 = time.monotonic()
            c3.kill()
            limit = SESSION_S + 6
            took = wait_until(lambda: balanced([c1, c2], nparts, [3, 3]), limit + 10)
            t_kill = time.monotonic() - t0
            R.check(f"confluent-kafka: a classic member of the downgraded group is SIGKILLed: fenced after its "
                    f"session timeout, the 2 others have all 6 partitions (3+3) within {limit:.0f}s",
                    took and t_kill <= limit,
                    f"{asg_desc([c1, c2])} {t_kill:.1f}s after the kill of C3 ({sorted(c3_parts)}) | "
                    f"{c1.describe()} | {c2.describe()}",
                    f"C3 had {sorted(c3_parts)}; {asg_desc([c1, c2])} after {t_kill:.1f}s")
            # a new classic member (C3 restarted) joins the downgraded group
            c4 = ms.start("C4", group, topic, protocol="classic")
            t0 = time.monotonic()
            ok = wait_until(lambda: balanced([c1, c2, c4], nparts, [2, 2, 2]), 30)
            t_join = time.monotonic() - t0
            typ = group_types({group})
            R.check("confluent-kafka: a new classic member joins the downgraded group "
                    "(JoinGroup with MEMBER_ID_REQUIRED, then SyncGroup): 2+2+2", ok,
                    f"{asg_desc([c1, c2, c4])}; type {typ} | {c4.describe()}",
                    f"{asg_desc([c1, c2, c4])} after {t_join:.1f}s")
            wait_until(lambda: c4.n_records() > 0, 5)
            time.sleep(1.0)
            produced = pre | fresh | bg.stop()
            bg = None
            allm = cs + [n1, c4]
            wait_until(lambda: not loss_report(produced, allm)[0], 30)
            time.sleep(1.0)
            for m in (c1, c2, c4):
                m.close()
            missing, dups, total = loss_report(produced, allm)
            ndup, bad = bad_redeliveries(allm)
            ov = overlaps(allm)
            lost = lost_events(allm)
            R.check("confluent-kafka: classic members through the downgrade: no "
                    "record lost, none re-delivered after it was committed, no partition owned twice at once",
                    not missing and not bad and not ov and not lost,
                    f"{fmt_missing(missing)}; {len(bad)} re-deliveries of committed records: {bad[:4]}; "
                    f"{len(ov)} overlaps {ov[:3]}; {lost[:3]} | " + " | ".join(m.describe() for m in allm),
                    f"{len(produced)} produced, {total} deliveries, {ndup} re-deliveries of uncommitted records "
                    f"(the killed member's)")
    finally:
        if bg is not None:
            bg.stop_ev.set()


def restart_broker(mode):
    r = subprocess.run(f"{os.environ['RESTART_CMD']} {mode}", shell=True, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"restart command ({mode}) failed: {r.stdout[-500:]} {r.stderr[-500:]}")


SCENARIOS = {
    "split": ("split: members split partitions, exactly once", split),
    "leave": ("leave: close and SIGKILL", leave),
    "static": ("static membership", static),
    "regex": ("regex subscription", regex),
    "takeover": ("empty classic group takeover", takeover),
    "restart": ("offsets across a broker restart", restart),
    "upgrade": ("online upgrade of a consuming classic group", upgrade),
    "classiconly": ("classic members left in a consumer group", classiconly),
}


def main():
    names = sys.argv[1:] or list(SCENARIOS)
    for n in names:
        label, fn = SCENARIOS[n]
        R.run(label, fn)
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
