#!/usr/bin/env bash
# System-wide (perf stat -a) syscall counts during one BrookBench txn run (10 s, no read_uncommitted pass,
# no aborted tail): $1 = txn-batches (0 = no transactions), $2 = output prefix. Root, perf.
set -u
cd "$(dirname "$0")/../../../.."  # the repository root
T=$(mktemp -d /tmp/txnperf.XXXX)
PORT=$((21000 + RANDOM % 5000))
${BROOK_BIN:-target/release/brook} --listen 127.0.0.1:$PORT --advertised-listener 127.0.0.1:$PORT --data-dir $T/data --log-level warn > $T/broker.log 2>&1 &
BP=$!
sleep 1
perf stat -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_pwrite64,syscalls:sys_enter_pwritev,syscalls:sys_enter_sendmsg,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sync_file_range,syscalls:sys_enter_syncfs,syscalls:sys_enter_io_uring_enter -a -o $2.perf &
PP=$!
CLK_TCK=100 timeout 200 java -Xms1g -Xmx2g -cp ".cache/bench-classes:.cache/java/*" BrookBench txn --bootstrap 127.0.0.1:$PORT --topic t --txn-batches $1 --seconds 10 --broker-pid $BP --check-uncommitted false --abort-records 0 2>/dev/null | grep ^RESULT > $2.result
kill -INT $PP; wait $PP
kill $BP; wait $BP
rm -rf $T
