"""KIP-932 share groups ("queues for Kafka") with confluent-kafka 2.16's ShareConsumer, against a
running broker.

usage: test_share.py SCENARIO...
  SCENARIO: split ackrel kill lock limit dlq crash

Consumers that run beside others or get killed are their own OS processes (share_member.py:
every record it receives, with its delivery count, every acknowledgement and commit on
stdout); the others are ShareConsumers in this process.  Records are produced with
confluent-kafka in log batches of at most 10 records: value = a sequence number, key
"k<seq>", partition = seq % partitions.  Every group sets share.auto.offset.reset=earliest
(IncrementalAlterConfigs on its GROUP resource) before its first member joins.

  split   three share_member processes (implicit acknowledgement) in one share group on a
          6-partition topic: ShareGroupDescribe shows them 2+2+2 (SimpleAssignor, disjoint),
          ListGroups (type filter share) lists the group Stable, DeleteGroups is refused
          (NON_EMPTY_GROUP); 600 records produced after they joined are received exactly once
          between them, each member gets some, each only from its own partitions, all with
          delivery count 1; DescribeShareGroupOffsets: start offset = end offset, lag 0; after
          they close the group is Empty.  A second share group and a classic consumer group
          (confluent_kafka.Consumer) each read all 600 too.  confluent-kafka's
          list_consumer_groups() lists the classic group but not the share group (librdkafka
          keeps protocol types "consumer" and "" only), describe_consumer_groups() does not
          present it as a consumer group; delete_consumer_groups() deletes it once empty (then
          not listed, ShareGroupDescribe GROUP_ID_NOT_FOUND) and a new member of the same
          group id reads the topic again from the start.
  ackrel  explicit mode on a 1-partition topic: a RELEASEd record is delivered again with
          delivery count 2 (and then accepted), a REJECTed one never again, accepted ones
          never again (a 3 s quiet poll, then a fresh member of the group gets nothing);
          every commit_sync answers each partition without error.
  kill    a share_member (explicit mode) takes one batch of a 3-partition topic and holds it
          unacknowledged; a second member joins; the first is SIGKILLed: the survivor
          receives every record exactly once, the killed member's with delivery count 2,
          within session timeout + lock + 25 s.
  lock    the same on one partition with the holder alive (it just stops polling): its
          records reach the other member when the acquisition lock (group config
          share.record.lock.duration.ms = SHARE_LOCK_MS) expires -- not before lock - 1.5 s,
          not after lock + 8 s -- with delivery count 2, and every record exactly once.
  limit   group config share.delivery.count.limit=3: a poison record RELEASEd every time is
          delivered exactly 3 times (counts 1, 2, 3) and then archived: never again, not to
          a fresh member either; the others once; start offset past it.
  dlq     KIP-1191: the DLQ topic dlq.<topic> (topic config
          errors.deadletterqueue.group.enable=true), group configs
          errors.deadletterqueue.topic.name and errors.deadletterqueue.copy.record.enable=true:
          a poison record RELEASEd until the broker's delivery limit (SHARE_DELIVERY_LIMIT)
          and a REJECTed record each appear once in the DLQ (read by a classic consumer)
          with the __dlq.errors.* headers and their key and value; nothing else does.
  crash   explicit member A ACCEPTs 95 of 200 records of a 3-partition topic with
          commit_sync, then holds the rest of its last batch (some RELEASEd, some left
          acquired); DescribeShareGroupOffsets: each partition's lag = its records not
          accepted (-1 allowed where A acknowledged nothing: no state written yet); the broker
          is kill -9ed, A too (before the broker restarts on the same data dir and port); the
          lags are the same and a new member receives exactly the 105 records A did not
          accept: none lost, none accepted before the crash delivered again, the RELEASEd ones
          with delivery count 2.

Environment: BOOTSTRAP, LOGDIR (member logs), RESTART_CMD (+ kill PID...: kill -9s the broker,
SIGKILLs the PIDs, starts it again on the same port and data dir), SHARE_SESSION_MS,
SHARE_LOCK_MS, SHARE_DELIVERY_LIMIT, SHARE_HEARTBEAT_MS (share/run.sh sets the broker to them).
"""
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict

from confluent_kafka import AcknowledgeType, Consumer, ConsumerGroupState, KafkaError, KafkaException, Producer, \
    ShareConsumer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from compat import Deadline, MemberSet, Reporter, bootstrap, ck_create_topic, log, new_topic, uniq, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # share_schemas, shareadmin
from shareadmin import GROUP_ID_NOT_FOUND, ShareAdmin, member_partitions  # noqa: E402

LOGDIR = os.environ.get("LOGDIR", "/tmp")
SESSION_S = int(os.environ.get("SHARE_SESSION_MS", "6000")) / 1000.0
LOCK_MS = int(os.environ.get("SHARE_LOCK_MS", "5000"))
LOCK_S = LOCK_MS / 1000.0
DELIVERY_LIMIT = int(os.environ.get("SHARE_DELIVERY_LIMIT", "4"))
HEARTBEAT_S = int(os.environ.get("SHARE_HEARTBEAT_MS", "1000")) / 1000.0

RESET = "share.auto.offset.reset"
LOCK = "share.record.lock.duration.ms"
LIMIT = "share.delivery.count.limit"
DLQ_NAME = "errors.deadletterqueue.topic.name"
DLQ_COPY = "errors.deadletterqueue.copy.record.enable"
DLQ_TOPIC_ENABLE = "errors.deadletterqueue.group.enable"

R = Reporter("share")


def now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------- helpers

def admin():
    return AdminClient({"bootstrap.servers": bootstrap(), "socket.timeout.ms": 10000})


def alter_configs(restype, name, configs, timeout=20):
    """IncrementalAlterConfigs SET of `configs` on one TOPIC or GROUP resource."""
    res = ConfigResource(restype, name, incremental_configs=[
        ConfigEntry(k, str(v), incremental_operation=AlterConfigOpType.SET) for k, v in configs.items()])
    a = admin()   # referenced until the futures resolve (a collected client fails them with _DESTROY)
    fs = a.incremental_alter_configs([res], request_timeout=timeout)
    for f in fs.values():
        f.result(timeout=timeout + 5)


def set_group_configs(group, configs):
    alter_configs(ResourceType.GROUP, group, configs)


def produce_seq(topic, nparts, n, start=0):
    """Records seq = start..start+n-1 (value str(seq), key k<seq>, partition seq % nparts), in
    log batches of at most 10 records.  Returns {(partition, offset): seq}."""
    p = Producer({"bootstrap.servers": bootstrap(), "linger.ms": 5, "batch.num.messages": 10,
                  "message.timeout.ms": 60000, "socket.timeout.ms": 10000})
    out, errs = {}, []

    def cb(err, msg):
        if err is not None:
            errs.append(err)
        else:
            out[(msg.partition(), msg.offset())] = int(msg.value())

    for seq in range(start, start + n):
        while True:
            try:
                p.produce(topic, value=str(seq).encode(), key=f"k{seq}".encode(), partition=seq % nparts,
                          on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(60)
    if left or errs or len(out) != n:
        raise RuntimeError(f"produce to {topic}: {left} undelivered, errors {errs[:3]}, {len(out)}/{n} acked")
    return out


def end_offsets(offs):
    """{partition: end offset} of a produce_seq result (a new topic starts at offset 0)."""
    ends = defaultdict(int)
    for (p, o) in offs:
        ends[p] = max(ends[p], o + 1)
    return dict(ends)


def share_consumer(group, mode="implicit", client_id="compat-share", max_poll_records=0):
    conf = {"bootstrap.servers": bootstrap(), "group.id": group, "share.acknowledgement.mode": mode,
            "client.id": client_id, "socket.timeout.ms": 10000}
    if max_poll_records:
        conf["max.poll.records"] = max_poll_records
    return ShareConsumer(conf)


def rec_of(m):
    return (m.partition(), m.offset(), m.delivery_count(), int(m.value()))


def read_share(group, topic, *, want=None, timeout=30.0, quiet=2.0, client_id="compat-share-reader"):
    """An implicit-mode ShareConsumer of `group` in this process: polls until `want` distinct
    records (partition, offset) arrived and then `quiet` s more with nothing new, or until
    `timeout` (want=None: for `timeout` s).  The last poll's records are accepted with
    commit_sync before close().  Returns [(partition, offset, delivery count, seq)]."""
    c = share_consumer(group, client_id=client_id)
    recs = []
    try:
        c.subscribe([topic])
        dl = Deadline(timeout)
        seen = set()
        last_new = time.monotonic()
        while not dl.expired():
            for m in c.poll(0.5):
                if m.error():
                    log(f"  {client_id}: record error {m.error()}")
                    continue
                recs.append(rec_of(m))
                if (m.partition(), m.offset()) not in seen:
                    seen.add((m.partition(), m.offset()))
                    last_new = time.monotonic()
            if want is not None and len(seen) >= want and time.monotonic() - last_new >= quiet:
                break
        res = c.commit_sync(30.0)
        bad = {tp.partition: str(e) for tp, e in res.items() if e is not None}
        if bad:
            raise RuntimeError(f"{client_id}: commit_sync before close failed: {bad}")
    finally:
        c.close()
    return recs


def dups(recs):
    """(partition, offset) delivered more than once."""
    c = Counter((p, o) for (p, o, _, _) in recs)
    return sorted(k for k, n in c.items() if n > 1)


def short(items, n=8):
    items = sorted(items)
    return f"{items[:n]}{'...' if len(items) > n else ''} ({len(items)})"


def commit_errors(res):
    return {f"{tp.topic}:{tp.partition}": str(e) for tp, e in res.items() if e is not None}


def describe_summary(g):
    if g is None:
        return "none"
    ms = [(m.client_id, sorted(p for (_, p) in member_partitions(m)), m.member_epoch) for m in g.members]
    return (f"error={g.error_code} state={g.group_state} epoch={g.group_epoch}/{g.assignment_epoch} "
            f"assignor={g.assignor_name} members={sorted(ms)}")


def wait_describe(group, pred, timeout):
    """ShareGroupDescribe until pred(described group) holds: (True, group) or (False, last
    answer or exception).  An exception other than a transient one ends the wait."""
    from kafka.errors import IncompatibleBrokerVersion
    dl = Deadline(timeout)
    last = None
    with ShareAdmin() as sa:
        while True:
            try:
                g = sa.describe(group)
                last = g
                if pred(g):
                    return True, g
            except IncompatibleBrokerVersion as e:
                return False, e
            except Exception as e:  # noqa: BLE001 - retried until the deadline
                last = e
            if dl.expired():
                return False, last
            time.sleep(0.3)


def wait_offsets(group, pred, timeout):
    """DescribeShareGroupOffsets until pred(version, group error, {(topic, p): (start, lag,
    error)}) holds: (True, answer) or (False, last answer or exception)."""
    from kafka.errors import IncompatibleBrokerVersion
    dl = Deadline(timeout)
    last = None
    with ShareAdmin() as sa:
        while True:
            try:
                ans = sa.offsets(group)
                last = ans
                if pred(*ans):
                    return True, ans
            except IncompatibleBrokerVersion as e:
                return False, e
            except Exception as e:  # noqa: BLE001
                last = e
            if dl.expired():
                return False, last
            time.sleep(0.3)


def check_offsets(name, group, topic, ends, lags=None):
    """DescribeShareGroupOffsets: every partition of `ends` answered without error; with lags
    None, start offset = end offset and lag 0 everywhere (all consumed), else each partition's
    lag is one of lags[p] (v1; on v0 only the start offsets are known)."""
    def ok(version, gerr, parts):
        if gerr != 0:
            return False
        for p, end in ends.items():
            e = parts.get((topic, p))
            if e is None or e[2] != 0:
                return False
            if lags is None and (e[0] != end or (version >= 1 and e[1] != 0)):
                return False
            if lags is not None and version >= 1 and e[1] not in lags[p]:
                return False
        return True

    good, ans = wait_offsets(group, ok, 10)
    if isinstance(ans, tuple):
        version, gerr, parts = ans
        mine = {p: parts.get((topic, p)) for p in sorted(ends)}
        detail = f"v{version} group error {gerr}: (start, lag, error) per partition {mine}, end offsets {ends}"
        if lags is not None:
            detail += f", lags expected {lags}"
        if good and version < 1:
            detail += "; the broker answered v0, so the lag was not checked"
    else:
        detail = f"{type(ans).__name__}: {ans}"
    R.check(name, good, detail, detail)


# ---------------------------------------------------------------- member processes

class Member:
    """One share_member.py process and everything it reported."""

    def __init__(self, name, group, topic, *, mode="implicit", behaviour="consume", accept=0,
                 max_poll_records=0, max_seconds=150):
        self.name = name
        self.client_id = f"{name}-{group}"
        self.lock = threading.Lock()
        self.records = []   # (ms, partition, offset, delivery count, seq)
        self.acks = []      # (ms, kind, partition, offset)
        self.commits = []   # (ms, ok, text)
        self.events = {}    # READY/HOLD/CLOSED -> first ms
        self.errors = []
        args = [sys.executable, os.path.join(HERE, "share_member.py"), "--bootstrap", bootstrap(),
                "--group", group, "--topics", topic, "--mode", mode, "--behaviour", behaviour,
                "--accept", str(accept), "--max-poll-records", str(max_poll_records),
                "--max-seconds", str(max_seconds), "--client-id", self.client_id]
        self.logf = open(os.path.join(LOGDIR, f"member-{group}-{name}.log"), "w")
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

    def _log(self, text):
        try:
            self.logf.write(text)
            self.logf.flush()
        except ValueError:   # closed by MemberSet at the end of a scenario
            pass

    def _read_out(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self._log(line + "\n")
            f = line.split(" ")
            try:
                with self.lock:
                    if f[0] == "R":
                        self.records.append((int(f[1]), int(f[3]), int(f[4]), int(f[5]), int(f[6])))
                    elif f[0] == "ACK":
                        self.acks.append((int(f[1]), f[2], int(f[4]), int(f[5])))
                    elif f[0] == "COMMIT":
                        self.commits.append((int(f[1]), f[2] == "ok", " ".join(f[3:])))
                    elif f[0] == "ERR":
                        self.errors.append(line)
                    else:
                        self.events.setdefault(f[0], int(f[1]))
            except (IndexError, ValueError):
                self._log(f"(unparsed) {line}\n")

    def _read_err(self):
        for line in self.proc.stderr:
            self._log(line)

    def event(self, kind):
        with self.lock:
            return self.events.get(kind)

    def ready(self):
        return self.event("READY") is not None

    def holding(self):
        return self.event("HOLD") is not None

    def recs(self):
        """[(partition, offset, delivery count, seq)]"""
        with self.lock:
            return [(p, o, dc, s) for (_, p, o, dc, s) in self.records]

    def recs_ms(self):
        with self.lock:
            return list(self.records)

    def distinct(self):
        with self.lock:
            return {(p, o) for (_, p, o, _, _) in self.records}

    def alive(self):
        return self.proc.poll() is None

    def close(self, timeout=20):
        """Ask for commit_sync + close(); True if it printed CLOSED and exited in time."""
        try:
            self.proc.stdin.write("close\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return False
        self._join()
        return self.event("CLOSED") is not None

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        self.reaped()

    def reaped(self):
        """Collect the process (after a SIGKILL, possibly sent by someone else)."""
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._join()

    def _join(self):
        for t in self.threads:
            t.join(2)


def union(members):
    out = []
    for m in members:
        out.extend(m.recs())
    return out


# ---------------------------------------------------------------- split (checks 1, 2, 7)

def scen_split():
    NP, N = 6, 600
    topic = new_topic("sh-split", NP)
    group = uniq("sg-split")
    set_group_configs(group, {RESET: "earliest"})
    with MemberSet(Member) as ms:
        members = [ms.start(f"m{i}", group, topic) for i in (1, 2, 3)]
        if not wait_until(lambda: all(m.ready() for m in members), 30):
            R.bad("split: three ShareConsumer processes subscribe", [(m, m.alive(), m.errors[:2]) for m in members])
            return

        def balanced(g):
            if g.error_code != 0 or g.group_state != "Stable" or len(g.members) != 3:
                return False
            parts = [member_partitions(m, topic) for m in g.members]
            return all(len(p) == 2 for p in parts) and len(set().union(*parts)) == NP
        good, g = wait_describe(group, balanced, 20)
        desc = g if good else None
        if good:
            ids = sorted(m.client_id for m in g.members)
            subs = [list(m.subscribed_topic_names) for m in g.members]
            tids = {tp.topic_id for m in g.members for tp in m.assignment.topic_partitions}
            ok = (ids == sorted(m.client_id for m in members) and all(s == [topic] for s in subs)
                  and g.assignor_name == "simple" and g.group_epoch >= 1 and len(tids) == 1
                  and str(next(iter(tids))) != "00000000-0000-0000-0000-000000000000")
            R.check("split: ShareGroupDescribe: Stable, 3 members (our client ids, subscribed to the topic) "
                    "assigned 2+2+2 disjoint partitions by the simple assignor",
                    ok, f"{describe_summary(g)} subscriptions={subs} topic ids={tids}", describe_summary(g))
        else:
            R.bad("split: ShareGroupDescribe: Stable, 3 members assigned 2+2+2 disjoint partitions (within 20 s)",
                  describe_summary(g) if not isinstance(g, Exception) else f"{type(g).__name__}: {g}")
            time.sleep(3 * HEARTBEAT_S + 1)   # let the assignment settle anyway

        try:
            with ShareAdmin() as sa:
                share = sa.list_groups(["share"])
                others = sa.list_groups(["consumer", "classic"])
            e = share.get(group)
            R.check("split: ListGroups (types filter share) lists the group: type share, protocol type share, Stable; "
                    "the consumer/classic filter does not",
                    e is not None and e.get("group_type") == "share" and e.get("protocol_type") == "share"
                    and e.get("group_state") == "Stable" and group not in others,
                    f"share filter: {e}; in the consumer/classic answer: {others.get(group)}", str(e))
        except Exception as ex:  # noqa: BLE001
            R.bad("split: ListGroups (types filter share) lists the group", f"{type(ex).__name__}: {ex}")

        code, text = delete_group(group)
        R.check("split: DeleteGroups of the share group with members is refused (NON_EMPTY_GROUP)",
                code == KafkaError.NON_EMPTY_GROUP, text or "it succeeded", text)

        # the members apply an assignment a little after the heartbeat that gave it to them
        time.sleep(1.0)
        offs = produce_seq(topic, NP, N)
        ends = end_offsets(offs)
        wait_until(lambda: len({(p, o) for (p, o, _, _) in union(members)}) >= N, 30, step=0.2)
        time.sleep(2.0)   # a duplicate would show up now
        closed = [m.close() for m in members]
        recs = union(members)
        got = {(p, o) for (p, o, _, _) in recs}
        missing = set(offs) - got
        d = dups(recs)
        counts = {m.name: len(m.recs()) for m in members}
        R.check("split: 3 consumers of one share group (implicit acks) receive all 600 records of a 6-partition topic "
                "exactly once between them",
                not missing and not d and got <= set(offs) and all(closed),
                f"missing {short(missing)}, delivered twice {short(d)}, per member {counts}, closed cleanly {closed}, "
                f"errors {[m.errors[:2] for m in members]}", f"per member {counts}")
        R.check("split: each of the 3 consumers received records", all(n > 0 for n in counts.values()),
                f"per member {counts}", f"per member {counts}")
        if desc is not None:
            own = {m.client_id: {p for (_, p) in member_partitions(m, topic)} for m in desc.members}
            stray = {m.name: sorted({p for (p, _, _, _) in m.recs()} - own.get(m.client_id, set())) for m in members}
            R.check("split: each consumer received records only from the partitions ShareGroupDescribe assigned it",
                    not any(stray.values()), f"records from other partitions: {stray}, assignment {own}")
        dcs = Counter(dc for (_, _, dc, _) in recs)
        R.check("split: every record arrived with delivery count 1", set(dcs) == {1}, f"delivery counts {dict(dcs)}")

    check_offsets("split: DescribeShareGroupOffsets: start offset = end offset and lag 0 on all 6 partitions",
                  group, topic, ends)
    good, g = wait_describe(group, lambda g: g.error_code == 0 and g.group_state == "Empty" and not g.members, 15)
    R.check("split: ShareGroupDescribe after the members closed: Empty, no members", good,
            describe_summary(g) if not isinstance(g, Exception) else f"{type(g).__name__}: {g}")

    # check 2: a second share group and a classic consumer group read the same topic on their own
    group2 = uniq("sg-split2")
    set_group_configs(group2, {RESET: "earliest"})
    recs2 = read_share(group2, topic, want=N, timeout=25, client_id="second-share-group")
    got2 = {(p, o) for (p, o, _, _) in recs2}
    R.check("split: a second share group receives all 600 records too, exactly once",
            got2 == set(offs) and not dups(recs2),
            f"missing {short(set(offs) - got2)}, delivered twice {short(dups(recs2))}", f"{len(recs2)} records")
    cgroup = uniq("cg-split")
    crecs = classic_read(cgroup, topic, N, 25)
    cgot = Counter(crecs)
    R.check("split: a classic consumer group (confluent_kafka.Consumer) receives all 600 records too",
            set(cgot) == set(offs) and all(n == 1 for n in cgot.values()),
            f"missing {short(set(offs) - set(cgot))}, twice {short(k for k, n in cgot.items() if n > 1)}",
            f"{len(crecs)} records")

    existed = bool(got)   # the share group consumed, so it exists (the describe check is moot otherwise)
    a = admin()
    lst = a.list_consumer_groups(request_timeout=15).result(timeout=20)
    ids = {x.group_id for x in lst.valid}
    R.check("split: confluent-kafka list_consumer_groups() lists the classic group, not the share group "
            "(librdkafka keeps protocol types consumer and \"\" only)",
            existed and cgroup in ids and group not in ids and group2 not in ids,
            f"classic listed {cgroup in ids}, share groups listed {group in ids}/{group2 in ids} (the share group "
            f"consumed: {existed}), errors {lst.errors}")
    try:
        d = a.describe_consumer_groups([group], request_timeout=15)[group].result(timeout=20)
        R.check("split: confluent-kafka describe_consumer_groups() does not describe the share group as a consumer group",
                existed and not d.members and d.state != ConsumerGroupState.STABLE,
                f"state {d.state} type {getattr(d, 'type', None)} members {d.members} (the share group consumed: "
                f"{existed})", f"state {d.state}")
    except KafkaException as ex:
        R.check("split: confluent-kafka describe_consumer_groups() does not describe the share group as a consumer group",
                existed and ex.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND,
                str(ex) if existed else "the share group never consumed", str(ex.args[0].name()))

    code, text = delete_group(group)
    deleted = code == 0
    R.check("split: confluent-kafka delete_consumer_groups() deletes the share group once its members left",
            deleted, text)
    if deleted:
        try:
            with ShareAdmin() as sa:
                listed = group in sa.list_groups(["share"])
                dg = sa.describe(group)
            R.check("split: the deleted share group is gone: not listed, ShareGroupDescribe GROUP_ID_NOT_FOUND",
                    not listed and dg.error_code == GROUP_ID_NOT_FOUND,
                    f"listed {listed}, describe {describe_summary(dg)}")
        except Exception as ex:  # noqa: BLE001
            R.bad("split: the deleted share group is gone", f"{type(ex).__name__}: {ex}")
        set_group_configs(group, {RESET: "earliest"})
        recs3 = read_share(group, topic, want=N, timeout=25, client_id="after-delete")
        got3 = {(p, o) for (p, o, _, _) in recs3}
        R.check("split: after the delete a new member of the same group id reads all 600 records again "
                "(its share state was deleted)",
                got3 == set(offs) and not dups(recs3) and {dc for (_, _, dc, _) in recs3} == {1},
                f"missing {short(set(offs) - got3)}, twice {short(dups(recs3))}, "
                f"delivery counts {Counter(dc for (_, _, dc, _) in recs3)}", f"{len(recs3)} records")


def delete_group(group):
    """confluent-kafka delete_consumer_groups() of one group: (0, "") or (error code, text);
    (None, text) for an error that is not the broker's answer (e.g. a timeout)."""
    a = admin()
    fs = a.delete_consumer_groups([group], request_timeout=15)
    try:
        fs[group].result(timeout=20)
        return 0, ""
    except KafkaException as ex:
        return ex.args[0].code(), f"{ex.args[0].name()}: {ex}"
    except Exception as ex:  # noqa: BLE001
        return None, f"{type(ex).__name__}: {ex}"


def classic_read(group, topic, n, timeout):
    """A classic-protocol consumer group member reads until n records and 1.5 s quiet:
    [(partition, offset)]."""
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": True, "socket.timeout.ms": 10000, "session.timeout.ms": 6000,
                  "heartbeat.interval.ms": 1000})
    out = []
    try:
        c.subscribe([topic])
        dl = Deadline(timeout)
        last = time.monotonic()
        while not dl.expired():
            msgs = c.consume(500, timeout=0.5)
            for m in msgs:
                if m.error():
                    continue
                out.append((m.partition(), m.offset()))
                last = time.monotonic()
            if len(set(out)) >= n and time.monotonic() - last >= 1.5:
                break
    finally:
        c.close()
    return out


# ---------------------------------------------------------------- ackrel (check 3)

def explicit_loop(c, decide, done, timeout, quiet=3.0):
    """Poll an explicit-mode ShareConsumer, acknowledge each record as decide(record, deliveries
    so far of its seq) says, commit_sync after every batch, until done(deliveries) and then
    `quiet` s more (anything arriving then is still recorded).  Returns ({seq: [delivery
    counts]}, [commit errors], [(ms, seq, dc)])."""
    deliveries = {}
    commit_errs = []
    log_ = []
    dl = Deadline(timeout)
    t_done = None
    while not dl.expired():
        recs = [m for m in c.poll(0.5) if not m.error()]
        for m in recs:
            seq = int(m.value())
            deliveries.setdefault(seq, []).append(m.delivery_count())
            log_.append((now_ms(), seq, m.delivery_count()))
            c.acknowledge(m, decide(seq, deliveries[seq]))
        if recs:
            try:
                bad = commit_errors(c.commit_sync(30.0))
            except KafkaException as e:
                bad = str(e)
            if bad:
                commit_errs.append(bad)
        if t_done is None and done(deliveries):
            t_done = time.monotonic()
        if t_done is not None and time.monotonic() - t_done >= quiet:
            break
    return deliveries, commit_errs, log_


def scen_ackrel():
    topic = new_topic("sh-ack", 1)
    group = uniq("sg-ack")
    set_group_configs(group, {RESET: "earliest"})
    offs = produce_seq(topic, 1, 10)
    REL, REJ = 3, 6

    def decide(seq, dcs):
        if seq == REL and len(dcs) == 1:
            return AcknowledgeType.RELEASE
        if seq == REJ:
            return AcknowledgeType.REJECT
        return AcknowledgeType.ACCEPT

    c = share_consumer(group, "explicit", "ackrel")
    try:
        c.subscribe([topic])
        deliv, cerrs, _ = explicit_loop(c, decide, lambda d: len(d) == 10 and len(d.get(REL, [])) >= 2, 20)
    finally:
        c.close()
    R.check("ackrel: every record arrives, first with delivery count 1",
            len(deliv) == 10 and all(d and d[0] == 1 for d in deliv.values()), f"deliveries {dict(deliv)}")
    R.check("ackrel: a RELEASEd record is delivered again with delivery count 2 (then ACCEPTed, and not again)",
            deliv.get(REL) == [1, 2], f"deliveries of the released record: {deliv.get(REL)}")
    R.check("ackrel: a REJECTed record is never delivered again (3 s quiet poll)",
            deliv.get(REJ) == [1], f"deliveries of the rejected record: {deliv.get(REJ)}")
    arrived = len(deliv) == 10
    again = {s: d for s, d in deliv.items() if s not in (REL, REJ) and d != [1]}
    R.check("ackrel: ACCEPTed records are never delivered again", arrived and not again,
            f"{again}" if arrived else f"not every record arrived: {deliv}")
    R.check("ackrel: every commit_sync answered each partition without error", arrived and not cerrs,
            f"{cerrs[:3]}" if arrived else "not every record arrived")
    extra = read_share(group, topic, timeout=4.0, client_id="ackrel-after")
    R.check("ackrel: a fresh member of the group gets nothing (all records acknowledged or archived)",
            arrived and not extra, f"got {extra}" if arrived else "not every record arrived")
    check_offsets("ackrel: DescribeShareGroupOffsets: start offset 10, lag 0", group, topic, end_offsets(offs))


# ---------------------------------------------------------------- kill and lock (check 4)

def scen_kill():
    NP, N = 3, 300
    topic = new_topic("sh-kill", NP)
    group = uniq("sg-kill")
    set_group_configs(group, {RESET: "earliest", LOCK: LOCK_MS})
    offs = produce_seq(topic, NP, N)
    with MemberSet(Member) as ms:
        v = ms.start("victim", group, topic, mode="explicit", behaviour="hold", max_poll_records=50)
        if not wait_until(v.holding, 30):
            R.bad("kill: a member takes a batch and holds it", f"alive {v.alive()} errors {v.errors[:3]}")
            return
        held = v.distinct()
        s = ms.start("survivor", group, topic)
        wait_until(s.ready, 20)
        time.sleep(2 * HEARTBEAT_S)   # the survivor joins (and takes what the victim does not hold)
        t_kill = now_ms()
        v.kill()
        bound = SESSION_S + LOCK_S + 25
        wait_until(lambda: len(s.distinct()) >= N, bound, step=0.2)
        time.sleep(2.0)
        closed = s.close()
        recs = s.recs()
        got = {(p, o) for (p, o, _, _) in recs}
        missing = set(offs) - got
        R.check("kill: after a member holding records unacknowledged is SIGKILLed, the other member of the share "
                f"group receives every record (within session timeout + lock + 25 s = {bound:.0f} s)",
                not missing and closed,
                f"missing {short(missing)} (the killed member held {len(held)}), closed cleanly {closed}, "
                f"errors {s.errors[:3]}", f"the killed member held {len(held)} of {N}")
        R.check("kill: ... and no record twice", not dups(recs), f"delivered twice {short(dups(recs))}")
        dc = {(p, o): d for (p, o, d, _) in recs}
        wrong = {k: dc.get(k) for k in held if dc.get(k) != 2}
        last = max((ms_ for (ms_, p, o, _, _) in s.recs_ms() if (p, o) in held), default=None)
        R.check("kill: the killed member's records come back with delivery count 2",
                held and not wrong, f"held {len(held)}, not 2: {dict(list(wrong.items())[:8])}",
                f"{len(held)} records, the last {((last or t_kill) - t_kill) / 1000:.1f} s after the kill")


def scen_lock():
    N = 100
    topic = new_topic("sh-lock", 1)
    group = uniq("sg-lock")
    set_group_configs(group, {RESET: "earliest", LOCK: LOCK_MS})
    offs = produce_seq(topic, 1, N)
    with MemberSet(Member) as ms:
        v = ms.start("holder", group, topic, mode="explicit", behaviour="hold", max_poll_records=20)
        if not wait_until(v.holding, 30):
            R.bad("lock: a member takes a batch and holds it", f"alive {v.alive()} errors {v.errors[:3]}")
            return
        held = v.distinct()
        t_held = min(ms_ for (ms_, _, _, _, _) in v.recs_ms())
        s = ms.start("other", group, topic)
        wait_until(lambda: len(s.distinct()) >= N, LOCK_S + 25, step=0.2)
        time.sleep(2.0)
        closed = s.close()
        v.kill()
        recs = s.recs_ms()
        got = {(p, o) for (_, p, o, _, _) in recs}
        missing = set(offs) - got
        R.check("lock: a live member holds records without acknowledging them: the other member receives every "
                "record, none twice", not missing and not dups(s.recs()) and closed,
                f"missing {short(missing)} (held {len(held)}), twice {short(dups(s.recs()))}, closed cleanly {closed}",
                f"held {len(held)} of {N}")
        first = {}
        for (ms_, p, o, dc, _) in recs:
            if (p, o) in held and (p, o) not in first:
                first[(p, o)] = (ms_, dc)
        if not held or len(first) != len(held):
            R.bad("lock: the held records are redelivered when the acquisition lock expires",
                  f"held {len(held)}, redelivered {len(first)}")
            return
        t_first = min(t for (t, _) in first.values()) - t_held
        t_last = max(t for (t, _) in first.values()) - t_held
        dcs = Counter(dc for (_, dc) in first.values())
        R.check(f"lock: the held records are not redelivered before the lock ({LOCK_MS} ms, group config "
                f"{LOCK}) expires", t_first >= LOCK_MS - 1500,
                f"first redelivery {t_first} ms after the holder received them", f"first after {t_first} ms")
        R.check(f"lock: the held records are redelivered within lock + 8 s, with delivery count 2",
                t_last <= LOCK_MS + 8000 and set(dcs) == {2},
                f"last redelivery {t_last} ms after the holder received them, delivery counts {dict(dcs)}",
                f"last after {t_last} ms")


# ---------------------------------------------------------------- limit and dlq (check 5)

def scen_limit():
    topic = new_topic("sh-limit", 1)
    group = uniq("sg-limit")
    set_group_configs(group, {RESET: "earliest", LIMIT: 3})
    offs = produce_seq(topic, 1, 6)
    POISON = 2
    c = share_consumer(group, "explicit", "limit")
    try:
        c.subscribe([topic])
        deliv, cerrs, _ = explicit_loop(
            c, lambda seq, d: AcknowledgeType.RELEASE if seq == POISON else AcknowledgeType.ACCEPT,
            lambda d: len(d) == 6 and len(d.get(POISON, [])) >= 3, 25)
    finally:
        c.close()
    R.check("limit: with share.delivery.count.limit=3 a record RELEASEd every time is delivered exactly 3 times "
            "(delivery counts 1, 2, 3), then archived (3 s quiet poll)",
            deliv.get(POISON) == [1, 2, 3] and not cerrs,
            f"deliveries {deliv.get(POISON)}, commit errors {cerrs[:3]}")
    others = {s: d for s, d in deliv.items() if s != POISON and d != [1]}
    R.check("limit: the other records are delivered once", len(deliv) == 6 and not others, f"{dict(deliv)}")
    extra = read_share(group, topic, timeout=4.0, client_id="limit-after")
    R.check("limit: the archived record is not delivered to a fresh member either",
            deliv.get(POISON) and not extra, f"got {extra}" if deliv.get(POISON) else "the record never arrived")
    check_offsets("limit: DescribeShareGroupOffsets: start offset 6 (past the archived record), lag 0",
                  group, topic, end_offsets(offs))


def scen_dlq():
    topic = new_topic("sh-dlq", 1)
    dlq = "dlq." + topic
    ck_create_topic(dlq, 1)
    group = uniq("sg-dlq")
    try:
        alter_configs(ResourceType.TOPIC, dlq, {DLQ_TOPIC_ENABLE: "true"})
        R.ok(f"dlq: the DLQ topic accepts the topic config {DLQ_TOPIC_ENABLE}=true")
    except Exception as e:  # noqa: BLE001
        R.bad(f"dlq: the DLQ topic accepts the topic config {DLQ_TOPIC_ENABLE}=true", f"{type(e).__name__}: {e}")
    try:
        set_group_configs(group, {RESET: "earliest", DLQ_NAME: dlq, DLQ_COPY: "true"})
        R.ok(f"dlq: the group accepts the configs {DLQ_NAME}={dlq} and {DLQ_COPY}=true")
    except Exception as e:  # noqa: BLE001
        R.bad(f"dlq: the group accepts the configs {DLQ_NAME} and {DLQ_COPY}", f"{type(e).__name__}: {e}")
        set_group_configs(group, {RESET: "earliest"})
    offs = produce_seq(topic, 1, 6)
    by_seq = {s: po for po, s in offs.items()}
    POISON, REJ = 1, 4

    def decide(seq, d):
        if seq == POISON:
            return AcknowledgeType.RELEASE
        if seq == REJ:
            return AcknowledgeType.REJECT
        return AcknowledgeType.ACCEPT

    c = share_consumer(group, "explicit", "dlq")
    try:
        c.subscribe([topic])
        deliv, cerrs, _ = explicit_loop(c, decide, lambda d: len(d) == 6 and len(d.get(POISON, [])) >= DELIVERY_LIMIT, 25)
    finally:
        c.close()
    R.check(f"dlq: with the broker's group.share.delivery.count.limit={DELIVERY_LIMIT} a record RELEASEd every time "
            f"is delivered {DELIVERY_LIMIT} times, then archived",
            deliv.get(POISON) == list(range(1, DELIVERY_LIMIT + 1)) and deliv.get(REJ) == [1] and not cerrs,
            f"poison deliveries {deliv.get(POISON)}, rejected {deliv.get(REJ)}, commit errors {cerrs[:3]}")

    got = dlq_read(dlq, 2, 10)
    R.check("dlq: the DLQ topic holds exactly 2 records (the archived poison and the rejected record)",
            len(got) == 2, f"{len(got)} records: {got[:4]}")

    def expect(seq, count, message):
        p, o = by_seq[seq]
        return {"__dlq.errors.topic": topic, "__dlq.errors.partition": str(p), "__dlq.errors.offset": str(o),
                "__dlq.errors.group": group, "__dlq.errors.delivery.count": str(count),
                "__dlq.errors.message": message}

    for name, seq, count, msg in (("poison (delivery limit)", POISON, DELIVERY_LIMIT,
                                   "Offset delivery count exceeded the threshold."),
                                  ("rejected", REJ, 1, "Offset rejected by client.")):
        want = expect(seq, count, msg)
        match = [g for g in got if g[2].get("__dlq.errors.offset") == want["__dlq.errors.offset"]]
        ok = len(match) == 1 and all(match[0][2].get(k) == v for k, v in want.items())
        R.check(f"dlq: the {name} record is in the DLQ with the __dlq.errors.* headers "
                "(topic, partition, offset, group, delivery count, message)", ok,
                f"want {want}, DLQ records {got}")
        R.check(f"dlq: the {name} DLQ record carries the source key and value ({DLQ_COPY}=true)",
                len(match) == 1 and match[0][0] == f"k{seq}".encode() and match[0][1] == str(seq).encode(),
                f"DLQ record {match}")


def dlq_read(topic, n, timeout):
    """Every record of a 1-partition topic from the beginning (classic consumer, assign()):
    [(key, value, {header: str})] once n are there and 2 s passed, or at the deadline."""
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": uniq("dlq-reader"), "enable.auto.commit": False,
                  "socket.timeout.ms": 10000})
    out = []
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        dl = Deadline(timeout)
        t_n = None
        while not dl.expired():
            for m in c.consume(100, timeout=0.5):
                if m.error():
                    continue
                hdrs = {k: (v.decode(errors="replace") if v is not None else None) for k, v in (m.headers() or [])}
                out.append((m.key(), m.value(), hdrs))
            if len(out) >= n and t_n is None:
                t_n = time.monotonic()
            if t_n is not None and time.monotonic() - t_n >= 2.0:
                break
    finally:
        c.close()
    return out


# ---------------------------------------------------------------- crash (check 6)

def scen_crash():
    NP, N, K = 3, 200, 95
    topic = new_topic("sh-crash", NP)
    group = uniq("sg-crash")
    set_group_configs(group, {RESET: "earliest"})
    offs = produce_seq(topic, NP, N)
    ends = end_offsets(offs)
    with MemberSet(Member) as ms:
        a = ms.start("A", group, topic, mode="explicit", behaviour="accept-then-hold", accept=K, max_poll_records=30)
        if not wait_until(a.holding, 40):
            R.bad(f"crash: member A ACCEPTs {K} records (commit_sync) and holds the rest of its batch",
                  f"alive {a.alive()}, {len(a.recs())} received, errors {a.errors[:3]}")
            return
        with a.lock:
            acks = list(a.acks)
            commits = list(a.commits)
        accepted = {(p, o) for (_, k, p, o) in acks if k == "ACCEPT"}
        released = {(p, o) for (_, k, p, o) in acks if k == "RELEASE"}
        held = a.distinct() - accepted - released
        R.check(f"crash: {K} ACCEPTs committed with commit_sync, every partition answered without error",
                len(accepted) == K and commits and all(ok for (_, ok, _) in commits),
                f"accepted {len(accepted)}, commits {commits[:4]}",
                f"then {len(released)} RELEASEd and {len(held)} left acquired")
        # lag = records not yet acknowledged or archived; on a partition A acknowledged nothing
        # in, nothing was written yet: Kafka 4.2 answers -1 then (a broker that persists the
        # start offset at initialization, the whole partition)
        acked_parts = {p for (p, _) in accepted | released}
        lags = {p: ({end - sum(1 for (q, _) in accepted if q == p)} if p in acked_parts else {-1, end})
                for p, end in ends.items()}
        check_offsets(f"crash: DescribeShareGroupOffsets before the crash: lag = records not accepted "
                      f"({N - K} in all)", group, topic, ends, lags)
        log(f"    kill -9 the broker (and member A, pid {a.proc.pid}), restart it")
        rc = subprocess.run(f"{os.environ['RESTART_CMD']} kill {a.proc.pid}", shell=True, timeout=60).returncode
        a.reaped()
        if rc != 0:
            R.bad("crash: broker kill -9 and restart", f"restart command exit status {rc}")
            return
    check_offsets("crash: DescribeShareGroupOffsets after the kill -9 and restart: the same lags",
                  group, topic, ends, lags)
    rest = set(offs) - accepted
    recs = read_share(group, topic, want=len(rest), timeout=SESSION_S + 40, quiet=3.0, client_id="after-crash")
    got = {(p, o) for (p, o, _, _) in recs}
    R.check("crash: no record ACCEPTed before the broker's kill -9 is delivered after it",
            not (got & accepted), f"redelivered {short(got & accepted)}")
    R.check(f"crash: a new member receives every record not accepted before the crash ({len(rest)}), none twice",
            got == rest and not dups(recs),
            f"missing {short(rest - got)}, twice {short(dups(recs))}, unexpected {short(got - rest - accepted)}")
    dc = {(p, o): d for (p, o, d, _) in recs}
    wrong = {k: dc.get(k) for k in released if dc.get(k) != 2}
    R.check("crash: records RELEASEd before the crash come back with delivery count 2 (persisted)",
            not wrong, f"released {len(released)}, delivery counts not 2: {wrong}",
            f"{len(released)} released; the {len(held)} left acquired came back with delivery counts "
            f"{dict(Counter(dc.get(k) for k in held))}")
    check_offsets("crash: DescribeShareGroupOffsets at the end: start offset = end offset, lag 0",
                  group, topic, ends)


SCENARIOS = {
    "split": scen_split,
    "ackrel": scen_ackrel,
    "kill": scen_kill,
    "lock": scen_lock,
    "limit": scen_limit,
    "dlq": scen_dlq,
    "crash": scen_crash,
}


def main():
    names = sys.argv[1:] or list(SCENARIOS)
    for n in names:
        if n not in SCENARIOS:
            sys.exit(f"unknown scenario {n}; known: {' '.join(SCENARIOS)}")
    for n in names:
        R.run(n, SCENARIOS[n])
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
