"""Transactional crash-test producer (confluent-kafka), for the crash suite's transaction phase.

Runs transactions back to back on TOPIC (3 partitions): transaction t has 5..15 records
(keys "<name>-<seq>", so it spans the partitions), value "<name>|<t>|<seq>|<n>|<intent>";
intent is "abort" for every 3rd transaction (t % 3 == 2), else "commit".  Abort-intent
transactions are flushed first, so their records are in the log before the abort.

The log (one line per event, flushed; times in ms since the epoch) says what the producer
knows about each transaction:
  BEGIN t n intent ms          the transaction was started
  COMMITTED t ms               commit_transaction() returned OK: it must be fully visible
  ABORTED t ms                 abort_transaction() returned OK: it must never be visible
  FAILED t ms error            outcome unknown to the producer (e.g. the broker died in the
                               middle): a commit-intent transaction may be visible or not, but
                               only all or nothing; an abort-intent one never
  RECREATE ms reason           the producer was closed and a new one initialised
                               (init_transactions fences the old epoch and ends its transaction)
Between transactions it honours PAUSE_FILE (writes PAUSED_FILE, waits until PAUSE_FILE is
gone) and STOP_FILE.

usage: txn_producer.py BOOTSTRAP TOPIC NAME LOG_FILE STOP_FILE PAUSE_FILE PAUSED_FILE MAX_SECONDS
"""
import os
import random
import sys
import time

from confluent_kafka import KafkaException, Producer


def now_ms():
    return int(time.time() * 1000)


def main():
    boot, topic, name, log_file, stop_file, pause_file, paused_file = sys.argv[1:8]
    max_s = float(sys.argv[8])
    out = open(log_file, "a", buffering=1)
    start = time.monotonic()
    rnd = random.Random()

    def say(line):
        out.write(line + "\n")
        out.flush()

    def expired():
        return time.monotonic() - start > max_s

    def make():
        conf = {
            "bootstrap.servers": boot,
            "transactional.id": f"crash-txn-{name}-{os.getpid()}",
            "client.id": f"crash-txn-{name}",
            "transaction.timeout.ms": 20000,
            "message.timeout.ms": 20000,
            "linger.ms": 2,
            "reconnect.backoff.max.ms": 500,
            "socket.timeout.ms": 5000,
        }
        while not expired():
            p = Producer(conf)
            try:
                p.init_transactions(20)
                return p
            except KafkaException as e:
                say(f"INIT-ERROR {now_ms()} {e.args[0]}")
                time.sleep(0.3)
        raise SystemExit(f"{name}: could not init_transactions before the deadline")

    p = make()
    t = 0
    while not expired() and not os.path.exists(stop_file):
        if os.path.exists(pause_file):
            with open(paused_file + ".tmp", "w") as f:
                f.write(f"{t}\n")
            os.rename(paused_file + ".tmp", paused_file)
            while os.path.exists(pause_file) and not os.path.exists(stop_file) and not expired():
                time.sleep(0.05)
            continue
        n = 5 + t % 11
        intent = "abort" if t % 3 == 2 else "commit"
        say(f"BEGIN {t} {n} {intent} {now_ms()}")
        try:
            p.begin_transaction()
            for s in range(n):
                p.produce(topic, key=f"{name}-{s}".encode(), value=f"{name}|{t}|{s}|{n}|{intent}".encode())
                if s == n // 2:
                    p.poll(0)
                    time.sleep(rnd.uniform(0, 0.02))   # a broker kill often lands mid-transaction
            if intent == "commit":
                commit(p)
                say(f"COMMITTED {t} {now_ms()}")
            else:
                left = p.flush(15)
                if left:
                    raise KafkaException(f"{left} records not delivered before the abort")
                p.abort_transaction(15)
                say(f"ABORTED {t} {now_ms()}")
        except KafkaException as e:
            err = e.args[0]
            say(f"FAILED {t} {now_ms()} {err}")
            if hasattr(err, "txn_requires_abort") and err.txn_requires_abort():
                try:
                    p.abort_transaction(15)
                    say(f"ABORTED {t} {now_ms()} after-error")
                except KafkaException as e2:
                    say(f"RECREATE {now_ms()} abort failed: {e2.args[0]}")
                    p = make()
            else:
                say(f"RECREATE {now_ms()} {'fatal' if getattr(err, 'fatal', lambda: False)() else 'error'}")
                p = make()
        t += 1
    say(f"DONE {t} {now_ms()}")
    out.close()


def commit(p, attempts=4):
    """commit_transaction, retried on a retriable error (a timeout while the broker restarts):
    librdkafka lets the same commit be retried until it gives a definite answer."""
    for i in range(attempts):
        try:
            p.commit_transaction(15)
            return
        except KafkaException as e:
            if e.args[0].retriable() and i + 1 < attempts:
                continue
            raise


if __name__ == "__main__":
    main()
