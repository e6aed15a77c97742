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

    /** One consumer-protocol KafkaConsumer in its own thread. */
    static class Member implements Runnable {
        final String name;
        final List<String> topics;
        final Properties props = new Properties();
        final List<Delivery> records = Collections.synchronizedList(new ArrayList<>());
        final List<Commit> commits = Collections.synchronizedList(new ArrayList<>());
        final List<String> errors = Collections.synchronizedList(new ArrayList<>());
        volatile Set<TopicPartition> assignment = Set.of();
        volatile String memberId = "";
        volatile boolean stop;
        volatile boolean closed;
        final Thread thread;
        final long deadline = System.nanoTime() + 150_000_000_000L;

        Member(String name, String group, List<String> topics, String remoteAssignor) {
            this.name = name;
            this.topics = topics;
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
            if (remoteAssignor != null) props.put(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, remoteAssignor);
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
                    }
                    public void onPartitionsAssigned(Collection<TopicPartition> tps) {}
                    public void onPartitionsLost(Collection<TopicPartition> tps) {
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
                    if (!recs.isEmpty()) commit(c, pending);
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
                closed = true;
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

    // ------------------------------------------------------------------ helpers

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

    public static void main(String[] args) throws Exception {
        bootstrap = args[0];
        try (Admin a = admin()) {
            try { share(a); } catch (Throwable t) { fail("share scenario", t.toString()); }
            try { range(a); } catch (Throwable t) { fail("range scenario", t.toString()); }
            try { adminChecks(a); } catch (Throwable t) { fail("admin checks", t.toString()); }
            List<Member> all = new ArrayList<>(shareMembers);
            all.addAll(rangeMembers);
            closeAll(all);
            for (Member m : all) if (!m.closed) fail("consumer " + m.name + " closes within 20s", m.describe());
            try { afterClose(a); } catch (Throwable t) { fail("after close", t.toString()); }
        }
        System.out.println("groups848 java: " + passed + " passed, " + failed + " failed");
        System.out.flush();
        System.exit(failed > 0 || passed == 0 ? 1 : 0);
    }
}
