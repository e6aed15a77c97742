"""Verify a crash-test topic against its producer's ack file.

usage: verify.py NAME TOPIC PARTITIONS ACK_FILE RESTARTS_FILE [data-only]
  (data-only: skip the checks about the producer, only check the topic's data)

Checks (one PASS/FAIL line each):
  - the producer got acks at all, and after every broker restart (it recovered)
  - every acknowledged record is present, at the partition/offset it was acked with
  - no sequence number appears twice (acked or not)
  - per partition, sequence numbers are strictly increasing (produce order)
  - per key, one partition
"""
import sys

from compat import Reporter, ck_consume, log


def check_producer(R, acked, errs, restarts):
    R.check("producer got acknowledgements", len(acked) >= 500, f"only {len(acked)} acked ({len(errs)} errors)",
            f"{len(acked)} acked, {len(errs)} failed sends")
    if errs:
        log(f"first send errors: {errs[:3]}")
    ack_times = sorted(t for _, _, t in acked.values())
    missing_after = [i for i, rt in enumerate(restarts) if not any(t > rt for t in ack_times)]
    R.check(f"producer recovered after each of the {len(restarts)} restarts (acks after every restart)",
            restarts and not missing_after, f"no acks after restart #{[i + 1 for i in missing_after]}")


def main():
    name, topic, nparts, ack_file, restarts_file = sys.argv[1:6]
    nparts = int(nparts)
    data_only = len(sys.argv) > 6 and sys.argv[6] == "data-only"
    R = Reporter(f"crash-{name}")

    acked = {}   # seq -> (partition, offset, ack_ms)
    errs = []
    sent_max = -1
    with open(ack_file) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "OK":
                seq, p, o, t = (int(x) for x in parts[1:5])
                acked[seq] = (p, o, t)
                sent_max = max(sent_max, seq)
            elif parts[0] == "ERR":
                errs.append(line.strip())
                sent_max = max(sent_max, int(parts[1]))
    restarts = []
    with open(restarts_file) as f:
        restarts = [int(l.split()[1]) for l in f if l.startswith("restart")]
    log(f"{name}: {len(acked)} acked, {len(errs)} errors, max seq {sent_max}, restarts {len(restarts)}")

    if not data_only:
        check_producer(R, acked, errs, restarts)
    elif not acked:
        R.bad("acks", "no acknowledged records to check")

    # consume everything (group-less assign from the beginning)
    got = ck_consume(topic, list(range(nparts)), len(acked), timeout=60, settle=1.0)
    total = sum(len(v) for v in got.values())
    log(f"{name}: consumed {total} records")

    seen = {}        # seq -> list of (partition, offset)
    key_parts = {}
    order_bad = []
    for p, lst in got.items():
        last = -1
        for off, r in lst:
            seq = int(r.value.decode().split("-", 1)[1])
            seen.setdefault(seq, []).append((p, off))
            key_parts.setdefault(r.key, set()).add(p)
            if seq <= last and len(order_bad) < 5:
                order_bad.append(f"p{p}@{off}: seq {seq} after {last}")
            last = max(last, seq)
    dups = {s: v for s, v in seen.items() if len(v) > 1}
    R.check("no duplicates: every sequence number at most once", not dups,
            f"{len(dups)} duplicated, e.g. {sorted(dups.items())[:5]}")
    missing = [s for s in acked if s not in seen]
    R.check("every acknowledged record is present", not missing,
            f"{len(missing)} of {len(acked)} acked records missing, e.g. seqs {sorted(missing)[:10]}")
    moved = [(s, acked[s][:2], seen[s]) for s in acked if s in seen and (acked[s][0], acked[s][1]) not in seen[s]]
    R.check("acknowledged records are at the partition/offset the ack reported", not moved,
            f"{len(moved)} differ, e.g. (seq, acked, found) {moved[:5]}")
    R.check("per partition, records in produce order", not order_bad, "; ".join(order_bad))
    R.check("per key, one partition", all(len(v) == 1 for v in key_parts.values()),
            f"{ {k: v for k, v in key_parts.items() if len(v) > 1} }")
    unacked_present = len([s for s in seen if s not in acked])
    log(f"{name}: {unacked_present} unacknowledged records present (allowed), {total} total")
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
