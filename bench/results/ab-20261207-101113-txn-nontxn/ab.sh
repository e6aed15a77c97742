#!/usr/bin/env bash
# A/B of the non-transactional paths: base (f623c8b^1) vs new (txnbench HEAD), alternating.
set -u
cd /work/wt-txnbench
OUT=$1; NEW=$2; PAIRS=${3:-4}
mkdir -p "$OUT"
run() { # name i bin
  echo "[$(date +%T)] $1-$2 load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/ab.log"
  scripts/bench --workloads a,c,d --reps 1 --brokers brook --sync-workloads "" --no-footprint \
    --wait-quiet 60 --brook-bin "$3" --out "$OUT/$1-$2" > "$OUT/$1-$2.log" 2>&1
}
for i in $(seq ${4:-1} $PAIRS); do
  if [ $((i % 2)) = 1 ]; then run base $i /work/bin/brook-base-txn; run new $i "$NEW"
  else run new $i "$NEW"; run base $i /work/bin/brook-base-txn; fi
done
echo "[$(date +%T)] done" >> "$OUT/ab.log"; touch "$OUT/DONE"
