"""Verify the transactional crash topic against the txn_producer.py logs (producers paused).

Checks (one PASS/FAIL line each):
  - the LSO reaches the high watermark on every partition (no transaction left open; read_committed
    and read_uncommitted ListOffsets agree), within 30 s
  - every transaction a producer logged COMMITTED is fully visible to read_committed
  - no record of an abort-intent transaction, or of one logged ABORTED, is visible to read_committed
  - every visible transaction is complete (all of its n records, none twice): all or nothing
  - per partition, each producer's transactions appear in the order it ran them
  - every producer committed a transaction after the latest broker restart (the coordinator and
    the LSO moved on), and it is visible (by the checks above)
  --final also: read_uncommitted holds the aborted transactions' records too, and some transactions
    were open across a broker kill (BEGIN before, COMMITTED/ABORTED after a restart)
  --abandoned (with --final): txn_abandon.py's 9 records are in the log and never visible

usage: txn_verify.py LABEL TOPIC PARTITIONS RESTARTS_FILE [--final] [--abandoned] LOG...
"""
import os
import sys
import time

from compat import Deadline, Reporter, bootstrap, log, uniq


def parse_log(path):
    """name -> {t: {"n", "intent", "state"}}; state: committed | aborted | unknown."""
    txns = {}
    commits_ms = []
    name = None
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "BEGIN":
                t = int(w[1])
                txns[t] = {"n": int(w[2]), "intent": w[3], "state": "unknown", "begin": int(w[4]), "end": None}
            elif w[0] == "COMMITTED":
                txns[int(w[1])].update(state="committed", end=int(w[2]))
                commits_ms.append(int(w[2]))
            elif w[0] == "ABORTED":
                txns[int(w[1])].update(state="aborted", end=int(w[2]))
    return txns, commits_ms


def watermarks(topic, nparts, level):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": uniq("txn-verify-wm"), "isolation.level": level,
                  "socket.timeout.ms": 10000})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(nparts)]
    finally:
        c.close()


def read_all(topic, nparts, level, timeout=60):
    """partition -> [(offset, value str)] up to the end (EOF) of every partition at `level`."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap(), "group.id": uniq("txn-verify"), "isolation.level": level,
                  "enable.auto.commit": False, "enable.partition.eof": True, "socket.timeout.ms": 10000,
                  "fetch.wait.max.ms": 100})
    out = {p: [] for p in range(nparts)}
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(nparts)])
        eof = set()
        dl = Deadline(timeout)
        while not dl.expired() and len(eof) < nparts:
            for m in c.consume(2000, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                        continue
                    raise RuntimeError(f"consume error: {m.error()}")
                eof.discard(m.partition())
                out[m.partition()].append((m.offset(), m.value().decode()))
        if len(eof) < nparts:
            raise TimeoutError(f"partitions {sorted(set(range(nparts)) - eof)} never reached their end")
        return out
    finally:
        c.close()


def main():
    args = sys.argv[1:]
    final = "--final" in args
    abandoned = "--abandoned" in args
    args = [a for a in args if a not in ("--final", "--abandoned")]
    label, topic, nparts, restarts_file = args[:4]
    logs = args[4:]
    nparts = int(nparts)
    R = Reporter(f"crash-txn {label}")

    prod = {}
    commits_ms = {}
    for path in logs:
        name = os.path.basename(path).removeprefix("txn-").removesuffix(".log")
        prod[name], commits_ms[name] = parse_log(path)
    with open(restarts_file) as f:
        restarts = [int(l.split()[1]) for l in f if l.startswith("restart")]
    summary = {name: {s: sum(1 for x in tx.values() if x["state"] == s) for s in ("committed", "aborted", "unknown")}
               for name, tx in prod.items()}
    log(f"{label}: producer logs {summary}, {len(restarts)} restarts so far")

    # 1. the LSO catches up with the high watermark (markers written, nothing left open)
    dl = Deadline(30)
    lso = hw = None
    while not dl.expired():
        lso = watermarks(topic, nparts, "read_committed")
        hw = watermarks(topic, nparts, "read_uncommitted")
        if lso == hw:
            break
        time.sleep(0.5)
    R.check("with the producers paused, the LSO reaches the high watermark on every partition",
            lso == hw, f"LSO {lso} HW {hw} after 30 s", f"offsets {hw}")

    rows = read_all(topic, nparts, "read_committed")
    visible = {}          # (name, t) -> list of seq
    meta = {}             # (name, t) -> (n, intent)
    order_bad = []
    garbage = []
    for part, lst in rows.items():
        last_t = {}
        for off, v in lst:
            try:
                name, t, s, n, intent = v.split("|")
                t, s, n = int(t), int(s), int(n)
            except ValueError:
                garbage.append((part, off, v))
                continue
            visible.setdefault((name, t), []).append(s)
            meta[(name, t)] = (n, intent)
            if t < last_t.get(name, -1) and len(order_bad) < 5:
                order_bad.append(f"p{part}@{off}: {name} txn {t} after txn {last_t[name]}")
            last_t[name] = max(t, last_t.get(name, -1))
    n_vis = sum(len(v) for v in visible.values())

    committed = [(name, t, x["n"]) for name, tx in prod.items() for t, x in tx.items() if x["state"] == "committed"]
    not_full = [(name, t, n, sorted(visible.get((name, t), [])))
                for name, t, n in committed if sorted(visible.get((name, t), [])) != list(range(n))]
    R.check(f"every transaction logged committed ({len(committed)}) is fully visible to read_committed",
            not not_full and committed, f"{len(not_full)} not (fully) visible, e.g. (producer, txn, n, seqs seen) "
            f"{not_full[:5]}" if committed else "no committed transaction logged")

    abort_visible = sorted(k for k, (n, intent) in meta.items()
                           if intent == "abort" or prod.get(k[0], {}).get(k[1], {}).get("state") == "aborted")
    R.check("no record of an aborted (or abort-intent) transaction is visible to read_committed",
            not abort_visible, f"{len(abort_visible)} visible, e.g. {abort_visible[:5]}")

    partial = sorted((k, meta[k][0], sorted(v)) for k, v in visible.items() if sorted(v) != list(range(meta[k][0])))
    unknown_vis = sum(1 for k in visible if prod.get(k[0], {}).get(k[1], {}).get("state") == "unknown")
    R.check("no transaction is partly visible or has a record twice (all or nothing)",
            not partial and not garbage,
            f"{len(partial)} partial/duplicated, e.g. (txn, n, seqs) {partial[:5]}; unparsable {garbage[:3]}",
            f"{len(visible)} transactions / {n_vis} records visible, {unknown_vis} of them of unknown outcome")
    R.check("per partition, each producer's transactions appear in the order it ran them",
            not order_bad, "; ".join(order_bad))

    if restarts:
        last = restarts[-1]
        lagging = [name for name, ms in commits_ms.items() if not any(c > last for c in ms)]
        R.check(f"every producer committed a transaction after the latest broker restart ({len(restarts)})",
                not lagging, f"no commit after the restart by {lagging}")

    if final and restarts:
        # The test means something only if broker kills landed inside transactions.
        spanning = [(name, t, x["state"]) for name, tx in prod.items() for t, x in tx.items()
                    if x["end"] is not None and any(x["begin"] < r < x["end"] for r in restarts)]
        R.check("transactions were open across broker kills and ended with a definite answer",
                spanning, "no transaction spanned a broker kill (the kills all fell between transactions)",
                f"{len(spanning)} spanned one: {sum(1 for s in spanning if s[2] == 'committed')} committed, "
                f"{sum(1 for s in spanning if s[2] == 'aborted')} aborted")
    if final:
        everything = read_all(topic, nparts, "read_uncommitted")
        allv = [v for lst in everything.values() for _, v in lst]
        aborted_recs = sum(1 for v in allv if v.endswith("|abort"))
        committed_vals = {v for lst in rows.values() for _, v in lst}
        R.check("read_uncommitted sees the aborted transactions' records too, and every committed one",
                aborted_recs > 0 and committed_vals <= set(allv),
                f"{aborted_recs} abort-intent records, {len(committed_vals - set(allv))} committed records missing",
                f"{len(allv)} records, {aborted_recs} of them in abort-intent transactions")
        if abandoned:
            z = sorted(v for v in allv if v.startswith("Z|"))
            R.check("the abandoned transaction (producer and broker kill -9'd while open) is in the log, "
                    "and was aborted by its timeout after the restart (invisible, LSO moved past it)",
                    len(z) == 9 and not any(k[0] == "Z" for k in visible),
                    f"read_uncommitted has {len(z)} of its 9 records; visible to read_committed: "
                    f"{[k for k in visible if k[0] == 'Z']}")
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
