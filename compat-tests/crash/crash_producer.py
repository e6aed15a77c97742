"""Crash-test producer for confluent-kafka: enable.idempotence=true, acks=all.

Writes one line per delivery report to ACK_FILE, same format as CrashProducer.java:
  "OK seq partition offset ackTimeMs"  |  "ERR seq ackTimeMs error"
Stops on STOP_FILE / MAX_SECONDS / MAX_RECORDS, then flushes (bounded).

usage: crash_producer.py BOOTSTRAP TOPIC ACK_FILE STOP_FILE MAX_SECONDS MAX_RECORDS
"""
import os
import sys
import time

from confluent_kafka import KafkaException, Producer


def main():
    boot, topic, ack_file, stop_file = sys.argv[1:5]
    max_s, max_n = float(sys.argv[5]), int(sys.argv[6])
    out = open(ack_file, "w", buffering=1 << 16)
    inflight = [0]

    def cb(seq):
        def on_delivery(err, msg):
            inflight[0] -= 1
            now = int(time.time() * 1000)
            if err is None:
                out.write(f"OK {seq} {msg.partition()} {msg.offset()} {now}\n")
            else:
                out.write(f"ERR {seq} {now} {err}\n")
        return on_delivery

    p = Producer({
        "bootstrap.servers": boot,
        "client.id": "crash-librdkafka",
        "enable.idempotence": True,
        "acks": "all",
        "message.timeout.ms": 120000,       # ride out restarts (retries is unlimited by default)
        "linger.ms": 5,
        "reconnect.backoff.max.ms": 500,
        "socket.timeout.ms": 10000,
    })
    rate = float(os.environ.get("CRASH_RATE", "1500"))  # records/s, paced
    start = time.monotonic()
    seq = 0
    fatal = None
    try:
        while seq < max_n and time.monotonic() - start < max_s and not os.path.exists(stop_file):
            ahead = start + seq / rate - time.monotonic()
            if inflight[0] >= 2000 or ahead > 0:
                p.poll(min(max(ahead, 0.001), 0.05))
                continue
            try:
                p.produce(topic, key=f"k{seq % 8}".encode(), value=f"seq-{seq}".encode(), on_delivery=cb(seq))
            except BufferError:
                p.poll(0.05)
                continue
            inflight[0] += 1
            seq += 1
            if seq % 50 == 0:
                p.poll(0)
    except KafkaException as e:  # fatal error (e.g. idempotence state lost): stop sending
        fatal = e
    print(f"crash-librdkafka: sent {seq} records, flushing{' (FATAL: %s)' % fatal if fatal else ''}",
          file=sys.stderr, flush=True)
    left = -1
    try:
        left = p.flush(60)
    except KafkaException as e:
        print(f"crash-librdkafka: flush raised {e}", file=sys.stderr, flush=True)
    print(f"crash-librdkafka: done, {left} undelivered after flush", file=sys.stderr, flush=True)
    out.close()

if __name__ == "__main__":
    main()
