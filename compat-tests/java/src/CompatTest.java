import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Apache Kafka Java client (3.9.1) compatibility checks, all in one JVM.
 *
 * Producers use the client's DEFAULT settings (idempotent, acks=all) unless a
 * check says otherwise.  Consumers have no group.id and use assign()+seek: no
 * consumer-group API is touched.  Prints one "PASS: ..." / "FAIL: ..." line per
 * check; exits 1 if any failed.  Every wait is bounded.
 *
 * usage: java CompatTest BOOTSTRAP [AUTO_CREATE_PARTITIONS]
 */
public class CompatTest {
    static final long BASE_TS = 1_700_000_000_000L;
    static String bootstrap;
    static int autoParts;
    static int passed, failed;

    static final class Rec {
        final byte[] key, value;
        final List<Header> headers;
        final long ts;
        Rec(byte[] k, byte[] v, List<Header> h, long ts) { key = k; value = v; headers = h; this.ts = ts; }
    }

    static final class Got {
        final int partition;
        final long offset;
        final Rec rec;
        final TimestampType tsType;
        Got(int p, long o, Rec r, TimestampType t) { partition = p; offset = o; rec = r; tsType = t; }
    }

    // ------------------------------------------------------------------ reporting

    static void pass(String name, String detail) {
        passed++;
        System.out.println("PASS: java: " + name + (detail.isEmpty() ? "" : " (" + detail + ")"));
    }

    static void fail(String name, String detail) {
        failed++;
        detail = detail.replace('\n', ' ');
        if (detail.length() > 1500) detail = detail.substring(0, 1500) + "...(truncated)";
        System.out.println("FAIL: java: " + name + ": " + detail);
    }

    static boolean check(String name, boolean ok, String failDetail) {
        if (ok) pass(name, ""); else fail(name, failDetail);
        return ok;
    }

    interface Body { void run() throws Exception; }

    static void run(String name, Body b) {
        long t0 = System.nanoTime();
        System.err.println("--- " + name);
        try {
            b.run();
        } catch (Throwable e) {
            Throwable c = e;
            while ((c instanceof ExecutionException || c instanceof CompletionException) && c.getCause() != null) c = c.getCause();
            fail(name, c.getClass().getName() + ": " + c.getMessage());
        }
        System.err.printf("    %s took %.1fs%n", name, (System.nanoTime() - t0) / 1e9);
    }

    // ------------------------------------------------------------------ data

    static List<Rec> genRecords(int n, long seed, boolean monotonicTs) {
        Random rnd = new Random(seed);
        List<Rec> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            byte[] prefix = new byte[rnd.nextInt(6)];
            rnd.nextBytes(prefix);
            byte[] key = concat(prefix, ("|k" + i).getBytes(StandardCharsets.UTF_8));
            byte[] value;
            switch (i % 10) {
                case 0: value = new byte[256 * (1 + rnd.nextInt(2))];
                    for (int j = 0; j < value.length; j++) value[j] = (byte) j; break;
                case 1: value = new byte[1 + rnd.nextInt(200)]; rnd.nextBytes(value); break;
                case 2: value = new byte[0]; break;
                case 3: value = null; break;
                case 4: value = "utf8 \u00e9\u4e2d\uD83D\uDE00 ".repeat(1 + rnd.nextInt(4)).getBytes(StandardCharsets.UTF_8); break;
                case 5: value = "x".repeat(1000 + rnd.nextInt(4000)).getBytes(StandardCharsets.UTF_8); break;
                default: value = ("value-" + i + "-" + rnd.nextDouble()).getBytes(StandardCharsets.UTF_8);
            }
            List<Header> headers = new ArrayList<>();
            int hc = i % 4;
            for (int h = 0; h < hc; h++) {
                byte[] hv;
                if (h == 1) { hv = new byte[rnd.nextInt(16)]; rnd.nextBytes(hv); }
                else if (h == 2 && i % 8 == 3) hv = null;  // null header value
                else hv = ("hv" + i + "." + h).getBytes(StandardCharsets.UTF_8);
                headers.add(new RecordHeader("h" + h, hv));
            }
            if (hc == 3) headers.add(new RecordHeader("h0", "dup-key".getBytes(StandardCharsets.UTF_8)));
            long ts = monotonicTs ? BASE_TS + i * 10L : BASE_TS + i * 10L + rnd.nextInt(4000) - 2000;
            out.add(new Rec(key, value, headers, ts));
        }
        return out;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    static String show(byte[] b) {
        if (b == null) return "null";
        String s = Base64.getEncoder().encodeToString(Arrays.copyOf(b, Math.min(b.length, 30)));
        return "b64:" + s + (b.length > 30 ? "...(" + b.length + "B)" : "");
    }

    static String showHeaders(List<Header> hs) {
        StringBuilder sb = new StringBuilder("[");
        for (Header h : hs) sb.append(h.key()).append('=').append(show(h.value())).append(' ');
        return sb.append(']').toString();
    }

    static boolean headersEqual(List<Header> a, List<Header> b) {
        if (a.size() != b.size()) return false;
        for (int i = 0; i < a.size(); i++) {
            if (!a.get(i).key().equals(b.get(i).key())) return false;
            if (!Arrays.equals(a.get(i).value(), b.get(i).value())) return false;
        }
        return true;
    }

    /** Compare field by field, one PASS/FAIL line. */
    static boolean compare(String name, List<Rec> exp, List<Got> got, boolean checkTs) {
        List<String> problems = new ArrayList<>();
        if (exp.size() != got.size()) problems.add("count: expected " + exp.size() + " got " + got.size());
        int mism = 0;
        for (int i = 0; i < Math.min(exp.size(), got.size()); i++) {
            Rec e = exp.get(i), g = got.get(i).rec;
            List<String> d = new ArrayList<>();
            if (!Arrays.equals(e.key, g.key)) d.add("key " + show(e.key) + " vs " + show(g.key));
            if (!Arrays.equals(e.value, g.value)) d.add("value " + show(e.value) + " vs " + show(g.value));
            if (!headersEqual(e.headers, g.headers)) d.add("headers " + showHeaders(e.headers) + " vs " + showHeaders(g.headers));
            if (checkTs && e.ts != g.ts) d.add("ts " + e.ts + " vs " + g.ts);
            if (checkTs && got.get(i).tsType != TimestampType.CREATE_TIME) d.add("tsType " + got.get(i).tsType);
            if (!d.isEmpty()) {
                mism++;
                if (problems.size() < 4) problems.add("#" + i + " (offset " + got.get(i).offset + "): " + d);
            }
        }
        if (mism > 0) problems.add(mism + " records differ");
        if (problems.isEmpty()) pass(name, got.size() + " records byte-exact");
        else fail(name, String.join("; ", problems));
        return problems.isEmpty();
    }

    // ------------------------------------------------------------------ clients

    static Properties producerProps(Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60000);
        if (extra != null) p.putAll(extra);
        return p;
    }

    static KafkaConsumer<byte[], byte[]> consumer() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);  // no group.id: no group API at all
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        return new KafkaConsumer<>(p);
    }

    static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20000);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        return Admin.create(p);
    }

    static String uniq(String prefix) {
        return prefix + "-" + ProcessHandle.current().pid() + "-" + Long.toHexString(new Random().nextInt(1 << 30));
    }

    static void createTopic(Admin a, String topic, int parts) throws Exception {
        a.createTopics(List.of(new NewTopic(topic, parts, (short) 1))).all().get(30, TimeUnit.SECONDS);
        long end = System.currentTimeMillis() + 30000;
        while (System.currentTimeMillis() < end) {
            try {
                TopicDescription d = a.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic);
                if (d.partitions().size() == parts) return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) throw e;
            }
            Thread.sleep(200);
        }
        throw new TimeoutException("topic " + topic + " not described with " + parts + " partitions");
    }

    /** Produce all, return RecordMetadata per record (throws on any send error). */
    static List<RecordMetadata> produce(String topic, Integer partition, List<Rec> recs, Map<String, Object> extra)
            throws Exception {
        List<Future<RecordMetadata>> fs = new ArrayList<>(recs.size());
        AtomicReference<Exception> firstErr = new AtomicReference<>();
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerProps(extra))) {
            for (Rec r : recs) {
                ProducerRecord<byte[], byte[]> pr = new ProducerRecord<>(topic, partition, r.ts, r.key, r.value, r.headers);
                fs.add(p.send(pr, (md, e) -> { if (e != null) firstErr.compareAndSet(null, e); }));
            }
            p.flush();
        }
        if (firstErr.get() != null) throw firstErr.get();
        List<RecordMetadata> out = new ArrayList<>();
        for (Future<RecordMetadata> f : fs) out.add(f.get(1, TimeUnit.SECONDS));
        return out;
    }

    /** assign()+seekToBeginning (or seek to start), poll until expected records or deadline. */
    static List<Got> consume(String topic, List<Integer> parts, int expected, Long start, long timeoutMs) {
        List<Got> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = consumer()) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p : parts) tps.add(new TopicPartition(topic, p));
            c.assign(tps);
            if (start == null) c.seekToBeginning(tps); else for (TopicPartition tp : tps) c.seek(tp, start);
            long end = System.currentTimeMillis() + timeoutMs;
            long settleEnd = -1, atEndSince = -1;
            while (System.currentTimeMillis() < end) {
                ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(300));
                for (ConsumerRecord<byte[], byte[]> r : rs) {
                    List<Header> hs = new ArrayList<>();
                    for (Header h : r.headers()) hs.add(h);
                    out.add(new Got(r.partition(), r.offset(), new Rec(r.key(), r.value(), hs, r.timestamp()), r.timestampType()));
                }
                if (out.size() >= expected) {
                    if (settleEnd < 0) settleEnd = System.currentTimeMillis() + 500;  // catch extras/duplicates
                    else if (System.currentTimeMillis() >= settleEnd) break;
                } else if (rs.isEmpty()) {
                    // Too few records: stop once every partition has sat at its end offset for 3 s.
                    Map<TopicPartition, Long> ends = c.endOffsets(tps, Duration.ofSeconds(10));
                    boolean atEnd = true;
                    for (TopicPartition tp : tps) atEnd &= c.position(tp, Duration.ofSeconds(10)) >= ends.get(tp);
                    if (!atEnd) atEndSince = -1;
                    else if (atEndSince < 0) atEndSince = System.currentTimeMillis();
                    else if (System.currentTimeMillis() - atEndSince >= 3000) break;
                }
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ checks

    static void roundtrip10k(Admin a) throws Exception {
        String topic = uniq("java-roundtrip");
        createTopic(a, topic, 1);
        List<Rec> recs = genRecords(10_000, 1, false);
        List<RecordMetadata> md = produce(topic, 0, recs, null);  // DEFAULT producer settings
        boolean offs = true;
        for (int i = 0; i < md.size(); i++) if (md.get(i).offset() != i || md.get(i).partition() != 0) { offs = false; break; }
        check("roundtrip-10k (default idempotent acks=all producer): acked offsets 0..9999", offs,
                "first " + md.get(0).offset() + " last " + md.get(md.size() - 1).offset());
        List<Got> got = consume(topic, List.of(0), recs.size(), null, 60000);
        compare("roundtrip-10k: key/value/headers/timestamp/CreateTime byte-exact (assign+seekToBeginning)", recs, got, true);
        boolean contiguous = true;
        for (int i = 0; i < got.size(); i++) if (got.get(i).offset != i) { contiguous = false; break; }
        check("roundtrip-10k: consumed offsets contiguous from 0", contiguous, "offsets not contiguous");
    }

    static void listOffsets(Admin a) throws Exception {
        String topic = uniq("java-offsets");
        createTopic(a, topic, 1);
        List<Rec> recs = genRecords(1000, 2, true);
        produce(topic, 0, recs, Map.of(ProducerConfig.BATCH_SIZE_CONFIG, 4096));
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<byte[], byte[]> c = consumer()) {
            long b = c.beginningOffsets(List.of(tp)).get(tp), e = c.endOffsets(List.of(tp)).get(tp);
            check("list-offsets: beginningOffsets=0 endOffsets=1000", b == 0 && e == 1000, "got " + b + ", " + e);
            long[][] cases = {{BASE_TS + 4370, 437}, {BASE_TS + 4367, 437}, {BASE_TS - 1, 0}, {BASE_TS + 9991, -1}};
            for (long[] cs : cases) {
                OffsetAndTimestamp ot = c.offsetsForTimes(Map.of(tp, cs[0])).get(tp);
                boolean ok = cs[1] == -1 ? ot == null : ot != null && ot.offset() == cs[1] && ot.timestamp() == BASE_TS + cs[1] * 10;
                check("list-offsets: offsetsForTimes(+" + (cs[0] - BASE_TS) + ") -> " + (cs[1] == -1 ? "none" : cs[1]), ok,
                        "got " + ot);
            }
        }
        List<Got> got = consume(topic, List.of(0), 500, 500L, 30000);
        compare("fetch after seek(500)", recs.subList(500, 1000), got, true);
        ListOffsetsResult r = a.listOffsets(Map.of(tp, OffsetSpec.earliest()));
        long earliest = r.partitionResult(tp).get(30, TimeUnit.SECONDS).offset();
        r = a.listOffsets(Map.of(tp, OffsetSpec.latest()));
        long latest = r.partitionResult(tp).get(30, TimeUnit.SECONDS).offset();
        check("admin listOffsets(earliest, latest) -> (0, 1000)", earliest == 0 && latest == 1000,
                "got " + earliest + ", " + latest);
        r = a.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp()));
        ListOffsetsResult.ListOffsetsResultInfo info = r.partitionResult(tp).get(30, TimeUnit.SECONDS);
        check("admin listOffsets(maxTimestamp) -> offset 999", info.offset() == 999 && info.timestamp() == BASE_TS + 9990,
                "got offset " + info.offset() + " ts " + info.timestamp());
    }

    static void autoCreate() throws Exception {
        String topic = uniq("java-autocreate");
        List<Rec> recs = genRecords(100, 3, false);
        List<RecordMetadata> md = produce(topic, null, recs, null);
        int nparts;
        try (KafkaConsumer<byte[], byte[]> c = consumer()) {
            nparts = c.partitionsFor(topic, Duration.ofSeconds(20)).size();
        }
        check("auto-create: produce to never-created topic; partitionsFor = " + (autoParts == 0 ? ">=1" : autoParts),
                nparts >= 1 && (autoParts == 0 || nparts == autoParts), "partitions " + nparts);
        List<Integer> parts = new ArrayList<>();
        for (int i = 0; i < nparts; i++) parts.add(i);
        List<Got> got = consume(topic, parts, recs.size(), null, 30000);
        Map<String, Got> byKey = new HashMap<>();
        for (Got g : got) byKey.put(Base64.getEncoder().encodeToString(g.rec.key), g);
        boolean ok = got.size() == recs.size();
        for (int i = 0; i < recs.size() && ok; i++) {
            Got g = byKey.get(Base64.getEncoder().encodeToString(recs.get(i).key));
            ok = g != null && Arrays.equals(g.rec.value, recs.get(i).value) && g.partition == md.get(i).partition()
                    && g.offset == md.get(i).offset();
        }
        check("auto-create: records read back at their acked partition/offset", ok, "got " + got.size() + " of " + recs.size());
    }

    static void threePartitions(Admin a) throws Exception {
        String topic = uniq("java-3part");
        createTopic(a, topic, 3);
        TopicDescription d = a.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
        check("admin: createTopics(3 partitions) + describeTopics", d.partitions().size() == 3, "partitions " + d.partitions().size());
        int nkeys = 60, perKey = 50;
        List<Rec> recs = new ArrayList<>();
        for (int s = 0; s < perKey; s++)
            for (int k = 0; k < nkeys; k++)
                recs.add(new Rec(("key-" + k).getBytes(), (k + ":" + s).getBytes(), List.of(), BASE_TS + recs.size()));
        List<RecordMetadata> md = produce(topic, null, recs, Map.of(ProducerConfig.LINGER_MS_CONFIG, 5));
        Map<String, Set<Integer>> sentPart = new HashMap<>();
        for (int i = 0; i < recs.size(); i++)
            sentPart.computeIfAbsent(new String(recs.get(i).key), x -> new HashSet<>()).add(md.get(i).partition());
        List<Got> got = consume(topic, List.of(0, 1, 2), recs.size(), null, 60000);
        check("3-partitions: all records consumed", got.size() == recs.size(), "expected " + recs.size() + " got " + got.size());
        Map<String, Set<Integer>> keyParts = new HashMap<>();
        Map<String, List<Integer>> keySeqs = new HashMap<>();
        Set<Integer> used = new HashSet<>();
        got.sort(Comparator.comparingInt((Got g) -> g.partition).thenComparingLong(g -> g.offset));
        for (Got g : got) {
            String k = new String(g.rec.key);
            used.add(g.partition);
            keyParts.computeIfAbsent(k, x -> new HashSet<>()).add(g.partition);
            keySeqs.computeIfAbsent(k, x -> new ArrayList<>()).add(Integer.parseInt(new String(g.rec.value).split(":")[1]));
        }
        check("3-partitions: records spread over all 3 partitions", used.size() == 3, "used " + used);
        boolean one = keyParts.size() == nkeys && keyParts.values().stream().allMatch(s -> s.size() == 1);
        check("3-partitions: each key's records all from one partition", one, "keyParts " + keyParts);
        check("3-partitions: consumed partition == acked partition", keyParts.equals(sentPart), "differs");
        List<Integer> want = new ArrayList<>();
        for (int s = 0; s < perKey; s++) want.add(s);
        String bad = "";
        for (Map.Entry<String, List<Integer>> e : keySeqs.entrySet())
            if (!e.getValue().equals(want)) { bad = e.getKey() + " -> " + e.getValue(); break; }
        check("3-partitions: each key's records in produce order, none missing/duplicated", bad.isEmpty(), bad);
    }

    static void compression(String codec) throws Exception {
        String topic = uniq("java-" + codec);
        List<Rec> recs = genRecords(2000, 10 + codec.length(), false);
        produce(topic, 0, recs, Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec, ProducerConfig.LINGER_MS_CONFIG, 20,
                ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024));
        List<Got> got = consume(topic, List.of(0), recs.size(), null, 60000);
        compare("compression " + codec + ": produce+consume byte-exact", recs, got, true);
    }

    static void nonIdempotentAcks1() throws Exception {
        String topic = uniq("java-acks1");
        List<Rec> recs = genRecords(1000, 30, false);
        produce(topic, 0, recs, Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false, ProducerConfig.ACKS_CONFIG, "1"));
        List<Got> got = consume(topic, List.of(0), recs.size(), null, 30000);
        compare("non-idempotent acks=1 producer: byte-exact", recs, got, true);
    }

    static void adminCluster(Admin a) throws Exception {
        DescribeClusterResult dc = a.describeCluster();
        Collection<Node> nodes = dc.nodes().get(30, TimeUnit.SECONDS);
        String port = bootstrap.substring(bootstrap.lastIndexOf(':') + 1);
        boolean ok = nodes.size() == 1 && nodes.iterator().next().port() == Integer.parseInt(port)
                && nodes.iterator().next().host().equals("127.0.0.1");
        check("admin describeCluster: one node at the advertised address", ok, "nodes " + nodes);
        Node ctl = dc.controller().get(30, TimeUnit.SECONDS);
        check("admin describeCluster: controller known", ctl != null && !ctl.isEmpty(), "controller " + ctl);
        String t = uniq("java-list");
        createTopic(a, t, 2);
        Set<String> names = a.listTopics().names().get(30, TimeUnit.SECONDS);
        check("admin listTopics includes created topic", names.contains(t), "names " + names);
        try {
            a.createTopics(List.of(new NewTopic(t, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
            fail("admin createTopics on existing topic -> TopicExistsException", "no error");
        } catch (ExecutionException e) {
            check("admin createTopics on existing topic -> TopicExistsException", e.getCause() instanceof TopicExistsException,
                    "got " + e.getCause());
        }
    }


    /** DescribeCluster (authorized operations), DeleteRecords, DescribeLogDirs, ElectLeaders and,
     * through the consumer's position validation (KIP-320), OffsetForLeaderEpoch. */
    static void adminApis(Admin a) throws Exception {
        DescribeClusterResult dc = a.describeCluster(new DescribeClusterOptions().includeAuthorizedOperations(true));
        Set<org.apache.kafka.common.acl.AclOperation> ops = dc.authorizedOperations().get(30, TimeUnit.SECONDS);
        check("admin describeCluster: every CLUSTER operation authorized (no authorizer)",
                ops != null && ops.containsAll(List.of(org.apache.kafka.common.acl.AclOperation.DESCRIBE,
                        org.apache.kafka.common.acl.AclOperation.ALTER, org.apache.kafka.common.acl.AclOperation.CLUSTER_ACTION,
                        org.apache.kafka.common.acl.AclOperation.IDEMPOTENT_WRITE)), "got " + ops);
        String topic = uniq("java-admin-apis");
        createTopic(a, topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        produce(topic, 0, genRecords(10, 9, true), null);
        long low = a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp).get(30, TimeUnit.SECONDS).lowWatermark();
        check("admin deleteRecords: low watermark 4", low == 4, "got " + low);
        long earliest = a.listOffsets(Map.of(tp, OffsetSpec.earliest())).partitionResult(tp).get(30, TimeUnit.SECONDS).offset();
        check("admin deleteRecords: listOffsets earliest is the new start", earliest == 4, "got " + earliest);
        int broker = dc.nodes().get(30, TimeUnit.SECONDS).iterator().next().id();
        Map<String, LogDirDescription> dirs = a.describeLogDirs(List.of(broker)).allDescriptions().get(30, TimeUnit.SECONDS).get(broker);
        boolean sized = dirs != null && dirs.size() == 1 && dirs.values().stream().allMatch(d -> d.error() == null
                && d.replicaInfos().containsKey(tp) && d.replicaInfos().get(tp).size() > 0 && d.totalBytes().isPresent());
        check("admin describeLogDirs: one dir, the partition with its size, total bytes", sized, "got " + dirs);
        Map<TopicPartition, Optional<Throwable>> elected = a.electLeaders(org.apache.kafka.common.ElectionType.PREFERRED, Set.of(tp))
                .partitions().get(30, TimeUnit.SECONDS);
        Optional<Throwable> why = elected.get(tp);
        check("admin electLeaders: ElectionNotNeededException on one node",
                why != null && why.isPresent() && why.get() instanceof org.apache.kafka.common.errors.ElectionNotNeededException,
                "got " + elected);
        // Seeking with a leader epoch makes the consumer validate its position with
        // OffsetForLeaderEpoch before fetching: a wrong end offset would truncate or reset it.
        try (KafkaConsumer<byte[], byte[]> c = consumer()) {
            c.assign(List.of(tp));
            c.seek(tp, new OffsetAndMetadata(6, Optional.of(0), ""));
            List<Long> offsets = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 20000;
            while (offsets.size() < 4 && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) offsets.add(r.offset());
            }
            check("consumer seek with leader epoch 0 (validated by OffsetForLeaderEpoch) reads 6..9",
                    offsets.equals(List.of(6L, 7L, 8L, 9L)), "got " + offsets);
        }
    }

    static void fetchEdges(Admin a) throws Exception {
        String topic = uniq("java-fetch-edges");
        createTopic(a, topic, 1);
        byte[] big = new byte[700_000];
        new Random(5).nextBytes(big);
        List<Rec> recs = List.of(new Rec("big".getBytes(), big, List.of(), BASE_TS),
                new Rec("small".getBytes(), "s".getBytes(), List.of(), BASE_TS + 1));
        produce(topic, 0, recs, null);
        TopicPartition tp = new TopicPartition(topic, 0);
        // KIP-74: a batch bigger than max.partition.fetch.bytes / fetch.max.bytes is still returned
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 1024);
        p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 1024);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            c.assign(List.of(tp));
            c.seek(tp, 0);
            List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
            long end = System.currentTimeMillis() + 20000;
            while (got.size() < 2 && System.currentTimeMillis() < end)
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(300))) got.add(r);
            check("fetch: 700KB record returned despite max.partition.fetch.bytes=1024 (KIP-74)",
                    got.size() == 2 && Arrays.equals(got.get(0).value(), big), "got " + got.size() + " records");
            // out-of-range fetch position -> OFFSET_OUT_OF_RANGE -> auto.offset.reset=earliest
            c.seek(tp, 1_000_000);
            got.clear();
            end = System.currentTimeMillis() + 20000;
            while (got.isEmpty() && System.currentTimeMillis() < end)
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(300))) got.add(r);
            check("fetch: out-of-range offset resets to earliest (auto.offset.reset)",
                    !got.isEmpty() && got.get(0).offset() == 0, "got " + (got.isEmpty() ? "nothing" : "offset " + got.get(0).offset()));
        }
        // long poll: a consumer waiting at the end sees a new record promptly
        try (KafkaConsumer<byte[], byte[]> c = consumer();
             KafkaProducer<byte[], byte[]> prod = new KafkaProducer<>(producerProps(null))) {
            c.assign(List.of(tp));
            c.seekToEnd(List.of(tp));
            c.position(tp);
            c.poll(Duration.ofMillis(200));
            long t0 = System.currentTimeMillis();
            prod.send(new ProducerRecord<>(topic, 0, "late".getBytes(), "v".getBytes())).get(30, TimeUnit.SECONDS);
            long ack = System.currentTimeMillis() - t0;
            long end = System.currentTimeMillis() + 15000;
            ConsumerRecord<byte[], byte[]> first = null;
            while (first == null && System.currentTimeMillis() < end)
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) { first = r; break; }
            long lat = System.currentTimeMillis() - t0;
            check("fetch: consumer at log end receives a new record within 2s (long poll)",
                    first != null && first.offset() == 2 && lat < 2000,
                    first == null ? "nothing within 15s" : "offset " + first.offset() + " after " + lat + "ms (ack " + ack + "ms)");
        }
    }

    static void producerEdges(Admin a) throws Exception {
        String topic = uniq("java-prod-edges");
        createTopic(a, topic, 1);
        // record bigger than the broker's message.max.bytes (default ~1MB) -> RecordTooLargeException
        byte[] huge = new byte[2_000_000];
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerProps(Map.of(
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 5_000_000, ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30000)))) {
            try {
                p.send(new ProducerRecord<>(topic, 0, "huge".getBytes(), huge)).get(40, TimeUnit.SECONDS);
                fail("produce 2MB record -> broker rejects with RecordTooLargeException", "accepted");
            } catch (ExecutionException e) {
                check("produce 2MB record -> broker rejects with RecordTooLargeException",
                        e.getCause() instanceof org.apache.kafka.common.errors.RecordTooLargeException, "got " + e.getCause());
            }
            // the partition still works after the rejection
            RecordMetadata md = p.send(new ProducerRecord<>(topic, 0, "ok".getBytes(), "v".getBytes())).get(30, TimeUnit.SECONDS);
            check("produce after a rejected record succeeds at offset 0", md.offset() == 0, "offset " + md.offset());
        }
        // acks=0
        String t0 = uniq("java-acks0");
        createTopic(a, t0, 1);
        List<Rec> recs = genRecords(500, 40, false);
        produce(t0, 0, recs, Map.of(ProducerConfig.ACKS_CONFIG, "0", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false));
        List<Got> got = consume(t0, List.of(0), recs.size(), null, 20000);
        compare("acks=0 producer: records arrive byte-exact", recs, got, true);
    }

    static void adminEdges(Admin a) throws Exception {
        String t = uniq("java-admin-edges");
        createTopic(a, t, 1);
        a.createPartitions(Map.of(t, NewPartitions.increaseTo(3))).all().get(30, TimeUnit.SECONDS);
        int n = 0;
        long end = System.currentTimeMillis() + 20000;
        while (System.currentTimeMillis() < end) {
            n = a.describeTopics(List.of(t)).allTopicNames().get(10, TimeUnit.SECONDS).get(t).partitions().size();
            if (n == 3) break;
            Thread.sleep(200);
        }
        check("admin createPartitions 1 -> 3", n == 3, "partitions " + n);
        org.apache.kafka.common.config.ConfigResource cr =
                new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC, t);
        Config cfg = a.describeConfigs(List.of(cr)).all().get(30, TimeUnit.SECONDS).get(cr);
        ConfigEntry ce = cfg == null ? null : cfg.get("cleanup.policy");
        check("admin describeConfigs(topic) has cleanup.policy", ce != null && ce.value() != null, "config " + cfg);
        try {
            a.createTopics(List.of(new NewTopic(uniq("java-bad"), 1, (short) 3))).all().get(30, TimeUnit.SECONDS);
            fail("admin createTopics replication.factor=3 on 1 broker -> InvalidReplicationFactorException", "created");
        } catch (ExecutionException e) {
            check("admin createTopics replication.factor=3 on 1 broker -> InvalidReplicationFactorException",
                    e.getCause() instanceof org.apache.kafka.common.errors.InvalidReplicationFactorException, "got " + e.getCause());
        }
        a.deleteTopics(List.of(t)).all().get(30, TimeUnit.SECONDS);
        boolean gone = false;
        end = System.currentTimeMillis() + 20000;
        while (!gone && System.currentTimeMillis() < end) {
            gone = !a.listTopics().names().get(10, TimeUnit.SECONDS).contains(t);
            if (!gone) Thread.sleep(200);
        }
        check("admin deleteTopics: topic no longer listed", gone, "still listed after 20s");
        // re-create with the same name: starts empty
        createTopic(a, t, 1);
        TopicPartition tp = new TopicPartition(t, 0);
        try (KafkaConsumer<byte[], byte[]> c = consumer()) {
            long e = c.endOffsets(List.of(tp)).get(tp);
            check("re-created topic after delete starts empty (end offset 0)", e == 0, "end offset " + e);
        }
    }

    public static void main(String[] args) throws Exception {
        bootstrap = args[0];
        autoParts = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        System.err.println("kafka-clients " + AppInfoParser.getVersion());
        try (Admin a = admin()) {
            run("admin-cluster", () -> adminCluster(a));
            run("roundtrip-10k", () -> roundtrip10k(a));
            run("list-offsets", () -> listOffsets(a));
            run("auto-create", CompatTest::autoCreate);
            run("3-partitions", () -> threePartitions(a));
            for (String codec : List.of("gzip", "snappy", "lz4", "zstd")) run("compression-" + codec, () -> compression(codec));
            run("acks1", CompatTest::nonIdempotentAcks1);
            run("fetch-edges", () -> fetchEdges(a));
            run("producer-edges", () -> producerEdges(a));
            run("admin-edges", () -> adminEdges(a));
            run("admin-apis", () -> adminApis(a));
            run("dynamic-configs", () -> dynamicConfigs(a));
            run("transactions", () -> transactions(a));
            run("transaction edges", () -> transactionEdges(a));
        }
        System.out.println("java: " + passed + " passed, " + failed + " failed");
        System.exit(failed > 0 || passed == 0 ? 1 : 0);
    }

    /** Dynamic broker configs (the cluster default, described on this broker's id) through
     * IncrementalAlterConfigs / DescribeConfigs, as kafka-configs.sh uses them. */
    static void dynamicConfigs(Admin a) throws Exception {
        int broker = a.describeCluster().nodes().get(30, TimeUnit.SECONDS).iterator().next().id();
        ConfigResource cluster = new ConfigResource(ConfigResource.Type.BROKER, "");
        ConfigResource self = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(broker));
        // A harmless setting: the cleaner's pause when idle (other tests share this broker).
        AlterConfigOp set = new AlterConfigOp(new ConfigEntry("log.cleaner.backoff.ms", "14000"), AlterConfigOp.OpType.SET);
        a.incrementalAlterConfigs(Map.of(cluster, List.of(set))).all().get(30, TimeUnit.SECONDS);
        ConfigEntry e = a.describeConfigs(List.of(self)).all().get(30, TimeUnit.SECONDS).get(self).get("log.cleaner.backoff.ms");
        check("dynamic broker config: cluster default reported as DYNAMIC_DEFAULT_BROKER_CONFIG",
                e != null && "14000".equals(e.value()) && e.source() == ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG && !e.isReadOnly(),
                "got " + e);
        Config defaults = a.describeConfigs(List.of(cluster)).all().get(30, TimeUnit.SECONDS).get(cluster);
        check("dynamic broker config: the empty broker name lists the cluster defaults",
                defaults.get("log.cleaner.backoff.ms") != null && defaults.entries().size() == 1, "got " + defaults);
        try {
            a.incrementalAlterConfigs(Map.of(self, List.of(new AlterConfigOp(new ConfigEntry("log.dirs", "/x"), AlterConfigOp.OpType.SET))))
                    .all().get(30, TimeUnit.SECONDS);
            fail("dynamic broker config: log.dirs refused", "accepted");
        } catch (ExecutionException ex) {
            check("dynamic broker config: log.dirs refused (InvalidRequestException)",
                    ex.getCause() instanceof org.apache.kafka.common.errors.InvalidRequestException, "got " + ex.getCause());
        }
        AlterConfigOp del = new AlterConfigOp(new ConfigEntry("log.cleaner.backoff.ms", null), AlterConfigOp.OpType.DELETE);
        a.incrementalAlterConfigs(Map.of(cluster, List.of(del))).all().get(30, TimeUnit.SECONDS);
        e = a.describeConfigs(List.of(self)).all().get(30, TimeUnit.SECONDS).get(self).get("log.cleaner.backoff.ms");
        check("dynamic broker config: deleted, back to its default", e != null && e.source() == ConfigEntry.ConfigSource.DEFAULT_CONFIG,
                "got " + e);

        // Group configs (ConfigResource.Type.GROUP) came with the 4.0 client; 3.9.1 cannot
        // name them. tests/protocol/dynamic_configs.rs covers them with raw requests.
    }

    static KafkaConsumer<byte[], byte[]> isolated(String level) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, level);
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        return new KafkaConsumer<>(p);
    }

    /** Values read from both partitions of `topic` by a consumer at `level`, until `want` or 15 s. */
    static List<String> readAll(String topic, String level, int want) {
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = isolated(level)) {
            c.assign(List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1)));
            long deadline = System.currentTimeMillis() + 15000;
            while (out.size() < want && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) out.add(new String(r.value(), StandardCharsets.UTF_8));
            }
            // A moment more: nothing else may show up.
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) out.add(new String(r.value(), StandardCharsets.UTF_8));
        }
        Collections.sort(out);
        return out;
    }

    /** Transactions (KIP-98) with the Java client: commit visible to read_committed, abort not,
     * read_uncommitted sees both; a zombie producer fenced; offsets committed in a transaction
     * (sendOffsetsToTransaction) visible only once it commits. */
    static void transactions(Admin a) throws Exception {
        String topic = uniq("java-txn");
        createTopic(a, topic, 2);
        Map<String, Object> tx = Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, uniq("java-tx"),
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 30000);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerProps(tx))) {
            p.initTransactions();
            p.beginTransaction();
            for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>(topic, i % 2, null, ("c" + i).getBytes(StandardCharsets.UTF_8)));
            p.commitTransaction();
            p.beginTransaction();
            for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>(topic, i % 2, null, ("a" + i).getBytes(StandardCharsets.UTF_8)));
            p.flush();
            p.abortTransaction();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 0, null, "c10".getBytes(StandardCharsets.UTF_8)));
            p.commitTransaction();
        }
        List<String> committed = readAll(topic, "read_committed", 11);
        check("transactions: read_committed sees the 11 committed records and no aborted one",
                committed.size() == 11 && committed.stream().allMatch(v -> v.startsWith("c")), "got " + committed);
        List<String> everything = readAll(topic, "read_uncommitted", 16);
        check("transactions: read_uncommitted sees all 16 records (aborted ones too)", everything.size() == 16, "got " + everything);
        try (KafkaConsumer<byte[], byte[]> c = isolated("read_committed")) {
            TopicPartition tp0 = new TopicPartition(topic, 0);
            long lso = c.endOffsets(List.of(tp0)).get(tp0);
            try (KafkaConsumer<byte[], byte[]> u = isolated("read_uncommitted")) {
                long hw = u.endOffsets(List.of(tp0)).get(tp0);
                check("transactions: with no transaction open the LSO is the high watermark", lso == hw, "lso " + lso + " hw " + hw);
            }
        }

        // A zombie: a second instance with the same transactional id fences the first.
        String id = uniq("java-zombie");
        Map<String, Object> zc = Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
        try (KafkaProducer<byte[], byte[]> zombie = new KafkaProducer<>(producerProps(zc));
             KafkaProducer<byte[], byte[]> fresh = new KafkaProducer<>(producerProps(zc))) {
            zombie.initTransactions();
            zombie.beginTransaction();
            zombie.send(new ProducerRecord<>(topic, 1, null, "zombie".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
            fresh.initTransactions();
            try {
                zombie.send(new ProducerRecord<>(topic, 1, null, "zombie2".getBytes(StandardCharsets.UTF_8)));
                zombie.commitTransaction();
                fail("transactions: the zombie is fenced", "its commit succeeded");
            } catch (Exception e) {
                Throwable t = e instanceof ExecutionException ? e.getCause() : e;
                check("transactions: the zombie is fenced (ProducerFencedException)",
                        t instanceof org.apache.kafka.common.errors.ProducerFencedException
                                || t instanceof org.apache.kafka.common.errors.InvalidProducerEpochException
                                || t.getCause() instanceof org.apache.kafka.common.errors.ProducerFencedException,
                        "got " + t);
            }
            fresh.beginTransaction();
            fresh.send(new ProducerRecord<>(topic, 1, null, "c11".getBytes(StandardCharsets.UTF_8)));
            fresh.commitTransaction();
        }
        List<String> after = readAll(topic, "read_committed", 12);
        check("transactions: the fenced zombie's records stay invisible, the new instance's commit shows",
                after.contains("c11") && !after.contains("zombie") && !after.contains("zombie2"), "got " + after);

        // Offsets in a transaction (consume-transform-produce).
        String group = uniq("java-txn-group");
        TopicPartition src = new TopicPartition(topic, 0);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerProps(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, uniq("java-ctp"))))) {
            p.initTransactions();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 1, null, "c12".getBytes(StandardCharsets.UTF_8)));
            p.sendOffsetsToTransaction(Map.of(src, new OffsetAndMetadata(5)), new ConsumerGroupMetadata(group));
            p.abortTransaction();
            Map<TopicPartition, OffsetAndMetadata> none = a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            check("transactions: offsets of an aborted transaction are not committed", none.get(src) == null, "got " + none);
            p.beginTransaction();
            p.sendOffsetsToTransaction(Map.of(src, new OffsetAndMetadata(7)), new ConsumerGroupMetadata(group));
            p.commitTransaction();
        }
        Map<TopicPartition, OffsetAndMetadata> offs = a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        check("transactions: offsets sent to a committed transaction are committed (7)",
                offs.get(src) != null && offs.get(src).offset() == 7, "got " + offs);
        Collection<org.apache.kafka.clients.admin.TransactionListing> listed = a.listTransactions().all().get(30, TimeUnit.SECONDS);
        check("transactions: admin listTransactions lists the transactional ids",
                listed.stream().anyMatch(l -> l.transactionalId().equals(id)), "got " + listed);
        org.apache.kafka.clients.admin.TransactionDescription d = a.describeTransactions(List.of(id)).description(id).get(30, TimeUnit.SECONDS);
        check("transactions: admin describeTransactions: CompleteCommit, no partitions",
                d.state() == org.apache.kafka.clients.admin.TransactionState.COMPLETE_COMMIT && d.topicPartitions().isEmpty(), "got " + d);
    }

    /** Empty transactions commit and abort; a transaction left open past its
     * transaction.timeout.ms pins the LSO (read_committed end offset) until the broker aborts it,
     * then consumers move on and the abandoned producer is fenced. */
    static void transactionEdges(Admin a) throws Exception {
        String topic = uniq("java-txn-edges");
        createTopic(a, topic, 2); // readAll reads partitions 0 and 1; everything goes to 0
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerProps(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, uniq("java-empty"))))) {
            p.initTransactions();
            p.beginTransaction();
            p.commitTransaction();
            p.beginTransaction();
            p.abortTransaction();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 0, null, "after-empty".getBytes(StandardCharsets.UTF_8)));
            p.commitTransaction();
        }
        check("transactions: empty commits and aborts, then a transaction commits",
                readAll(topic, "read_committed", 1).equals(List.of("after-empty")), "got " + readAll(topic, "read_committed", 1));

        Map<String, Object> slow = Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, uniq("java-slow"),
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 2000);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerProps(slow));
             KafkaConsumer<byte[], byte[]> committed = isolated("read_committed");
             KafkaConsumer<byte[], byte[]> uncommitted = isolated("read_uncommitted")) {
            p.initTransactions();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 0, null, "abandoned".getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
            long lso = committed.endOffsets(List.of(tp)).get(tp);
            long hw = uncommitted.endOffsets(List.of(tp)).get(tp);
            check("transactions: an open transaction holds the LSO at its first offset, below the high watermark",
                    lso == 2 && hw == 3, "lso " + lso + " hw " + hw);
            long deadline = System.currentTimeMillis() + 30_000;
            long moved = lso;
            while (System.currentTimeMillis() < deadline && moved <= 2) {
                Thread.sleep(200);
                moved = committed.endOffsets(List.of(tp)).get(tp);
            }
            check("transactions: the broker aborts the transaction past its timeout and the LSO moves on",
                    moved == uncommitted.endOffsets(List.of(tp)).get(tp) && moved > 3, "lso " + moved);
            try {
                p.send(new ProducerRecord<>(topic, 0, null, "late".getBytes(StandardCharsets.UTF_8)));
                p.commitTransaction();
                fail("transactions: the timed-out producer is fenced", "its commit succeeded");
            } catch (Exception e) {
                check("transactions: the timed-out producer is fenced", true, "");
            }
        }
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerProps(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, uniq("java-next"))))) {
            p.initTransactions();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, 0, null, "next".getBytes(StandardCharsets.UTF_8)));
            p.commitTransaction();
        }
        List<String> seen = readAll(topic, "read_committed", 2);
        check("transactions: read_committed consumers skip the aborted records and read on",
                seen.equals(List.of("after-empty", "next")), "got " + seen);
    }

    static final class AppInfoParser {
        static String getVersion() { return org.apache.kafka.common.utils.AppInfoParser.getVersion(); }
    }
}
