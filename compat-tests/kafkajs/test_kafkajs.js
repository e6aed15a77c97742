// kafkajs 2.2.4 against one broker: admin, produce (every codec kafkajs ships: none, gzip),
// headers, keys, timestamps the broker must accept or refuse, an idempotent producer, and a
// consumer group reading it all back. Prints PASS:/FAIL: lines; every wait is bounded.
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

const kafka = new Kafka({
  brokers: [process.env.BOOTSTRAP],
  clientId: 'compat-kafkajs',
  logLevel: logLevel.NOTHING,
  retry: { retries: 3 },
});
let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'PASS' : 'FAIL'}: kafkajs: ${what}`);
  if (!ok) failed++;
};

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({ topics: [{ topic: 'kjs', numPartitions: 2 }], waitForLeaders: true });
  check(created === true, 'createTopics');
  const meta = await admin.fetchTopicMetadata({ topics: ['kjs'] });
  check(meta.topics[0].partitions.length === 2, 'metadata lists 2 partitions');

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const batch = (tag) =>
    Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `${tag}-${i}`, headers: { origin: 'kafkajs' } }));
  const plain = await producer.send({ topic: 'kjs', messages: batch('plain'), acks: -1 });
  check(plain.every((r) => r.errorCode === 0), 'idempotent produce, uncompressed, acks=all');
  const gz = await producer.send({ topic: 'kjs', compression: CompressionTypes.GZIP, messages: batch('gzip') });
  check(gz.every((r) => r.errorCode === 0), 'produce gzip');
  const old = await producer.send({ topic: 'kjs', messages: [{ key: 'old', value: 'a day ago', timestamp: String(Date.now() - 86400000) }] });
  check(old.every((r) => r.errorCode === 0), 'a record timestamped a day ago is accepted');
  let refused = null;
  try {
    await producer.send({ topic: 'kjs', messages: [{ key: 'f', value: 'future', timestamp: String(Date.now() + 10 * 3600000) }] });
  } catch (e) {
    refused = e.type || e.name;
  }
  check(refused === 'INVALID_TIMESTAMP', `a record 10 h in the future is refused with INVALID_TIMESTAMP (got ${refused})`);
  await producer.disconnect();

  const offsets = await admin.fetchTopicOffsets('kjs');
  const total = offsets.reduce((n, p) => n + Number(p.high), 0);
  check(total === 101, `high watermarks add up to the 101 accepted records (got ${total})`);

  const consumer = kafka.consumer({ groupId: 'kjs-group', sessionTimeout: 10000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'kjs', fromBeginning: true });
  const seen = [];
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message);
        if (seen.length === total) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  check(seen.length === 101, `the group consumed every record (${seen.length})`);
  check(seen.filter((m) => m.headers.origin && m.headers.origin.toString() === 'kafkajs').length === 100, 'headers survive');
  check(seen.some((m) => m.value.toString() === 'gzip-49'), 'gzip records decode');
  await consumer.disconnect();
  const committed = await admin.fetchOffsets({ groupId: 'kjs-group', topics: ['kjs'] });
  const sum = committed[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
  check(sum === 101, `committed offsets cover every record (${sum})`);
  await admin.disconnect();
}

main()
  .then(() => process.exit(failed ? 1 : 0))
  .catch((e) => {
    console.log(`FAIL: kafkajs: unexpected error ${e && (e.stack || e)}`);
    process.exit(1);
  });
