import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.*;

/**
 * Rebalance "stop the world" pause benchmark (Apache kafka-clients 3.9.1), driven by
 * scripts/bench-rebalance.
 *
 * One run: a fresh topic (PARTITIONS partitions) and a fresh group of MEMBERS consumers
 * (one thread and one KafkaConsumer each, all in this JVM), a producer thread sending RATE
 * records/s round-robin over the partitions (value = send time in ms).  Once every member
 * has received records for WARMUP s, member #MEMBERS-1 restarts: close(), then at once a
 * new KafkaConsumer with the same configuration (same group.instance.id when static) on
 * the same thread.  The run goes on for POST s after the close started.
 *
 * For the OTHER members it measures, inside [close start, close start + POST s]:
 *   maxGap   the longest time without a record (a gap that began before the close counts
 *            whole), per member
 *   stalled  the sum of the gaps longer than STALL_MS, per member
 *   pause    the longest time in which NONE of the other members received a record
 *   rebalanceGap  the gap that contains one of their rebalance callbacks (the pause the
 *            rebalance itself caused; 0 when they see no rebalance), worst member
 *   maxLat   the largest produce->receive latency of their records
 *   and, as a noise floor, their largest gap in the WARMUP s before the close.
 * For the restarted member: close() duration and the time from the close start to the
 * new consumer's first record.
 *
 * Consumer settings are the client defaults (session.timeout.ms 45000,
 * heartbeat.interval.ms 3000, enable.auto.commit true, max.poll.interval.ms 300000)
 * except partition.assignment.strategy, group.instance.id (static) and
 * auto.offset.reset=latest.
 *
 * usage: java RebalanceBench BOOTSTRAP MODE REPS [PARTITIONS RATE MEMBERS WARMUP_S POST_S RESTART_DELAY_MS]
 *   RESTART_DELAY_MS (default 0): time between close() returning and the new consumer
 *   (a process restart takes seconds; 0 = "close + new consumer" at once)
 *   MODE: eager | cooperative | static | consumer (group.protocol=consumer, KIP-848)
 * Prints one "RESULT {json}" line per run.
 */
public class RebalanceBench {
    static final long STALL_MS = 250;
    static String bootstrap;
    static long restartDelayMs;

    static long nowNs() { return System.nanoTime(); }
    static double ms(long ns) { return ns / 1e6; }

    static final class Receipt {
        final long tNs; final int count; final long maxLatMs;
        Receipt(long t, int c, long l) { tNs = t; count = c; maxLatMs = l; }
    }

    static final class Member implements Runnable {
        final int idx;
        final Properties props;
        final String topic;
        final List<Receipt> receipts = Collections.synchronizedList(new ArrayList<>());
        final List<String> events = Collections.synchronizedList(new ArrayList<>());
        final List<Long> callbackNs = Collections.synchronizedList(new ArrayList<>());
        volatile boolean stop;
        volatile boolean restart;
        volatile long closeStartNs, closeEndNs, newFirstAssignNs, newFirstRecordNs;
        volatile boolean restarted;
        final long t0;
        Throwable error;

        Member(int idx, Properties props, String topic, long t0) {
            this.idx = idx; this.props = props; this.topic = topic; this.t0 = t0;
        }

        KafkaConsumer<byte[], byte[]> open(boolean second) {
            KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props);
            c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                public void onPartitionsRevoked(Collection<TopicPartition> p) {
                    if (!p.isEmpty()) { callbackNs.add(nowNs()); events.add(String.format("%.0f REVOKED %s", ms(nowNs() - t0), parts(p))); }
                }
                public void onPartitionsAssigned(Collection<TopicPartition> p) {
                    { callbackNs.add(nowNs()); events.add(String.format("%.0f ASSIGNED %s", ms(nowNs() - t0), parts(p))); }
                    if (second && newFirstAssignNs == 0) newFirstAssignNs = nowNs();
                }
                public void onPartitionsLost(Collection<TopicPartition> p) {
                    { callbackNs.add(nowNs()); events.add(String.format("%.0f LOST %s", ms(nowNs() - t0), parts(p))); }
                }
            });
            return c;
        }

        public void run() {
            KafkaConsumer<byte[], byte[]> c = open(false);
            try {
                while (!stop) {
                    if (restart && !restarted) {
                        restarted = true;
                        closeStartNs = nowNs();
                        events.add(String.format("%.0f CLOSE", ms(closeStartNs - t0)));
                        c.close(Duration.ofSeconds(30));
                        closeEndNs = nowNs();
                        if (restartDelayMs > 0) Thread.sleep(restartDelayMs);
                        c = open(true);
                    }
                    ConsumerRecords<byte[], byte[]> recs = c.poll(Duration.ofMillis(100));
                    if (recs.isEmpty()) continue;
                    long t = nowNs();
                    long wall = System.currentTimeMillis();
                    long maxLat = 0;
                    for (ConsumerRecord<byte[], byte[]> r : recs) {
                        long sent = Long.parseLong(new String(r.value()));
                        maxLat = Math.max(maxLat, wall - sent);
                    }
                    receipts.add(new Receipt(t, recs.count(), maxLat));
                    if (restarted && newFirstRecordNs == 0) newFirstRecordNs = t;
                }
            } catch (Throwable e) {
                error = e;
                events.add("ERROR " + e);
            } finally {
                try { c.close(Duration.ofSeconds(10)); } catch (Throwable ignored) { }
            }
        }
    }

    static String parts(Collection<TopicPartition> p) {
        List<Integer> l = new ArrayList<>();
        for (TopicPartition tp : p) l.add(tp.partition());
        Collections.sort(l);
        return l.toString().replace(" ", "");
    }

    /** Gaps between consecutive receipt times (ns), restricted to those that end after `from`
     *  and begin before `to`; a gap still open at `to` ends at `to`. */
    static List<long[]> gaps(List<Long> times, long from, long to) {
        List<long[]> out = new ArrayList<>();
        long prev = Long.MIN_VALUE;
        for (long t : times) {
            if (prev != Long.MIN_VALUE && t > from && prev < to) out.add(new long[]{prev, Math.min(t, to)});
            prev = t;
        }
        if (prev != Long.MIN_VALUE && prev < to) out.add(new long[]{prev, to});
        return out;
    }

    static long maxGap(List<Long> times, long from, long to) {
        long m = 0;
        for (long[] g : gaps(times, from, to)) m = Math.max(m, g[1] - g[0]);
        return m;
    }

    static long stalled(List<Long> times, long from, long to) {
        long s = 0;
        for (long[] g : gaps(times, from, to)) if (g[1] - g[0] > STALL_MS * 1_000_000L) s += g[1] - g[0];
        return s;
    }

    public static void main(String[] a) throws Exception {
        bootstrap = a[0];
        String mode = a[1];
        int reps = Integer.parseInt(a[2]);
        int partitions = a.length > 3 ? Integer.parseInt(a[3]) : 8;
        int rate = a.length > 4 ? Integer.parseInt(a[4]) : 2000;
        int members = a.length > 5 ? Integer.parseInt(a[5]) : 4;
        int warmupS = a.length > 6 ? Integer.parseInt(a[6]) : 5;
        int postS = a.length > 7 ? Integer.parseInt(a[7]) : 12;
        restartDelayMs = a.length > 8 ? Long.parseLong(a[8]) : 0;
        for (int rep = 1; rep <= reps; rep++) {
            runOnce(mode, rep, partitions, rate, members, warmupS, postS);
        }
        System.exit(0);
    }

    static void runOnce(String mode, int rep, int partitions, int rate, int members, int warmupS, int postS) throws Exception {
        String tag = mode + "-" + rep + "-" + Long.toHexString(System.nanoTime() & 0xffffff);
        String topic = "rb-" + tag;
        String group = "rb-" + tag;
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        long t0 = nowNs();

        // ---- producer
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        AtomicBoolean prodStop = new AtomicBoolean();
        AtomicLong sent = new AtomicLong(), prodErrors = new AtomicLong();
        Thread prod = new Thread(() -> {
            try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp)) {
                long start = nowNs();
                long n = 0;
                while (!prodStop.get()) {
                    long due = (nowNs() - start) * rate / 1_000_000_000L;
                    while (n < due) {
                        byte[] v = Long.toString(System.currentTimeMillis()).getBytes();
                        p.send(new ProducerRecord<>(topic, (int) (n % partitions), null, v), (md, e) -> {
                            if (e != null) prodErrors.incrementAndGet();
                        });
                        n++;
                    }
                    sent.set(n);
                    Thread.sleep(2);
                }
            } catch (InterruptedException ignored) {
            }
        }, "producer");
        prod.start();

        // ---- members
        List<Member> ms = new ArrayList<>();
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < members; i++) {
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
            cp.put(ConsumerConfig.CLIENT_ID_CONFIG, "m" + i);
            switch (mode) {
                case "eager":
                    cp.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RangeAssignor.class.getName());
                    break;
                case "cooperative":
                    cp.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
                    break;
                case "static":
                    cp.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RangeAssignor.class.getName());
                    cp.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, group + "-m" + i);
                    break;
                case "consumer":
                    // KIP-848: the broker assigns (uniform) and sets the session and heartbeat
                    // timing; the client may not set an assignment strategy.
                    cp.put("group.protocol", "consumer");
                    break;
                default: throw new IllegalArgumentException(mode);
            }
            Member m = new Member(i, cp, topic, t0);
            ms.add(m);
            Thread t = new Thread(m, "member-" + i);
            ts.add(t);
            t.start();
        }

        // ---- warm-up: every member receiving, for warmupS seconds
        long deadline = nowNs() + 60_000_000_000L;
        long allSince = 0;
        while (nowNs() < deadline) {
            long recentFrom = nowNs() - 500_000_000L;
            boolean all = true;
            for (Member m : ms) {
                synchronized (m.receipts) {
                    if (m.receipts.isEmpty() || m.receipts.get(m.receipts.size() - 1).tNs < recentFrom) all = false;
                }
            }
            if (all && allSince == 0) allSince = nowNs();
            if (!all) allSince = 0;
            if (allSince != 0 && nowNs() - allSince >= warmupS * 1_000_000_000L) break;
            Thread.sleep(50);
        }
        boolean warmed = allSince != 0;

        // ---- restart the last member
        Member r = ms.get(members - 1);
        r.restart = true;
        long tReq = nowNs();
        while (r.closeStartNs == 0 && nowNs() - tReq < 5_000_000_000L) Thread.sleep(5);
        long from = r.closeStartNs != 0 ? r.closeStartNs : tReq;
        long to = from + postS * 1_000_000_000L;
        while (nowNs() < to) Thread.sleep(50);

        prodStop.set(true);
        for (Member m : ms) m.stop = true;
        prod.join(15000);
        for (Thread t : ts) t.join(45000);

        // ---- analysis
        List<Long> all = new ArrayList<>();
        List<String> perMember = new ArrayList<>();
        double worstGap = 0, sumGap = 0, worstStall = 0, worstBase = 0, worstRebalanceGap = 0;
        long maxLat = 0;
        int rebalanceEvents = 0;
        List<Double> gapsMs = new ArrayList<>();
        for (Member m : ms) {
            if (m == r) continue;
            List<Long> times = new ArrayList<>();
            synchronized (m.receipts) {
                for (Receipt x : m.receipts) {
                    times.add(x.tNs);
                    if (x.tNs >= from && x.tNs <= to) maxLat = Math.max(maxLat, x.maxLatMs);
                }
            }
            all.addAll(times);
            double g = ms(maxGap(times, from, to));
            double st = ms(stalled(times, from, to));
            double base = ms(maxGap(times, from - warmupS * 1_000_000_000L, from));
            gapsMs.add(g);
            // the receipt gap around each rebalance callback (revoke/assign) in the window
            long rg = 0;
            synchronized (m.callbackNs) {
                for (long cbt : m.callbackNs) {
                    if (cbt < from || cbt > to) continue;
                    long before = Long.MIN_VALUE, after = to;
                    for (long t : times) { if (t <= cbt) before = t; else { after = t; break; } }
                    if (before != Long.MIN_VALUE) rg = Math.max(rg, after - before);
                }
            }
            worstRebalanceGap = Math.max(worstRebalanceGap, ms(rg));
            worstGap = Math.max(worstGap, g);
            sumGap += g;
            worstStall = Math.max(worstStall, st);
            worstBase = Math.max(worstBase, base);
            long evs;
            synchronized (m.events) {
                evs = m.events.stream().filter(e -> {
                    try {
                        double at = Double.parseDouble(e.split(" ")[0]);
                        return at >= ms(from - t0) && at <= ms(to - t0) && !e.contains("CLOSE");
                    } catch (NumberFormatException x) {
                        return false;
                    }
                }).count();
            }
            rebalanceEvents += evs;
            perMember.add(String.format(Locale.ROOT, "{\"member\":%d,\"maxGapMs\":%.0f,\"stalledMs\":%.0f,\"baselineMaxGapMs\":%.0f,\"callbacksAfterClose\":%d}",
                    m.idx, g, st, base, evs));
        }
        Collections.sort(all);
        double pause = ms(maxGap(all, from, to));
        double pauseAt = 0;   // where the group pause starts, ms relative to the close
        for (long[] g : gaps(all, from, to)) if (ms(g[1] - g[0]) == pause) { pauseAt = ms(g[0] - from); break; }
        Collections.sort(gapsMs);
        double medianGap = gapsMs.get(gapsMs.size() / 2);
        double closeMs = r.closeEndNs != 0 ? ms(r.closeEndNs - r.closeStartNs) : -1;
        double backMs = r.newFirstRecordNs != 0 ? ms(r.newFirstRecordNs - r.closeStartNs) : -1;
        double assignMs = r.newFirstAssignNs != 0 ? ms(r.newFirstAssignNs - r.closeStartNs) : -1;
        StringBuilder evlog = new StringBuilder();
        for (Member m : ms) {
            synchronized (m.events) {
                evlog.append("m").append(m.idx).append(": ").append(String.join("; ", m.events)).append(" | ");
            }
        }
        String errors = "";
        for (Member m : ms) if (m.error != null) errors += "m" + m.idx + ": " + m.error + "; ";
        System.out.println(String.format(Locale.ROOT,
                "RESULT {\"mode\":\"%s\",\"rep\":%d,\"restartDelayMs\":%d,\"warmed\":%b,\"partitions\":%d,\"rate\":%d,\"members\":%d," +
                        "\"groupPauseMs\":%.0f,\"groupPauseStartsAtMs\":%.0f,\"worstMemberMaxGapMs\":%.0f,\"medianMemberMaxGapMs\":%.0f,\"meanMemberMaxGapMs\":%.0f," +
                        "\"worstMemberStalledMs\":%.0f,\"worstRebalanceGapMs\":%.0f,\"baselineMaxGapMs\":%.0f,\"maxLatencyMs\":%d,\"otherCallbacksAfterClose\":%d," +
                        "\"restartCloseMs\":%.0f,\"restartAssignedAfterMs\":%.0f,\"restartFirstRecordAfterMs\":%.0f," +
                        "\"produced\":%d,\"produceErrors\":%d,\"perMember\":[%s],\"errors\":\"%s\"}",
                mode, rep, restartDelayMs, warmed, partitions, rate, members, pause, pauseAt, worstGap, medianGap, sumGap / (members - 1),
                worstStall, worstRebalanceGap, worstBase, maxLat, rebalanceEvents, closeMs, assignMs, backMs, sent.get(), prodErrors.get(),
                String.join(",", perMember), errors.replace("\"", "'")));
        System.err.println("events " + tag + ": " + evlog);
        System.out.flush();
    }
}
