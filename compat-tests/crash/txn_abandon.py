"""Open a transaction and abandon it (the crash suite's transaction phase kill -9s this process).

Writes N records in one transaction (transaction.timeout.ms 5000) to every partition of TOPIC,
as producer "Z" with intent "abort" (value "Z|0|<seq>|<n>|abort": they must never become
visible), flushes them, prints "OPEN", and sleeps until killed.  The broker's coordinator must
abort the transaction once it times out, also when the broker was kill -9'd in between, so that
the LSO moves past it.

usage: txn_abandon.py BOOTSTRAP TOPIC PARTITIONS
"""
import os
import sys
import time

from confluent_kafka import Producer


def main():
    boot, topic, nparts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    p = Producer({"bootstrap.servers": boot, "transactional.id": f"crash-txn-abandoned-{os.getpid()}",
                  "transaction.timeout.ms": 5000, "linger.ms": 2})
    p.init_transactions(30)
    p.begin_transaction()
    n = 3 * nparts
    for s in range(n):
        p.produce(topic, partition=s % nparts, key=f"Z-{s}".encode(), value=f"Z|0|{s}|{n}|abort".encode())
    left = p.flush(30)
    print("OPEN" if left == 0 else f"NOT-FLUSHED {left}", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
