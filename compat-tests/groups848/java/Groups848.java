import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.ConsumerGroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * KIP-848 consumer groups with the Apache Kafka Java client 3.9.1 (group.protocol=consumer),
 * driven by compat-tests/groups848/run.sh:  Groups848 BOOTSTRAP
 *
 * Every consumer runs in its own thread (poll, then commitSync of what it processed; the
 * partitions being revoked are committed in onPartitionsRevoked).  Checks, one PASS/FAIL
 * line each:
 *   share   two consumers (broker default assignor, uniform) split a 4-partition topic 2+2,
 *           consume all 2000 records and commit them; a third joins: 2+1+1, new records are
 *           consumed; no record re-delivered after it was committed
 *   range   three consumers with group.remote.assignor=range on two 3-partition topics: each
 *           gets partition k of both topics (co-partitioned), everything consumed
 *   admin   describeConsumerGroups: STABLE, type CONSUMER, the members with their assignments
 *           as the consumers see them, assignor names; listConsumerGroups: type CONSUMER,
 *           the type filter; after the members close: EMPTY
 *   upgrade  (online upgrade, KIP-848 migration) twice side by side: classic KafkaConsumers
 *           with the default assignors (eager range first) and with CooperativeStickyAssignor
 *           consume a 6-partition topic 3+3 while a producer runs; a consumer-protocol
 *           consumer joins (2+2+2, describeConsumerGroups: type CONSUMER, the classic and the
 *           consumer members with their assignments; steady: no callbacks for 3 s); each
 *           classic consumer in turn closes and is replaced by a consumer-protocol one;
 *           nothing lost, nothing re-delivered after its commit, and no partition held by two consumers at once (by the rebalance
 *           callbacks: assigned to B only after A's onPartitionsRevoked returned)
 * usage: Groups848 BOOTSTRAP [base] [upgrade]   (default: base)
 * Every wait is bounded.
 */
public class Groups848 {
    static String bootstrap;
    static int passed, failed;
    static final long T0 = System.nanoTime();

    static synchronized void pass(String name, String detail) {
        passed++;
        System.out.println("PASS: groups848: java: " + name + (detail.isEmpty() ? "" : " (" + detail + ")"));
        System.out.flush();
    }

    static synchronized void fail(String name, String detail) {
        failed++;
        detail = detail.replace('\n', ' ');
        if (detail.length() > 1500) detail = detail.substring(0, 1500) + "...(truncated)";
        System.out.println("FAIL: groups848: java: " + name + ": " + detail);
        System.out.flush();
    }

    static void check(String name, boolean ok, String failDetail, String okDetail) {
        if (ok) pass(name, okDetail); else fail(name, failDetail);
    }

    static void log(String s) {
        System.err.printf("[java %.1fs] %s%n", (System.nanoTime() - T0) / 1e9, s);
    }

    static boolean waitUntil(BooleanSupplier p, double seconds) throws InterruptedException {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            if (p.getAsBoolean()) return true;
            Thread.sleep(50);
        }
        return p.getAsBoolean();
    }

    static String uniq(String prefix) {
        return prefix + "-" + ProcessHandle.current().pid() + "-" + Long.toHexString(new Random().nextInt() & 0x3fffffffL);
    }

    // ------------------------------------------------------------------ consumers

    record Delivery(long nanos, TopicPartition tp, long offset, String value, String member) {}
    record Commit(long nanos, TopicPartition tp, long next) {}
    /** A rebalance callback: ASSIGNED (at its start), REVOKE_END (after onPartitionsRevoked's
     *  commit), LOST, or CLOSED (close() returned; tps empty). */
    record Callback(long nanos, String kind, Set<TopicPartition> tps) {}

    /** One KafkaConsumer (group.protocol=consumer, or classic) in its own thread. */
    static class Member implements Runnable {
        final String name;
        final List<String> topics;
        final Properties props = new Properties();
        final List<Delivery> records = Collections.synchronizedList(new ArrayList<>());
        final List<Commit> commits = Collections.synchronizedList(new ArrayList<>());
        final List<String> errors = Collections.synchronizedList(new ArrayList<>());
        final List<Callback> callbacks = Collections.synchronizedList(new ArrayList<>());
        final boolean classic;
        volatile Set<TopicPartition> assignment = Set.of();
        volatile String memberId = "";
        volatile boolean stop;
        volatile boolean closed;
        final Thread thread;
        final long deadline = System.nanoTime() + 150_000_000_000L;

        Member(String name, String group, List<String> topics, String remoteAssignor) {
            this(name, group, topics, remoteAssignor, false, null);
        }

        /** classic: group.protocol=classic with `strategy` (partition.assignment.strategy, null:
         *  the default, RangeAssignor then CooperativeStickyAssignor), short session timers. */
        Member(String name, String group, List<String> topics, String remoteAssignor, boolean classic, String strategy) {
            this.name = name;
            this.topics = topics;
            this.classic = classic;
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, classic ? "classic" : "consumer");
            if (remoteAssignor != null) props.put(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, remoteAssignor);
            if (classic) {
                props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10000);
                props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1000);
                if (strategy != null) props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, strategy);
            }
            props.put(ConsumerConfig.CLIENT_ID_CONFIG, name + "-" + group);
            props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
            props.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
            props.put(ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
            thread = new Thread(this, "member-" + name);
            thread.setDaemon(true);
            thread.start();
        }

        public void run() {
            Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
            KafkaConsumer<String, String> c;
            try {
                c = new KafkaConsumer<>(props);
            } catch (RuntimeException e) {
                errors.add("create: " + e);
                closed = true;
                return;
            }
            try {
                c.subscribe(topics, new ConsumerRebalanceListener() {
                    public void onPartitionsRevoked(Collection<TopicPartition> tps) {
                        Map<TopicPartition, OffsetAndMetadata> mine = new HashMap<>();
                        for (TopicPartition tp : tps) if (pending.containsKey(tp)) mine.put(tp, pending.remove(tp));
                        commit(c, mine);
                        callbacks.add(new Callback(System.nanoTime(), "REVOKE_END", Set.copyOf(tps)));
                    }
                    public void onPartitionsAssigned(Collection<TopicPartition> tps) {
                        callbacks.add(new Callback(System.nanoTime(), "ASSIGNED", Set.copyOf(tps)));
                        if (!classic) seekToCommitted(c, tps);
                    }
                    public void onPartitionsLost(Collection<TopicPartition> tps) {
                        callbacks.add(new Callback(System.nanoTime(), "LOST", Set.copyOf(tps)));
                        for (TopicPartition tp : tps) pending.remove(tp);
                    }
                });
                while (!stop && System.nanoTime() < deadline) {
                    ConsumerRecords<String, String> recs;
                    try {
                        recs = c.poll(Duration.ofMillis(100));
                    } catch (RuntimeException e) {
                        errors.add("poll: " + e);
                        Thread.sleep(100);
                        continue;
                    }
                    long t = System.nanoTime();
                    for (ConsumerRecord<String, String> r : recs) {
                        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                        records.add(new Delivery(t, tp, r.offset(), r.value(), name));
                        pending.put(tp, new OffsetAndMetadata(r.offset() + 1));
                    }
                    assignment = Set.copyOf(c.assignment());
                    memberId = c.groupMetadata().memberId();
                    // Also retries a commit that failed (a member epoch bumped by a heartbeat
                    // answered while the commit was on its way is STALE_MEMBER_EPOCH to a 3.9
                    // client's commitSync), records or not.
                    commit(c, pending);
                }
                commit(c, pending);
            } catch (Throwable e) {
                errors.add("loop: " + e);
            } finally {
                try {
                    c.close(Duration.ofSeconds(10));
                } catch (RuntimeException e) {
                    errors.add("close: " + e);
                }
                callbacks.add(new Callback(System.nanoTime(), "CLOSED", Set.of()));
                closed = true;
            }
        }

        /** Positions newly assigned partitions at their committed offsets (OffsetFetch).
         *  The 3.9 AsyncKafkaConsumer (group.protocol=consumer) resets a partition assigned
         *  while an OffsetFetch for earlier ones is in flight with auto.offset.reset instead of
         *  its committed offset (KAFKA-17674, fixed in 4.0): a partition that moves to a member
         *  a moment after its first ones (released by its previous owner) is read again from
         *  the start, whatever the broker answers. Seeking here keeps what is checked (the
         *  broker's committed offsets) and takes the client bug out of the way. */
        void seekToCommitted(KafkaConsumer<String, String> c, Collection<TopicPartition> tps) {
            if (tps.isEmpty()) return;
            try {
                Map<TopicPartition, OffsetAndMetadata> committed = c.committed(new HashSet<>(tps), Duration.ofSeconds(15));
                for (TopicPartition tp : tps) {
                    OffsetAndMetadata o = committed.get(tp);
                    if (o != null) c.seek(tp, o);
                }
            } catch (RuntimeException e) {
                errors.add("committed: " + e);
            }
        }

        void commit(KafkaConsumer<String, String> c, Map<TopicPartition, OffsetAndMetadata> offs) {
            if (offs.isEmpty()) return;
            try {
                c.commitSync(offs, Duration.ofSeconds(15));
                long t = System.nanoTime();
                for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offs.entrySet())
                    commits.add(new Commit(t, e.getKey(), e.getValue().offset()));
                offs.clear();
            } catch (RuntimeException e) {
                errors.add("commit: " + e);   // kept: retried after the next poll
            }
        }

        Set<Integer> parts() {
            Set<Integer> out = new TreeSet<>();
            for (TopicPartition tp : assignment) out.add(tp.partition());
            return out;
        }

        Set<String> values() {
            Set<String> out = new HashSet<>();
            synchronized (records) { for (Delivery d : records) out.add(d.tp().topic() + "/" + d.value()); }
            return out;
        }

        boolean close(double seconds) throws InterruptedException {
            stop = true;
            thread.join((long) (seconds * 1000));
            return closed;
        }

        String describe() {
            List<String> errs;
            synchronized (errors) { errs = new ArrayList<>(errors.subList(Math.max(0, errors.size() - 3), errors.size())); }
            return name + ": assignment=" + new TreeSet<>(assignment.stream().map(TopicPartition::toString).toList())
                + " records=" + records.size() + " commits=" + commits.size() + " errors=" + errs;
        }
    }

    static String asg(List<Member> ms) {
        StringBuilder sb = new StringBuilder();
        for (Member m : ms) sb.append(m.name).append('=').append(new TreeSet<>(m.assignment.stream().map(TopicPartition::toString).toList())).append(' ');
        return sb.toString().trim();
    }

    /** Disjoint assignments covering every partition of `all`, with these sizes (any order). */
    static boolean split(List<Member> ms, Set<TopicPartition> all, int... sizes) {
        Set<TopicPartition> union = new HashSet<>();
        int total = 0;
        List<Integer> got = new ArrayList<>();
        for (Member m : ms) {
            Set<TopicPartition> a = m.assignment;
            union.addAll(a);
            total += a.size();
            got.add(a.size());
        }
        List<Integer> want = new ArrayList<>();
        for (int s : sizes) want.add(s);
        Collections.sort(got);
        Collections.sort(want);
        return total == union.size() && union.equals(all) && got.equals(want);
    }

    /** Union of every member's deliveries: (missing, delivered twice although committed before). */
    static String[] lossAndBadRedeliveries(List<Member> ms, Set<String> expected) {
        Set<String> seen = new HashSet<>();
        Map<TopicPartition, List<Commit>> commits = new HashMap<>();
        Map<String, List<Delivery>> byOffset = new HashMap<>();
        for (Member m : ms) {
            seen.addAll(m.values());
            synchronized (m.commits) { for (Commit c : m.commits) commits.computeIfAbsent(c.tp(), k -> new ArrayList<>()).add(c); }
            synchronized (m.records) {
                for (Delivery d : m.records) byOffset.computeIfAbsent(d.tp() + "@" + d.offset(), k -> new ArrayList<>()).add(d);
            }
        }
        List<String> missing = new ArrayList<>();
        for (String e : expected) if (!seen.contains(e)) missing.add(e);
        int dups = 0;
        List<String> bad = new ArrayList<>();
        for (List<Delivery> ds : byOffset.values()) {
            if (ds.size() < 2) continue;
            ds.sort(Comparator.comparingLong(Delivery::nanos));
            for (Delivery d : ds.subList(1, ds.size())) {
                dups++;
                long maxBefore = -1;
                for (Commit c : commits.getOrDefault(d.tp(), List.of())) if (c.nanos() < d.nanos()) maxBefore = Math.max(maxBefore, c.next());
                if (maxBefore > d.offset())
                    bad.add(d.tp() + "@" + d.offset() + " to " + d.member() + " (first to " + ds.get(0).member() + "), committed " + maxBefore + " before");
            }
        }
        Collections.sort(missing);
        return new String[] {
            missing.isEmpty() ? "" : missing.size() + " missing, first " + missing.subList(0, Math.min(8, missing.size())),
            bad.isEmpty() ? "" : bad.size() + " re-deliveries of committed records: " + bad.subList(0, Math.min(5, bad.size())),
            String.valueOf(dups),
        };
    }

    /** Moments a partition was held by two consumers at once, by their callbacks: a consumer
     *  holds a partition from onPartitionsAssigned until its onPartitionsRevoked returned,
     *  onPartitionsLost, or close() returned (still running: until now). */
    static List<String> overlaps(List<Member> ms) {
        record Held(long from, long to, String who) {}
        Map<TopicPartition, List<Held>> byTp = new HashMap<>();
        long now = System.nanoTime();
        for (Member m : ms) {
            Map<TopicPartition, Long> open = new HashMap<>();
            List<Callback> cbs;
            synchronized (m.callbacks) { cbs = new ArrayList<>(m.callbacks); }
            for (Callback cb : cbs) {
                switch (cb.kind()) {
                    case "ASSIGNED" -> { for (TopicPartition tp : cb.tps()) open.putIfAbsent(tp, cb.nanos()); }
                    case "REVOKE_END", "LOST" -> {
                        for (TopicPartition tp : cb.tps()) {
                            Long from = open.remove(tp);
                            if (from != null) byTp.computeIfAbsent(tp, k -> new ArrayList<>()).add(new Held(from, cb.nanos(), m.name));
                        }
                    }
                    default -> {
                        for (var e : open.entrySet()) byTp.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(new Held(e.getValue(), cb.nanos(), m.name));
                        open.clear();
                    }
                }
            }
            for (var e : open.entrySet()) byTp.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(new Held(e.getValue(), now, m.name));
        }
        List<String> bad = new ArrayList<>();
        for (var e : byTp.entrySet()) {
            List<Held> hs = e.getValue();
            hs.sort(Comparator.comparingLong(Held::from));
            for (int i = 0; i < hs.size(); i++)
                for (int j = i + 1; j < hs.size(); j++) {
                    Held a = hs.get(i), b = hs.get(j);
                    if (!a.who().equals(b.who()) && b.from() < a.to())
                        bad.add(e.getKey() + ": " + b.who() + String.format(" from %.3fs while %s held it %.3fs-%.3fs",
                            (b.from() - T0) / 1e9, a.who(), (a.from() - T0) / 1e9, (a.to() - T0) / 1e9));
                }
        }
        return bad;
    }

    static List<String> lostCallbacks(List<Member> ms) {
        List<String> out = new ArrayList<>();
        for (Member m : ms) synchronized (m.callbacks) {
            for (Callback cb : m.callbacks) if (cb.kind().equals("LOST")) out.add(m.name + " lost " + cb.tps());
        }
        return out;
    }

    // ------------------------------------------------------------------ helpers

    /** A producer thread: values "start".. at `rate` records/s, partition = seq % parts, until
     *  stop(), which returns the acknowledged "topic/value" keys. */
    static class BackgroundProducer implements Runnable {
        final String topic;
        final int parts, rate;
        int seq;
        final Set<String> acked = ConcurrentHashMap.newKeySet();
        final List<String> errors = Collections.synchronizedList(new ArrayList<>());
        volatile boolean stop;
        final KafkaProducer<String, String> pr;
        final Thread thread;

        BackgroundProducer(String topic, int parts, int start, int rate) {
            this.topic = topic;
            this.parts = parts;
            this.seq = start;
            this.rate = rate;
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
            pr = new KafkaProducer<>(p);
            thread = new Thread(this, "producer-" + topic);
            thread.setDaemon(true);
            thread.start();
        }

        public void run() {
            long t0 = System.nanoTime();
            int n = 0;
            while (!stop) {
                long due = (System.nanoTime() - t0) * rate / 1_000_000_000L;
                while (n < due) {
                    String v = String.valueOf(seq++);
                    n++;
                    pr.send(new ProducerRecord<>(topic, Integer.parseInt(v) % parts, null, v), (md, e) -> {
                        if (e == null) acked.add(topic + "/" + v); else errors.add(e.toString());
                    });
                }
                try { Thread.sleep(10); } catch (InterruptedException e) { return; }
            }
        }

        Set<String> stop() throws InterruptedException {
            stop = true;
            thread.join(10000);
            pr.flush();
            pr.close(Duration.ofSeconds(30));
            if (!errors.isEmpty()) throw new IllegalStateException("background producer: " + errors.subList(0, Math.min(3, errors.size())));
            return new HashSet<>(acked);
        }
    }

    static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        return Admin.create(p);
    }

    static void createTopic(Admin a, String name, int parts) throws Exception {
        a.createTopics(List.of(new NewTopic(name, parts, (short) 1))).all().get(30, TimeUnit.SECONDS);
        long end = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < end) {
            try {
                var d = a.describeTopics(List.of(name)).allTopicNames().get(10, TimeUnit.SECONDS).get(name);
                if (d.partitions().size() == parts) return;
            } catch (ExecutionException ignored) {
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("topic " + name + " not visible");
    }

    /** Values "start".."start+n-1", partition = seq % parts; returns "topic/value" keys. */
    static Set<String> produce(String topic, int parts, int start, int n) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        Set<String> out = new HashSet<>();
        try (KafkaProducer<String, String> pr = new KafkaProducer<>(p)) {
            List<Future<?>> fs = new ArrayList<>();
            for (int s = start; s < start + n; s++) {
                fs.add(pr.send(new ProducerRecord<>(topic, s % parts, null, String.valueOf(s))));
                out.add(topic + "/" + s);
            }
            for (Future<?> f : fs) f.get(60, TimeUnit.SECONDS);
        }
        return out;
    }

    static Map<TopicPartition, Long> committed(Admin a, String group) throws Exception {
        Map<TopicPartition, Long> out = new HashMap<>();
        var m = a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(15, TimeUnit.SECONDS);
        for (var e : m.entrySet()) if (e.getValue() != null) out.put(e.getKey(), e.getValue().offset());
        return out;
    }

    static Set<TopicPartition> tps(String topic, int parts) {
        Set<TopicPartition> s = new HashSet<>();
        for (int i = 0; i < parts; i++) s.add(new TopicPartition(topic, i));
        return s;
    }

    static void closeAll(List<Member> ms) throws InterruptedException {
        for (Member m : ms) m.stop = true;
        for (Member m : ms) m.close(20);
    }

    // ------------------------------------------------------------------ scenarios

    static String shareGroup;
    static List<Member> shareMembers = new ArrayList<>();

    static void share(Admin a) throws Exception {
        String topic = uniq("j848-share");
        shareGroup = uniq("j848-share");
        createTopic(a, topic, 4);
        Set<String> exp = produce(topic, 4, 0, 2000);
        Set<TopicPartition> all = tps(topic, 4);
        Member m1 = new Member("J1", shareGroup, List.of(topic), null);
        Member m2 = new Member("J2", shareGroup, List.of(topic), null);
        List<Member> two = List.of(m1, m2);
        shareMembers.addAll(two);
        boolean ok = waitUntil(() -> split(two, all, 2, 2), 45);
        check("two consumer-protocol KafkaConsumers split a 4-partition topic 2+2 (disjoint, all 4)", ok,
            "after 45s: " + asg(two) + " | " + m1.describe() + " | " + m2.describe(), asg(two));
        boolean all1 = waitUntil(() -> { Set<String> s = new HashSet<>(m1.values()); s.addAll(m2.values()); return s.containsAll(exp); }, 60);
        Map<TopicPartition, Long> want = new HashMap<>();
        for (TopicPartition tp : all) want.put(tp, 500L);
        boolean comm = waitUntil(() -> { try { return committed(a, shareGroup).equals(want); } catch (Exception e) { return false; } }, 20);
        Map<TopicPartition, Long> got = committed(a, shareGroup);
        String[] r = lossAndBadRedeliveries(two, exp);
        check("two consumers consume all 2000 records and commit them (committed = end offsets), none re-delivered after its commit",
            all1 && comm && r[0].isEmpty() && r[1].isEmpty(),
            r[0] + "; " + r[1] + "; committed " + got + " | " + m1.describe() + " | " + m2.describe(),
            "2000 records, " + r[2] + " re-deliveries of uncommitted records, committed 500 per partition");

        Member m3 = new Member("J3", shareGroup, List.of(topic), null);
        shareMembers.add(m3);
        List<Member> three = List.of(m1, m2, m3);
        ok = waitUntil(() -> split(three, all, 2, 1, 1), 45);
        Set<String> exp2 = new HashSet<>(exp);
        exp2.addAll(produce(topic, 4, 2000, 400));
        boolean all2 = waitUntil(() -> { Set<String> s = new HashSet<>(); for (Member m : three) s.addAll(m.values()); return s.containsAll(exp2); }, 40);
        Thread.sleep(1000);
        r = lossAndBadRedeliveries(three, exp2);
        check("a third KafkaConsumer joins: 2+1+1, the 400 new records consumed, none re-delivered after its commit",
            ok && all2 && r[0].isEmpty() && r[1].isEmpty(),
            "split " + ok + ": " + asg(three) + "; " + r[0] + "; " + r[1] + " | " + m1.describe() + " | " + m2.describe() + " | " + m3.describe(),
            asg(three) + ", " + r[2] + " re-deliveries of uncommitted records");
    }

    static String rangeGroup;
    static List<Member> rangeMembers = new ArrayList<>();

    static void range(Admin a) throws Exception {
        String ta = uniq("j848-ra"), tb = uniq("j848-rb");
        rangeGroup = uniq("j848-range");
        createTopic(a, ta, 3);
        createTopic(a, tb, 3);
        Set<String> exp = produce(ta, 3, 0, 300);
        exp.addAll(produce(tb, 3, 0, 300));
        Set<TopicPartition> all = tps(ta, 3);
        all.addAll(tps(tb, 3));
        for (int i = 1; i <= 3; i++) rangeMembers.add(new Member("R" + i, rangeGroup, List.of(ta, tb), "range"));
        List<Member> ms = rangeMembers;
        BooleanSupplier coPartitioned = () -> {
            if (!split(ms, all, 2, 2, 2)) return false;
            for (Member m : ms) {
                Set<Integer> pa = new HashSet<>(), pb = new HashSet<>();
                for (TopicPartition tp : m.assignment) (tp.topic().equals(ta) ? pa : pb).add(tp.partition());
                if (pa.size() != 1 || !pa.equals(pb)) return false;
            }
            return true;
        };
        boolean ok = waitUntil(coPartitioned, 45);
        check("group.remote.assignor=range: 3 consumers on two 3-partition topics each get partition k of both topics", ok,
            "after 45s: " + asg(ms), asg(ms));
        boolean allIn = waitUntil(() -> { Set<String> s = new HashSet<>(); for (Member m : ms) s.addAll(m.values()); return s.containsAll(exp); }, 40);
        String[] r = lossAndBadRedeliveries(ms, exp);
        check("range: every record of both topics consumed by the 3 consumers, none re-delivered after its commit",
            allIn && r[0].isEmpty() && r[1].isEmpty(), r[0] + "; " + r[1] + " | " + asg(ms),
            "600 records, " + r[2] + " re-deliveries of uncommitted records");
    }

    static void adminChecks(Admin a) throws Exception {
        // describe: wait (bounded) for STABLE, the state once every member has reconciled
        ConsumerGroupDescription[] d = new ConsumerGroupDescription[1];
        String[] err = {""};
        boolean stable = waitUntil(() -> {
            try {
                d[0] = a.describeConsumerGroups(List.of(rangeGroup)).all().get(15, TimeUnit.SECONDS).get(rangeGroup);
                return d[0].state() == ConsumerGroupState.STABLE;
            } catch (Exception e) {
                err[0] = e.toString();
                return false;
            }
        }, 20);
        List<String> probs = new ArrayList<>();
        if (d[0] == null) {
            fail("admin describeConsumerGroups on a consumer-protocol group", "no description: " + err[0]);
        } else {
            ConsumerGroupDescription g = d[0];
            if (!stable) probs.add("state " + g.state() + " (not STABLE after 20s)");
            if (g.type() != GroupType.CONSUMER) probs.add("type " + g.type());
            if (!"range".equals(g.partitionAssignor())) probs.add("partitionAssignor " + g.partitionAssignor());
            if (g.isSimpleConsumerGroup()) probs.add("isSimpleConsumerGroup true");
            if (g.coordinator() == null) probs.add("no coordinator");
            Map<String, Member> byId = new HashMap<>();
            for (Member m : rangeMembers) byId.put(m.memberId, m);
            if (g.members().size() != 3) probs.add(g.members().size() + " members");
            for (MemberDescription md : g.members()) {
                Member m = byId.get(md.consumerId());
                if (m == null) { probs.add("unknown member id " + md.consumerId() + " (consumers: " + byId.keySet() + ")"); continue; }
                Set<TopicPartition> as = md.assignment().topicPartitions();
                if (!as.equals(m.assignment)) probs.add(m.name + " described with " + as + ", consumer has " + m.assignment);
                if (md.targetAssignment().isEmpty() || !md.targetAssignment().get().topicPartitions().equals(as))
                    probs.add(m.name + " targetAssignment " + md.targetAssignment().map(x -> x.topicPartitions().toString()).orElse("absent"));
                if (!md.clientId().equals(m.props.get(ConsumerConfig.CLIENT_ID_CONFIG))) probs.add(m.name + " clientId " + md.clientId());
                if (md.host() == null || md.host().isEmpty()) probs.add(m.name + " no host");
            }
            check("admin describeConsumerGroups on a consumer-protocol group: STABLE, type CONSUMER, assignor range, each member with its assignment",
                probs.isEmpty(), String.join("; ", probs) + " | " + g, g.members().size() + " members, state " + g.state() + ", type " + g.type() + ", assignor " + g.partitionAssignor());
        }
        try {
            ConsumerGroupDescription u = a.describeConsumerGroups(List.of(shareGroup)).all().get(15, TimeUnit.SECONDS).get(shareGroup);
            check("admin describeConsumerGroups: the group without group.remote.assignor uses the broker default assignor uniform, 3 members",
                "uniform".equals(u.partitionAssignor()) && u.members().size() == 3 && u.type() == GroupType.CONSUMER,
                u.toString(), "assignor " + u.partitionAssignor() + ", " + u.members().size() + " members");
        } catch (Exception e) {
            fail("admin describeConsumerGroups (uniform group)", e.toString());
        }

        // list: every group, then with the type filter (ListGroups v5 TypesFilter)
        try {
            Map<String, ConsumerGroupListing> l = new HashMap<>();
            for (ConsumerGroupListing x : a.listConsumerGroups().all().get(15, TimeUnit.SECONDS)) l.put(x.groupId(), x);
            Set<String> consumerType = new HashSet<>(), classicType = new HashSet<>();
            for (ConsumerGroupListing x : a.listConsumerGroups(new ListConsumerGroupsOptions().withTypes(Set.of(GroupType.CONSUMER))).all().get(15, TimeUnit.SECONDS))
                consumerType.add(x.groupId());
            for (ConsumerGroupListing x : a.listConsumerGroups(new ListConsumerGroupsOptions().withTypes(Set.of(GroupType.CLASSIC))).all().get(15, TimeUnit.SECONDS))
                classicType.add(x.groupId());
            probs.clear();
            for (String g : List.of(shareGroup, rangeGroup)) {
                ConsumerGroupListing x = l.get(g);
                if (x == null) { probs.add(g + " not listed"); continue; }
                if (!x.type().equals(Optional.of(GroupType.CONSUMER))) probs.add(g + " type " + x.type());
                if (!x.state().equals(Optional.of(ConsumerGroupState.STABLE))) probs.add(g + " state " + x.state());
                if (!consumerType.contains(g)) probs.add(g + " missing with withTypes(CONSUMER)");
                if (classicType.contains(g)) probs.add(g + " listed with withTypes(CLASSIC)");
            }
            check("admin listConsumerGroups shows the consumer-protocol groups with type CONSUMER (and the type filter works)",
                probs.isEmpty(), String.join("; ", probs) + " | " + l.get(shareGroup) + " " + l.get(rangeGroup),
                l.get(rangeGroup).toString());
        } catch (Exception e) {
            fail("admin listConsumerGroups", e.toString());
        }
    }

    static void afterClose(Admin a) throws Exception {
        ConsumerGroupDescription[] d = new ConsumerGroupDescription[1];
        boolean empty = waitUntil(() -> {
            try {
                d[0] = a.describeConsumerGroups(List.of(rangeGroup)).all().get(15, TimeUnit.SECONDS).get(rangeGroup);
                return d[0].state() == ConsumerGroupState.EMPTY && d[0].members().isEmpty();
            } catch (Exception e) {
                return false;
            }
        }, 20);
        Map<TopicPartition, Long> c = committed(a, rangeGroup);
        boolean offs = c.size() == 6 && c.values().stream().allMatch(v -> v == 100L);
        check("after its consumers close, the range group is EMPTY with no members and keeps its offsets (100 per partition)",
            empty && offs, d[0] + " committed " + c, "state " + (d[0] == null ? null : d[0].state()) + ", committed " + c.size() + " partitions at 100");
    }

    /** Describes `group` until its members are exactly `want` (by member id) with the
     *  assignments the consumers have, type CONSUMER (bounded): the problems left, if any. */
    static List<String> describedAs(Admin a, String group, List<Member> want, double seconds) throws InterruptedException {
        List<String> probs = new ArrayList<>();
        waitUntil(() -> {
            probs.clear();
            try {
                ConsumerGroupDescription g = a.describeConsumerGroups(List.of(group)).all().get(15, TimeUnit.SECONDS).get(group);
                if (g.type() != GroupType.CONSUMER) probs.add("type " + g.type());
                Map<String, Member> byId = new HashMap<>();
                for (Member m : want) byId.put(m.memberId, m);
                Set<String> got = new TreeSet<>();
                for (MemberDescription md : g.members()) {
                    got.add(md.consumerId());
                    Member m = byId.get(md.consumerId());
                    if (m == null) continue;
                    if (!md.assignment().topicPartitions().equals(m.assignment))
                        probs.add(m.name + " described with " + md.assignment().topicPartitions() + ", consumer has " + m.assignment);
                }
                if (!got.equals(new TreeSet<>(byId.keySet()))) probs.add("members " + got + ", consumers " + byId.keySet());
            } catch (Exception e) {
                probs.add(e.toString());
            }
            return probs.isEmpty();
        }, seconds);
        return probs;
    }

    /** Waits (bounded) until no consumer saw a rebalance callback for 1.5 s, then watches 3 s:
     *  "" if none saw one meanwhile and each consumed records, else what went wrong. */
    static String settleAndWatch(List<Member> ms) throws InterruptedException {
        java.util.function.LongSupplier last = () -> {
            long t = 0;
            for (Member m : ms) synchronized (m.callbacks) { for (Callback cb : m.callbacks) if (!cb.kind().equals("CLOSED")) t = Math.max(t, cb.nanos()); }
            return t;
        };
        boolean settled = waitUntil(() -> System.nanoTime() - last.getAsLong() > 1_500_000_000L, 15);
        long t0 = System.nanoTime();
        Map<String, Integer> n0 = new HashMap<>();
        for (Member m : ms) n0.put(m.name, m.records.size());
        Thread.sleep(3000);
        List<String> probs = new ArrayList<>();
        if (!settled) probs.add("still rebalancing after 15s");
        for (Member m : ms) {
            synchronized (m.callbacks) { for (Callback cb : m.callbacks) if (cb.nanos() >= t0) probs.add(m.name + " " + cb.kind() + " " + cb.tps()); }
            if (m.records.size() == n0.get(m.name)) probs.add(m.name + " consumed nothing in 3s");
        }
        return String.join("; ", probs);
    }

    static String names(List<Member> ms) {
        StringBuilder sb = new StringBuilder();
        for (Member m : ms) sb.append(m.name).append(m.classic ? "(classic)" : "(consumer)").append(' ');
        return sb.toString().trim();
    }

    /** Rolling upgrade of a classic group while it consumes (see the class comment). */
    static void upgrade(Admin a, String strategy) throws Exception {
        String tag = strategy == null ? "range" : "coop";
        String label = "online upgrade (" + (strategy == null ? "default assignors, eager range" : "CooperativeStickyAssignor") + ")";
        String topic = uniq("j848-up" + tag);
        String group = uniq("j848-up" + tag);
        createTopic(a, topic, 6);
        Set<String> exp = produce(topic, 6, 0, 600);
        Set<TopicPartition> all = tps(topic, 6);
        List<Member> everyone = new ArrayList<>();
        BackgroundProducer bg = null;
        try {
            Member c1 = new Member("U" + tag + "C1", group, List.of(topic), null, true, strategy);
            Member c2 = new Member("U" + tag + "C2", group, List.of(topic), null, true, strategy);
            everyone.addAll(List.of(c1, c2));
            List<Member> two = List.of(c1, c2);
            if (!waitUntil(() -> split(two, all, 3, 3), 45))
                throw new IllegalStateException("2 classic consumers never split 3+3: " + asg(two) + " | " + c1.describe() + " | " + c2.describe());
            bg = new BackgroundProducer(topic, 6, 100_000, 100);
            waitUntil(() -> c1.records.size() + c2.records.size() >= 600, 20);
            Member n1 = new Member("U" + tag + "N1", group, List.of(topic), null);
            everyone.add(n1);
            List<Member> three = List.of(c1, c2, n1);
            long t0 = System.nanoTime();
            boolean ok = waitUntil(() -> split(three, all, 2, 2, 2), 45);
            double tUp = (System.nanoTime() - t0) / 1e9;
            List<String> probs = describedAs(a, group, three, 15);
            check(label + ": a consumer-protocol KafkaConsumer joins 2 classic ones: 2+2+2; describeConsumerGroups: type CONSUMER, "
                    + "members " + names(three) + " with their assignments",
                ok && probs.isEmpty(), "split " + ok + ": " + asg(three) + "; " + probs + " | " + c1.describe() + " | " + c2.describe() + " | " + n1.describe(),
                asg(three) + String.format(" after %.1fs", tUp));
            String unsteady = settleAndWatch(three);
            check(label + ": the mixed group (2 classic + 1 consumer-protocol consumer) is steady: no rebalance callbacks for 3 s once settled, every consumer consuming",
                unsteady.isEmpty(), unsteady + " | " + c1.describe() + " | " + c2.describe() + " | " + n1.describe(), "settled, then no callbacks for 3s");
            // rolling upgrade: each classic consumer in turn is replaced by a consumer-protocol one
            c1.close(20);
            Member n2 = new Member("U" + tag + "N2", group, List.of(topic), null);
            everyone.add(n2);
            List<Member> roll = List.of(c2, n1, n2);
            t0 = System.nanoTime();
            ok = waitUntil(() -> split(roll, all, 2, 2, 2), 45);
            double tRoll = (System.nanoTime() - t0) / 1e9;
            probs = describedAs(a, group, roll, 15);
            check(label + ": a classic KafkaConsumer closes and is replaced by a consumer-protocol one: 2+2+2; described: type "
                    + "CONSUMER, members " + names(roll),
                ok && probs.isEmpty() && c1.closed, "split " + ok + ": " + asg(roll) + "; " + probs + "; C1 closed " + c1.closed
                    + " | " + c2.describe() + " | " + n1.describe() + " | " + n2.describe(),
                asg(roll) + String.format(" after %.1fs", tRoll));
            waitUntil(() -> n2.records.size() > 10, 10);
            c2.close(20);
            Member n3 = new Member("U" + tag + "N3", group, List.of(topic), null);
            everyone.add(n3);
            List<Member> fin = List.of(n1, n2, n3);
            t0 = System.nanoTime();
            ok = waitUntil(() -> split(fin, all, 2, 2, 2), 45);
            tRoll = (System.nanoTime() - t0) / 1e9;
            probs = describedAs(a, group, fin, 15);
            check(label + ": the last classic KafkaConsumer closes and is replaced: 3 consumer-protocol consumers 2+2+2, described as such",
                ok && probs.isEmpty() && c2.closed, "split " + ok + ": " + asg(fin) + "; " + probs + " | " + n1.describe() + " | " + n2.describe() + " | " + n3.describe(),
                asg(fin) + String.format(" after %.1fs", tRoll));
            waitUntil(() -> n3.records.size() > 10, 10);
            Thread.sleep(1000);
            exp.addAll(bg.stop());
            bg = null;
            boolean allIn = waitUntil(() -> lossAndBadRedeliveries(everyone, exp)[0].isEmpty(), 40);
            Thread.sleep(1000);
            closeAll(fin);
            String[] r = lossAndBadRedeliveries(everyone, exp);
            List<String> errs = new ArrayList<>();
            for (Member m : everyone) synchronized (m.errors) { for (String e : m.errors) errs.add(m.name + ": " + e); }
            check(label + ": all " + exp.size() + " records consumed across the upgrade, none re-delivered after its commit",
                allIn && r[0].isEmpty() && r[1].isEmpty(),
                r[0] + "; " + r[1] + "; errors " + errs + " | " + c1.describe() + " | " + c2.describe() + " | " + n1.describe() + " | " + n2.describe() + " | " + n3.describe(),
                exp.size() + " produced, " + r[2] + " re-deliveries of uncommitted records" + (errs.isEmpty() ? "" : "; client errors " + errs.subList(0, Math.min(3, errs.size()))));
            List<String> ov = overlaps(everyone);
            List<String> lost = lostCallbacks(everyone);
            check(label + ": no partition held by two consumers at once (assigned after the previous holder's onPartitionsRevoked "
                    + "returned), none lost", ov.isEmpty() && lost.isEmpty(),
                ov.size() + " overlaps: " + ov.subList(0, Math.min(4, ov.size())) + "; " + lost, "callbacks of " + everyone.size() + " consumers");
        } finally {
            if (bg != null) bg.stop = true;
            closeAll(everyone);
        }
    }

    public static void main(String[] args) throws Exception {
        bootstrap = args[0];
        Set<String> scen = new HashSet<>(Arrays.asList(args).subList(1, args.length));
        if (scen.isEmpty()) scen.add("base");
        try (Admin a = admin()) {
            // the upgrade runs beside the base checks (its own groups and topics)
            List<Thread> ups = new ArrayList<>();
            if (scen.contains("upgrade")) {
                for (String strategy : new String[] {null, CooperativeStickyAssignor.class.getName()}) {
                    String label = strategy == null ? "default assignors" : "CooperativeStickyAssignor";
                    Thread t = new Thread(() -> {
                        try { upgrade(a, strategy); } catch (Throwable e) { fail("online upgrade (" + label + ") scenario", e.toString()); }
                    }, "upgrade-" + label);
                    t.setDaemon(true);
                    t.start();
                    ups.add(t);
                }
            }
            if (scen.contains("base")) {
                try { share(a); } catch (Throwable t) { fail("share scenario", t.toString()); }
                try { range(a); } catch (Throwable t) { fail("range scenario", t.toString()); }
                try { adminChecks(a); } catch (Throwable t) { fail("admin checks", t.toString()); }
                List<Member> all = new ArrayList<>(shareMembers);
                all.addAll(rangeMembers);
                closeAll(all);
                for (Member m : all) if (!m.closed) fail("consumer " + m.name + " closes within 20s", m.describe());
                try { afterClose(a); } catch (Throwable t) { fail("after close", t.toString()); }
            }
            for (Thread t : ups) {
                t.join(170_000);
                if (t.isAlive()) fail("online upgrade", t.getName() + " did not finish within 170s");
            }
        }
        System.out.println("groups848 java: " + passed + " passed, " + failed + " failed");
        System.out.flush();
        System.exit(failed > 0 || passed == 0 ? 1 : 0);
    }
}
