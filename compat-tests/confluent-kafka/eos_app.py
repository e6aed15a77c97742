"""Exactly-once consume-transform-produce application (confluent-kafka), for eos_test.py.

Reads IN_TOPIC in consumer group GROUP (isolation.level=read_committed, no auto commit),
and for every batch of 10..50 records runs one transaction: produce one transformed record
per input record to OUT_TOPIC (same key; value "in_partition:in_offset:input_value") and
send the consumed offsets to the same transaction.  eos_test.py kill -9s it at random
moments and restarts it with the same transactional.id.

On an abortable transaction error it aborts and rewinds the consumer to the group's
committed offsets (so no input record is skipped); on a fatal error it exits with status 3.
SIGTERM: finish the current transaction, close, exit 0.

Prints one line per event to stdout (flushed):
  START pid | READY | COMMIT n_records total_records_this_run | ABORT reason | FATAL reason | EXIT

usage: eos_app.py IN_TOPIC OUT_TOPIC GROUP TRANSACTIONAL_ID   (BOOTSTRAP in the environment)
"""
import os
import random
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition, OFFSET_BEGINNING


def say(line):
    print(line, flush=True)


def main():
    in_topic, out_topic, group, tid = sys.argv[1:5]
    boot = os.environ["BOOTSTRAP"]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    say(f"START {os.getpid()}")
    p = Producer({
        "bootstrap.servers": boot,
        "transactional.id": tid,
        "transaction.timeout.ms": 10000,   # a killed instance's open txn is aborted by init_transactions anyway
        "linger.ms": 5,
        "socket.timeout.ms": 10000,
    })
    # Fence the previous instance (and abort its open transaction) before reading offsets.
    p.init_transactions(60)
    c = Consumer({
        "bootstrap.servers": boot,
        "group.id": group,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "socket.timeout.ms": 10000,
    })
    c.subscribe([in_topic])
    say("READY")
    rnd = random.Random()
    total = 0
    while not stop:
        msgs = c.consume(num_messages=rnd.randint(10, 50), timeout=0.5)
        data = []
        for m in msgs:
            if m.error():
                say(f"CONSUME-ERROR {m.error()}")
                continue
            data.append(m)
        if not data:
            continue
        try:
            p.begin_transaction()
            next_offsets = {}
            for m in data:
                v = f"{m.partition()}:{m.offset()}:".encode() + m.value()
                p.produce(out_topic, key=m.key(), value=v)
                next_offsets[m.partition()] = m.offset() + 1
            p.flush(30)                           # the records are in the log, the transaction still open:
            time.sleep(rnd.uniform(0.01, 0.05))   # "work" here, so a kill often leaves an aborted attempt
            p.send_offsets_to_transaction([TopicPartition(in_topic, part, off) for part, off in next_offsets.items()],
                                          c.consumer_group_metadata(), 30)
            commit_with_retry(p)
            total += len(data)
            say(f"COMMIT {len(data)} {total}")
        except KafkaException as e:
            err = e.args[0]
            if err.txn_requires_abort():
                say(f"ABORT {err}")
                p.abort_transaction(30)
                rewind(c)
            else:
                say(f"FATAL {err}")
                sys.exit(3)
    say("EXIT")
    c.close()


def commit_with_retry(p, attempts=5):
    for i in range(attempts):
        try:
            p.commit_transaction(30)
            return
        except KafkaException as e:
            if e.args[0].retriable() and i + 1 < attempts:
                continue
            raise


def rewind(c):
    """After an abort: go back to the last committed offsets, so aborted input is processed again."""
    assignment = c.assignment()
    if not assignment:
        return
    for tp in c.committed(assignment, timeout=30):
        c.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING))


if __name__ == "__main__":
    main()
