// kafkajs 2.2.4 transactions (KIP-98) against one broker:
//  - a committed transaction is visible to a read_committed consumer (readUncommitted: false),
//    an aborted one is not, and a read_uncommitted consumer sees both;
//  - consume-transform-produce: txn.sendOffsets() commits the group's offsets only when the
//    transaction commits (an aborted one leaves them uncommitted), and a new member of the
//    group resumes exactly after the transactionally committed offset;
//  - a second producer with the same transactionalId fences the first: the first one's next
//    operation fails with a fencing error, its open transaction is aborted (never visible),
//    and the new producer's transaction commits.
// Prints PASS:/FAIL: lines; every wait is bounded.
const { Kafka, logLevel } = require('kafkajs');

const kafka = new Kafka({
  brokers: [process.env.BOOTSTRAP],
  clientId: 'compat-kafkajs-txn',
  logLevel: logLevel.NOTHING,
  retry: { retries: 3 },
});
let failed = 0;
const check = (ok, what, detail) => {
  console.log(`${ok ? 'PASS' : 'FAIL'}: kafkajs-txn: ${what}${!ok && detail !== undefined ? `: ${detail}` : ''}`);
  if (!ok) failed++;
};
const uniq = (p) => `${p}-${process.pid}-${Math.floor(Math.random() * 1e9).toString(16)}`;
const log = (m) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Read `topic` from the beginning with a fresh group at the given isolation. Stops when `want`
// records arrived and nothing more came for 1.5 s, or after timeoutMs. Returns the values
// (strings) in per-partition order, prefixed by partition: "p:value".
async function readAll(topic, readUncommitted, want, timeoutMs = 20000) {
  const c = kafka.consumer({ groupId: uniq('kjs-read'), readUncommitted, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 200 });
  const out = [];
  let last = Date.now();
  try {
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ autoCommit: false, eachMessage: async ({ partition, message }) => { out.push(`${partition}:${message.value.toString()}`); last = Date.now(); } });
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (out.length >= want && Date.now() - last >= 1500) break;
      await sleep(100);
    }
  } finally {
    await c.disconnect();
  }
  return out;
}

const values = (rows) => rows.map((r) => r.slice(r.indexOf(':') + 1)).sort();
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function tCommitAbort(admin) {
  const topic = uniq('kjs-txn');
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  const p = kafka.producer({ transactionalId: uniq('kjs-tx'), maxInFlightRequests: 1, idempotent: true, transactionTimeout: 30000 });
  await p.connect();
  try {
    const msgs = (tag, n) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${tag}${i}`, partition: i % 2 }));
    let t = await p.transaction();
    await t.send({ topic, messages: msgs('c', 6) });
    await t.commit();
    t = await p.transaction();
    await t.send({ topic, messages: msgs('a', 4) });
    await t.abort();
    t = await p.transaction();
    await t.send({ topic, messages: [{ key: 'x', value: 'c6', partition: 1 }] });
    await t.commit();
  } finally {
    await p.disconnect();
  }
  const wantCommitted = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
  const rc = await readAll(topic, false, 7);
  check(same(values(rc), wantCommitted), 'read_committed (readUncommitted: false) sees the 7 committed records and no aborted one', JSON.stringify(rc));
  // partition 1: c1 c3 c5 (txn 1), then c6 after the aborted a1 a3
  const p1 = rc.filter((r) => r.startsWith('1:')).map((r) => r.slice(2));
  check(same(p1, ['c1', 'c3', 'c5', 'c6']), 'read_committed keeps partition order across the aborted transaction', JSON.stringify(p1));
  const ru = await readAll(topic, true, 11);
  check(same(values(ru), [...wantCommitted, 'a0', 'a1', 'a2', 'a3'].sort()), 'read_uncommitted (readUncommitted: true) sees all 11, aborted ones too', JSON.stringify(ru));
  const offs = await admin.fetchTopicOffsets(topic);
  // 11 data records + 3 control markers on each partition that a transaction touched (2 each)
  const hw = offs.reduce((n, o) => n + Number(o.high), 0);
  check(hw === 11 + 5, `high watermarks count the data records and the 5 transaction markers (got ${hw})`, JSON.stringify(offs));
}

async function tSendOffsets(admin) {
  const inTopic = uniq('kjs-ctp-in');
  const outTopic = uniq('kjs-ctp-out');
  const group = uniq('kjs-ctp-group');
  await admin.createTopics({ topics: [{ topic: inTopic, numPartitions: 1 }, { topic: outTopic, numPartitions: 1 }], waitForLeaders: true });
  const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await plain.connect();
  await plain.send({ topic: inTopic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `in${i}` })) });

  // A group member reads the 10 input records (autoCommit off); while it is still a member,
  // the transformed records and the offsets go in one transaction: aborted first, then committed.
  const consumer = kafka.consumer({ groupId: group, readUncommitted: false, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 200 });
  const got = [];
  await consumer.connect();
  await consumer.subscribe({ topic: inTopic, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => { got.push({ offset: Number(message.offset), value: message.value.toString() }); } });
  const end = Date.now() + 20000;
  while (got.length < 10 && Date.now() < end) await sleep(100);
  check(got.length === 10, `the group member read the 10 input records (${got.length})`);
  const next = String(Math.max(...got.map((m) => m.offset)) + 1);
  const p = kafka.producer({ transactionalId: uniq('kjs-ctp'), maxInFlightRequests: 1, idempotent: true });
  await p.connect();
  const committedOffset = async () => {
    const r = await admin.fetchOffsets({ groupId: group, topics: [inTopic] });
    return r[0].partitions.find((x) => x.partition === 0).offset;
  };
  try {
    const transform = got.map((m) => ({ key: `o${m.offset}`, value: m.value.toUpperCase() }));
    let t = await p.transaction();
    await t.send({ topic: outTopic, messages: transform.map((m) => ({ ...m, value: `aborted-${m.value}` })) });
    await t.sendOffsets({ consumerGroupId: group, topics: [{ topic: inTopic, partitions: [{ partition: 0, offset: next }] }] });
    await t.abort();
    const afterAbort = await committedOffset();
    check(afterAbort === '-1', `offsets sent in an aborted transaction are not committed (fetchOffsets: ${afterAbort})`);
    t = await p.transaction();
    await t.send({ topic: outTopic, messages: transform });
    await t.sendOffsets({ consumerGroupId: group, topics: [{ topic: inTopic, partitions: [{ partition: 0, offset: next }] }] });
    const beforeCommit = await committedOffset();
    check(beforeCommit === '-1', `offsets of a transaction not yet committed are not visible (fetchOffsets: ${beforeCommit})`);
    await t.commit();
    const afterCommit = await committedOffset();
    check(afterCommit === next, `offsets sent in a committed transaction are committed (fetchOffsets: ${afterCommit}, want ${next})`);
  } finally {
    await p.disconnect();
    await consumer.disconnect();
  }
  const out = await readAll(outTopic, false, 10);
  check(same(values(out), got.map((m) => m.value.toUpperCase()).sort()), 'read_committed output: exactly the 10 transformed records of the committed transaction', JSON.stringify(out));
  const outAll = await readAll(outTopic, true, 20);
  check(outAll.length === 20, `read_uncommitted output: 20 records (aborted attempt included) (got ${outAll.length})`);

  // A new member of the group resumes at the committed offset: it sees only records produced later.
  await plain.send({ topic: inTopic, acks: -1, messages: [{ key: 'n', value: 'in10' }, { key: 'n', value: 'in11' }] });
  await plain.disconnect();
  const resumed = [];
  const c2 = kafka.consumer({ groupId: group, readUncommitted: false, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 200 });
  await c2.connect();
  await c2.subscribe({ topic: inTopic, fromBeginning: true });
  await c2.run({ autoCommit: false, eachMessage: async ({ message }) => { resumed.push(message.value.toString()); } });
  const end2 = Date.now() + 20000;
  let settledAt = null;
  while (Date.now() < end2) {
    if (resumed.length >= 2) { settledAt = settledAt || Date.now(); if (Date.now() - settledAt > 1000) break; }
    await sleep(100);
  }
  await c2.disconnect();
  check(same(resumed, ['in10', 'in11']), 'a new group member resumes exactly after the transactionally committed offset', JSON.stringify(resumed));
}

async function tFencing(admin) {
  const topic = uniq('kjs-fence');
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const tid = uniq('kjs-fence-tx');
  const zombie = kafka.producer({ transactionalId: tid, maxInFlightRequests: 1, idempotent: true, retry: { retries: 1 } });
  const fresh = kafka.producer({ transactionalId: tid, maxInFlightRequests: 1, idempotent: true });
  await zombie.connect();
  await fresh.connect();
  try {
    const tz = await zombie.transaction();
    await tz.send({ topic, messages: [{ value: 'zombie-1' }] });
    const tf = await fresh.transaction();   // InitProducerId with the same id: bumps the epoch, aborts the zombie's open txn
    let err = null;
    try {
      await tz.send({ topic, messages: [{ value: 'zombie-2' }] });
      await tz.commit();
    } catch (e) {
      err = e;
    }
    const kind = err && (err.type || err.name);
    check(err !== null && ['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED'].includes(kind),
      `the first producer's next operation fails as fenced (got ${kind}: ${err && err.message})`);
    await tf.send({ topic, messages: [{ value: 'fresh-1' }] });
    await tf.commit();
  } finally {
    await zombie.disconnect().catch(() => {});
    await fresh.disconnect();
  }
  const rc = await readAll(topic, false, 1);
  check(same(values(rc), ['fresh-1']), "read_committed sees the new producer's commit and none of the fenced producer's records", JSON.stringify(rc));
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  const steps = [['commit-abort', tCommitAbort], ['send-offsets', tSendOffsets], ['fencing', tFencing]];
  try {
    for (const [name, fn] of steps) {
      const t0 = Date.now();
      log(`--- ${name}`);
      try {
        await fn(admin);
      } catch (e) {
        check(false, `${name}: unexpected error`, `${e && (e.type || e.name)}: ${e && e.message} ${e && e.stack ? e.stack.split('\n').slice(1, 3).join(' | ') : ''}`);
      }
      log(`    ${name} took ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }
  } finally {
    await admin.disconnect();
  }
}

main()
  .then(() => process.exit(failed ? 1 : 0))
  .catch((e) => {
    console.log(`FAIL: kafkajs-txn: unexpected error ${e && (e.stack || e)}`);
    process.exit(1);
  });
