"""kcat 1.7.1 compatibility checks (driven from python; every kcat call has a timeout).

kcat runs as the Debian binary (librdkafka 2.0.2) unless KCAT_LD_LIBRARY_PATH
points it at another librdkafka.  No consumer groups (-G) are used: kcat -C
without -G is a plain partition consumer.
"""
import json
import os
import subprocess
import sys
import threading
import time

from compat import (BASE_TS, Deadline, Rec, Reporter, ck_create_topic, ck_produce_all, compare,
                    gen_records, log, uniq)

R = Reporter("kcat")
BOOT = os.environ["BOOTSTRAP"]
AUTO_PARTS = int(os.environ.get("AUTO_CREATE_PARTITIONS", "0"))
TMP = os.environ.get("SUITE_TMP", "/tmp")

ENV = dict(os.environ)
if os.environ.get("KCAT_LD_LIBRARY_PATH"):
    ENV["LD_LIBRARY_PATH"] = os.environ["KCAT_LD_LIBRARY_PATH"]

# Record / key delimiters for kcat -P (kcat unescapes \xNN); never inside generated data.
DELIM_ARG, DELIM = r"\x1e\x1d|EOR|\n", b"\x1e\x1d|EOR|\n"
KDELIM_ARG, KDELIM = r"\x1c\x1d|EOK|", b"\x1c\x1d|EOK|"
# Consume format: a text line with lengths, then raw key and value bytes.
FMT = r"%p %o %T %K %S %h\n%k%s"


def kcat(args, *, input_bytes=None, timeout=60):
    cmd = ["kcat", "-b", BOOT, "-m", "15"] + args
    p = subprocess.run(cmd, input=input_bytes, capture_output=True, timeout=timeout, env=ENV)
    return p


def errtext(p):
    lines = [l for l in p.stderr.decode(errors="replace").splitlines() if "CONFWARN" not in l]
    return " | ".join(lines[-6:])


def parse_fmt(out):
    """Parse FMT output -> list of (partition, offset, Rec)."""
    res = []
    pos = 0
    n = len(out)
    while pos < n:
        nl = out.index(b"\n", pos)
        head = out[pos:nl].decode()
        pos = nl + 1
        parts = head.split(" ", 5)
        p, o, ts, klen, vlen = (int(x) for x in parts[:5])
        hdr_s = parts[5] if len(parts) > 5 else ""
        key = None if klen < 0 else out[pos:pos + klen]
        pos += max(klen, 0)
        val = None if vlen < 0 else out[pos:pos + vlen]
        pos += max(vlen, 0)
        headers = []
        if hdr_s:
            for kv in hdr_s.split(","):
                k, _, v = kv.partition("=")
                headers.append((k, v.encode()))
        res.append((p, o, Rec(key, val, headers, ts)))
    return res


def consume(topic, offset_args, expected_max=None, timeout=60, partition=0, extra=()):
    args = ["-C", "-t", topic, "-p", str(partition), "-f", FMT] + list(offset_args) + list(extra)
    p = kcat(args, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"kcat {' '.join(args)} exited {p.returncode}: {errtext(p)}")
    return parse_fmt(p.stdout), p


def kcat_input(recs):
    return b"".join(r.key + KDELIM + r.value + DELIM for r in recs)


# ------------------------------------------------------------------ checks

def t_kcat_produce_roundtrip():
    """10k keyed records with binary keys/values, produced by kcat -P -K -D -H -l."""
    topic = uniq("kc-produce")
    recs = gen_records(10_000, seed=101, null_values=False, binary_headers=False, avoid=(DELIM, KDELIM))
    fixed_headers = [("src", b"kcat"), ("bin", b"a\x01b"), ("src", b"dup")]
    for r in recs:
        r.headers = fixed_headers
    path = os.path.join(TMP, "kcat-input.bin")
    with open(path, "wb") as f:
        f.write(kcat_input(recs))
    t0 = int(time.time() * 1000)
    p = kcat(["-P", "-t", topic, "-p", "0", "-D", DELIM_ARG, "-K", KDELIM_ARG,
              "-H", "src=kcat", "-H", "bin=a\x01b", "-H", "src=dup", "-l", path], timeout=120)
    t1 = int(time.time() * 1000)
    if not R.check("kcat -P: produce 10k keyed records from file (-l -K -D -H) exits 0", p.returncode == 0,
                   f"rc={p.returncode}: {errtext(p)}"):
        return
    got, _ = consume(topic, ["-o", "beginning", "-e"], timeout=90)
    offsets = [o for _, o, _ in got]
    R.check("kcat -P -> kcat -C: offsets 0..9999", offsets == list(range(10_000)),
            f"{len(offsets)} records, head {offsets[:5]}")
    compare(R, "kcat -P -> kcat -C: key/value/headers byte-exact, timestamp = produce time",
            recs, [r for _, _, r in got], ts_window=(t0 - 5000, t1 + 5000))


def t_timestamped_roundtrip():
    """confluent-kafka produces 10k records with per-record timestamps + headers
    (kcat -P cannot set a per-record timestamp); kcat -C must show every field exactly.
    Returns (topic, recs) for the offset checks."""
    topic = uniq("kc-ts")
    ck_create_topic(topic, 1)
    recs = gen_records(10_000, seed=102, binary_headers=False, monotonic_ts=True)
    ck_produce_all(recs, topic, partition=0)
    got, p = consume(topic, ["-o", "beginning", "-e"], timeout=90)
    R.check("kcat -C -o beginning -e: exits 0 at end of partition with all 10000 records",
            p.returncode == 0 and len(got) == 10_000, f"rc={p.returncode} n={len(got)}")
    compare(R, "confluent -> kcat -C: key/value/headers/timestamp byte-exact (10k)", recs, [r for _, _, r in got])
    return topic, recs


def t_offsets(topic, recs):
    n = len(recs)
    got, _ = consume(topic, ["-o", "-5", "-e"])
    R.check("kcat -o -5 -e: exactly the last 5 records",
            [(o, r.key) for _, o, r in got] == [(i, recs[i].key) for i in range(n - 5, n)],
            f"got offsets {[o for _, o, _ in got]}")
    got, _ = consume(topic, ["-o", "1234", "-c", "3"])
    R.check("kcat -o 1234 -c 3: absolute offset",
            [(o, r.key) for _, o, r in got] == [(i, recs[i].key) for i in (1234, 1235, 1236)],
            f"got offsets {[o for _, o, _ in got]}")
    for idx, delta in ((4567, -3), (1234, 0), (0, -100000)):
        target = recs[idx].ts + delta
        got, _ = consume(topic, ["-o", f"s@{target}", "-c", "1"])
        first = got[0] if got else None
        R.check(f"kcat -o s@<ts of #{idx}{delta:+d}>: first record is #{idx}",
                first is not None and first[1] == idx and first[2].key == recs[idx].key,
                f"got {first and (first[1], first[2].ts)}; expected offset {idx} ts {recs[idx].ts}")
    target = recs[4567].ts - 3
    got, _ = consume(topic, ["-o", f"s@{target}", "-e"])
    R.check("kcat -o s@ts -e: from first ts >= target to the end",
            [o for _, o, _ in got] == list(range(4567, n)), f"{len(got)} records, head {[o for _, o, _ in got][:3]}")
    p = kcat(["-Q", "-t", f"{topic}:0:{target}"], timeout=30)
    out = p.stdout.decode(errors="replace").strip()
    R.check("kcat -Q topic:0:ts (ListOffsets by timestamp) -> 4567",
            p.returncode == 0 and out.endswith("offset 4567"), f"rc={p.returncode} out={out!r} {errtext(p)}")


def t_offset_end(topic, recs):
    """-o end: a consumer started at the end sees only records produced afterwards."""
    n = len(recs)
    args = ["kcat", "-b", BOOT, "-m", "15", "-C", "-t", topic, "-p", "0", "-o", "end", "-c", "5", "-f", FMT]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    ready = threading.Event()
    err_lines = []

    def read_err():
        for line in proc.stderr:
            err_lines.append(line.decode(errors="replace").rstrip())
            if b"Reached end of topic" in line:
                ready.set()
    th = threading.Thread(target=read_err, daemon=True)
    th.start()
    try:
        dl = Deadline(20)
        while not ready.wait(0.2) and proc.poll() is None and not dl.expired():
            pass
        if not ready.is_set():
            if proc.poll() is not None:
                out = proc.stdout.read()
                got = parse_fmt(out) if out else []
                R.bad("kcat -o end -c 5: sees only records produced after it started",
                      f"kcat exited (rc={proc.returncode}) before any new record was produced, having read "
                      f"existing records at offsets {[o for _, o, _ in got]} (log end is {n})")
            else:
                R.bad("kcat -o end: consumer reached end of partition",
                      f"no 'Reached end' within 20s: {[l for l in err_lines if 'CONFWARN' not in l][-5:]}")
            return
        new = [Rec(f"after-end-{i}".encode(), f"v{i}".encode(), [], BASE_TS + 10**8 + i) for i in range(5)]
        ck_produce_all(new, topic, partition=0)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=10)
            R.bad("kcat -o end -c 5: sees the 5 new records", f"timed out; got {parse_fmt(out) if out else []}")
            return
        got = parse_fmt(out)
        R.check("kcat -o end -c 5: sees only the 5 records produced after it started",
                [(o, r.key, r.ts) for _, o, r in got] == [(n + i, new[i].key, new[i].ts) for i in range(5)],
                f"got {[(o, r.key) for _, o, r in got]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def t_metadata_and_autocreate():
    topic = uniq("kc-auto")
    p = kcat(["-L", "-J"], timeout=30)
    if not R.check("kcat -L -J: exits 0", p.returncode == 0, f"rc={p.returncode}: {errtext(p)}"):
        return
    md = json.loads(p.stdout)
    port = BOOT.rsplit(":", 1)[1]
    brokers = md.get("brokers", [])
    R.check("kcat -L: lists exactly one broker at the advertised address",
            len(brokers) == 1 and brokers[0]["name"] == f"127.0.0.1:{port}", f"brokers={brokers}")
    R.check("kcat -L: new topic not listed before produce", topic not in [t["topic"] for t in md.get("topics", [])])
    recs = [Rec(f"k{i}".encode(), f"auto-{i}".encode(), [], 0) for i in range(20)]
    p = kcat(["-P", "-t", topic, "-K", ":"], input_bytes=b"".join(r.key + b":" + r.value + b"\n" for r in recs))
    if not R.check("kcat -P to a never-created topic (auto-create) exits 0", p.returncode == 0,
                   f"rc={p.returncode}: {errtext(p)}"):
        return
    p = kcat(["-L", "-J", "-t", topic], timeout=30)
    md = json.loads(p.stdout) if p.returncode == 0 else {}
    ts = [t for t in md.get("topics", []) if t["topic"] == topic]
    bid = brokers[0]["id"] if brokers else None
    parts = ts[0].get("partitions", []) if ts else []
    ok = (len(ts) == 1 and "error" not in ts[0] and len(parts) >= 1
          and (AUTO_PARTS == 0 or len(parts) == AUTO_PARTS)
          and all(pp["leader"] == bid and "error" not in pp for pp in parts))
    R.check("kcat -L -t <auto-created>: topic with partitions led by the broker", ok,
            f"rc={p.returncode} topic md={ts} {errtext(p)}", f"{len(parts)} partition(s)")
    got = []
    for part in range(max(len(parts), 1)):
        g, _ = consume(topic, ["-o", "beginning", "-e"], partition=part)
        got += [r for _, _, r in g]
    R.check("kcat -C: auto-created topic's records read back",
            sorted((r.key, r.value) for r in got) == sorted((r.key, r.value) for r in recs),
            f"got {len(got)} records")


def t_compression(codec):
    topic = uniq(f"kc-{codec}")
    recs = gen_records(2000, seed=110 + len(codec), null_values=False, binary_headers=False,
                       avoid=(DELIM, KDELIM))
    for r in recs:
        r.headers = []
    zarg = ["-X", "compression.codec=zstd"] if codec == "zstd" else ["-z", codec]
    p = kcat(["-P", "-t", topic, "-p", "0", "-D", DELIM_ARG, "-K", KDELIM_ARG, "-X", "linger.ms=50"] + zarg,
             input_bytes=kcat_input(recs), timeout=90)
    if not R.check(f"kcat -P compression {codec}: exits 0", p.returncode == 0, f"rc={p.returncode}: {errtext(p)}"):
        return
    got, _ = consume(topic, ["-o", "beginning", "-e"])
    compare(R, f"kcat compression {codec}: consume back byte-exact", recs, [r for _, _, r in got], check_ts=False)


def t_empty_topic():
    topic = uniq("kc-empty")
    ck_create_topic(topic, 1)
    got, p = consume(topic, ["-o", "beginning", "-e"], timeout=30)
    R.check("kcat -C -e on an empty topic: exits 0 with no records", p.returncode == 0 and not got,
            f"rc={p.returncode} records={len(got)}")


def t_acks0():
    topic = uniq("kc-acks0")
    ck_create_topic(topic, 1)
    lines = [f"k{i}:acks0-{i}".encode() for i in range(100)]
    p = kcat(["-P", "-t", topic, "-p", "0", "-K", ":", "-X", "acks=0"], input_bytes=b"\n".join(lines) + b"\n")
    if not R.check("kcat -P -X acks=0: exits 0", p.returncode == 0, f"rc={p.returncode}: {errtext(p)}"):
        return
    dl = Deadline(10)
    got = []
    while not dl.expired():   # acks=0 gives no ack to wait for: allow the broker a moment
        got, _ = consume(topic, ["-o", "beginning", "-e"])
        if len(got) >= len(lines):
            break
        time.sleep(0.5)
    R.check("kcat -P -X acks=0: all 100 records readable", [r.key + b":" + r.value for _, _, r in got] == lines,
            f"got {len(got)} records")


def main():
    v = subprocess.run(["kcat", "-V"], capture_output=True, env=ENV, timeout=10).stdout.decode()
    log(next((l for l in v.splitlines() if l.startswith("Version")), "kcat -V failed"))
    R.run("metadata+auto-create", t_metadata_and_autocreate)
    R.run("kcat-produce-10k", t_kcat_produce_roundtrip)
    state = {}

    def ts_rt():
        state["t"] = t_timestamped_roundtrip()
    R.run("timestamped-10k", ts_rt)
    if "t" in state:
        R.run("offsets", t_offsets, *state["t"])
        R.run("offset-end", t_offset_end, *state["t"])
    else:
        R.bad("offsets", "skipped: timestamped topic not produced")
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        R.run(f"compression-{codec}", t_compression, codec)
    R.run("acks0", t_acks0)
    R.run("empty-topic", t_empty_topic)
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
