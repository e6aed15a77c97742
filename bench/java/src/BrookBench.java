import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Brook benchmark load generator (Apache kafka-clients 3.9.1), modelled on Kafka's
 * kafka-producer-perf-test, kafka-consumer-perf-test and EndToEndLatency tools.
 *
 * <pre>
 *   BrookBench produce --bootstrap H:P --topic T [--partitions 6] [--record-size 100]
 *       [--acks 1|all] [--idempotence false] [--linger-ms 5] [--batch-size 65536]
 *       [--seconds 10] [--records N] [--throughput -1] [--producers 1] [--threads N]
 *       [--explicit-partitions false] [--buffer-memory 33554432] [--broker-pid PID]
 *       [--keys N] (records keyed by a uniformly random 8-byte key of N; default no key)
 *       [--timeline FILE] (every 100 ms: "monotonic-ns acked-records", for rates over time)
 *   BrookBench consume --bootstrap H:P --topic T [--seconds 15] [--broker-pid PID]
 *       (consumer with DEFAULT settings: assign() all partitions, seekToBeginning, read to the
 *        end offsets taken at start)
 *   BrookBench e2e --bootstrap H:P --topic T [--rate 1000] [--seconds 30] [--warmup-seconds 1]
 *       [--record-size 100] [--acks 1] [--broker-pid PID]
 *       [--latency-log FILE] (one line a message: "seq send-monotonic-ns ack-us e2e-us", -1 if none)
 *   BrookBench create --bootstrap H:P --prefix P --topics N --partitions M [--touch false]
 *   BrookBench txn --bootstrap H:P --topic T [--txn-batches N] [--partitions 6] [--record-size 100]
 *       [--linger-ms 5] [--batch-size 65536] [--records-per-batch R] [--seconds 15]
 *       [--abort-records 1000] [--consume-seconds 60] [--check-uncommitted true] [--broker-pid PID]
 *       (acks=all + idempotence, record i to partition i % P; --txn-batches N > 0: transactional,
 *        N x P x R records a transaction, i.e. N full batches into each partition, then
 *        commitTransaction(); 0: the same producer without transactions; then a read_committed
 *        consumer checks that every committed record arrives exactly once; see txn())
 * </pre>
 *
 * Every mode prints exactly one line "RESULT {json}" on stdout. Broker figures come from
 * /proc/PID of the broker (utime+stime, VmHWM, VmRSS, socket fds), sampled by this process
 * right before the first request of the measured phase and right after the last response.
 * Every phase is time-bounded.
 */
public final class BrookBench {
    static final double TICK = 1.0 / Long.parseLong(System.getenv().getOrDefault("CLK_TCK", "100"));

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: BrookBench produce|consume|e2e|create --key value ...");
            System.exit(2);
        }
        Opts o = new Opts(args);
        Map<String, Object> r;
        switch (args[0]) {
            case "produce": r = produce(o); break;
            case "consume": r = consume(o); break;
            case "e2e": r = e2e(o); break;
            case "create": r = create(o); break;
            case "txn": r = txn(o); break;
            default: System.err.println("unknown mode " + args[0]); System.exit(2); return;
        }
        r.put("mode", args[0]);
        System.out.println("RESULT " + json(r));
        System.out.flush();
        // Client threads that refuse to die must not keep the run alive.
        Runtime.getRuntime().halt(0);
    }

    // ------------------------------------------------------------------ options

    static final class Opts {
        final Map<String, String> m = new HashMap<>();
        Opts(String[] a) {
            for (int i = 1; i < a.length; i++) {
                if (!a[i].startsWith("--")) throw new IllegalArgumentException("bad arg " + a[i]);
                String k = a[i].substring(2);
                if (i + 1 < a.length && !a[i + 1].startsWith("--")) m.put(k, a[++i]);
                else m.put(k, "true");
            }
        }
        String s(String k, String d) { return m.getOrDefault(k, d); }
        String req(String k) {
            String v = m.get(k);
            if (v == null) throw new IllegalArgumentException("missing --" + k);
            return v;
        }
        int i(String k, int d) { return m.containsKey(k) ? Integer.parseInt(m.get(k)) : d; }
        long l(String k, long d) { return m.containsKey(k) ? Long.parseLong(m.get(k)) : d; }
        double d(String k, double d) { return m.containsKey(k) ? Double.parseDouble(m.get(k)) : d; }
        boolean b(String k, boolean d) { return m.containsKey(k) ? Boolean.parseBoolean(m.get(k)) : d; }
    }

    // ------------------------------------------------------------------ histogram (µs)

    /** Log-linear histogram: exact below 256 µs, 128 sub-buckets per power of two above (<1% error). */
    static final class Hist {
        final long[] c = new long[256 + 48 * 128];
        long n, max, sum;

        static int idx(long v) {
            if (v < 256) return (int) v;
            int e = 63 - Long.numberOfLeadingZeros(v);
            int shift = e - 7;
            int sub = (int) (v >>> shift);
            return 256 + (e - 8) * 128 + (sub - 128);
        }

        static long upper(int i) {
            if (i < 256) return i;
            int k = i - 256, e = k / 128 + 8, sub = k % 128 + 128, shift = e - 7;
            return ((long) (sub + 1) << shift) - 1;
        }

        synchronized void rec(long us) {
            if (us < 0) us = 0;
            c[idx(us)]++;
            n++;
            sum += us;
            if (us > max) max = us;
        }

        synchronized void merge(Hist o) {
            synchronized (o) {
                for (int i = 0; i < c.length; i++) c[i] += o.c[i];
                n += o.n;
                sum += o.sum;
                max = Math.max(max, o.max);
            }
        }

        synchronized long pct(double p) {
            if (n == 0) return -1;
            long rank = Math.max(1, (long) Math.ceil(p / 100.0 * n));
            long acc = 0;
            for (int i = 0; i < c.length; i++) {
                acc += c[i];
                if (acc >= rank) return Math.min(upper(i), max);
            }
            return max;
        }

        void put(Map<String, Object> r, String prefix) {
            r.put(prefix + "_count", n);
            r.put(prefix + "_avg_ms", n == 0 ? -1 : ms(sum / (double) n));
            r.put(prefix + "_p50_ms", ms(pct(50)));
            r.put(prefix + "_p99_ms", ms(pct(99)));
            r.put(prefix + "_p999_ms", ms(pct(99.9)));
            r.put(prefix + "_max_ms", ms(max));
        }

        static double ms(double us) { return us < 0 ? -1 : Math.round(us) / 1000.0; }
    }

    // ------------------------------------------------------------------ /proc probes

    static final class Probe {
        final int pid;
        long cpu0Ticks, sys0Ticks, sysTotal0, sysIdle0, sysTask0, sysIrq0, kthreads0, clientCpu0, t0;
        Probe(int pid) { this.pid = pid; }

        void start() {
            if (pid > 0) {
                cpu0Ticks = brokerTicks(pid);
                sys0Ticks = brokerSysTicks(pid);
            }
            long[] s = sysCpu();
            sysTotal0 = s[0];
            sysIdle0 = s[1];
            sysTask0 = s[2];
            sysIrq0 = s[3];
            kthreads0 = kernelThreadTicks();
            clientCpu0 = clientCpuNanos();
            t0 = System.nanoTime();
        }

        void stop(Map<String, Object> r, long records, long bytes) {
            double wall = (System.nanoTime() - t0) / 1e9;
            long[] s = sysCpu();
            double machineBusy = s[0] == sysTotal0 ? 0 : 1.0 - (double) (s[1] - sysIdle0) / (s[0] - sysTotal0);
            double clientCpu = (clientCpuNanos() - clientCpu0) / 1e9;
            r.put("probe_wall_s", round(wall, 3));
            r.put("machine_cpu_busy_pct", round(100 * machineBusy, 1));
            r.put("client_cpu_s", round(clientCpu, 3));
            // CPU of everything else: user+nice+system time of the machine minus this client, the
            // broker and kernel threads (writeback, ksoftirqd); irq/softirq time is not task time.
            double kthreads = (kernelThreadTicks() - kthreads0) * TICK;
            double tasks = (s[2] - sysTask0) * TICK;
            r.put("irq_cpu_s", round((s[3] - sysIrq0) * TICK, 3));
            r.put("kernel_threads_cpu_s", round(kthreads, 3));
            double brokerCpu = pid > 0 ? (brokerTicks(pid) - cpu0Ticks) * TICK : 0;
            r.put("other_cpu_s", round(tasks - clientCpu - brokerCpu - kthreads, 3));
            r.put("client_cpu_us_per_record", records == 0 ? -1 : round(clientCpu * 1e6 / records, 3));
            if (pid > 0) {
                double cpu = (brokerTicks(pid) - cpu0Ticks) * TICK;
                r.put("broker_cpu_s", round(cpu, 3));
                r.put("broker_sys_cpu_s", round((brokerSysTicks(pid) - sys0Ticks) * TICK, 3));
                r.put("broker_cpu_us_per_record", records == 0 ? -1 : round(cpu * 1e6 / records, 4));
                r.put("broker_cpu_ns_per_byte", bytes == 0 ? -1 : round(cpu * 1e9 / bytes, 4));
                r.put("broker_cpu_pct_of_one_core", round(100 * cpu / wall, 1));
                r.put("broker_rss_peak_mib", round(statusKb(pid, "VmHWM") / 1024.0, 2));
                r.put("broker_rss_end_mib", round(statusKb(pid, "VmRSS") / 1024.0, 2));
                r.put("broker_threads", statusKb(pid, "Threads"));
            }
        }
    }

    static long brokerTicks(int pid) {
        return brokerSysTicks(pid) + brokerUserTicks(pid);
    }

    static long brokerUserTicks(int pid) { return statField(pid, 11); }

    static long brokerSysTicks(int pid) { return statField(pid, 12); }

    static long statField(int pid, int i) {
        try {
            String s = new String(Files.readAllBytes(Paths.get("/proc/" + pid + "/stat")));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            // f[0] is field 3 (state); utime = field 14 (f[11]), stime = field 15 (f[12])
            return Long.parseLong(f[i]);
        } catch (IOException e) {
            return 0;
        }
    }

    static long statusKb(int pid, String key) {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/" + pid + "/status"))) {
                if (line.startsWith(key + ":")) {
                    return Long.parseLong(line.substring(key.length() + 1).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException e) {
            // broker gone
        }
        return -1;
    }

    /** {total, idle+iowait, user+nice+system, irq+softirq} in ticks, from /proc/stat. */
    static long[] sysCpu() {
        try {
            String[] f = Files.readAllLines(Paths.get("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i <= 8 && i < f.length; i++) total += Long.parseLong(f[i]);
            return new long[] {total, Long.parseLong(f[4]) + Long.parseLong(f[5]),
                Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]),
                Long.parseLong(f[6]) + Long.parseLong(f[7])};
        } catch (IOException e) {
            return new long[] {0, 0, 0, 0};
        }
    }

    /** utime+stime of all kernel threads (children of kthreadd, pid 2). */
    static long kernelThreadTicks() {
        long sum = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Paths.get("/proc"), "[0-9]*")) {
            for (Path p : ds) {
                try {
                    String s = new String(Files.readAllBytes(p.resolve("stat")));
                    String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
                    int pid = Integer.parseInt(p.getFileName().toString());
                    if (pid == 2 || "2".equals(f[1])) sum += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                } catch (IOException | RuntimeException e) {
                    // process gone
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return sum;
    }

    static long clientCpuNanos() {
        java.lang.management.OperatingSystemMXBean b = ManagementFactory.getOperatingSystemMXBean();
        if (b instanceof com.sun.management.OperatingSystemMXBean) {
            return ((com.sun.management.OperatingSystemMXBean) b).getProcessCpuTime();
        }
        return 0;
    }

    static int socketFds(int pid) {
        if (pid <= 0) return -1;
        int n = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Paths.get("/proc/" + pid + "/fd"))) {
            for (Path p : ds) {
                try {
                    if (Files.readSymbolicLink(p).toString().startsWith("socket:")) n++;
                } catch (IOException e) {
                    // fd closed meanwhile
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return n;
    }

    static double round(double v, int d) {
        double f = Math.pow(10, d);
        return Math.round(v * f) / f;
    }


    /** Mean over clients of a client metric (e.g. producer-metrics / request-latency-avg). */
    static double clientMetric(List<Map<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric>> ms,
                               String group, String name) {
        double sum = 0;
        int n = 0;
        for (Map<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric> m : ms) {
            for (Map.Entry<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric> e : m.entrySet()) {
                org.apache.kafka.common.MetricName k = e.getKey();
                if (k.group().equals(group) && k.name().equals(name) && !k.tags().containsKey("topic")
                        && !k.tags().containsKey("node-id")) {
                    Object v = e.getValue().metricValue();
                    if (v instanceof Double && !((Double) v).isNaN() && !((Double) v).isInfinite()) {
                        sum += (Double) v;
                        n++;
                    }
                }
            }
        }
        return n == 0 ? -1 : round(sum / n, 3);
    }

    // ------------------------------------------------------------------ errors

    static final class Errors {
        final ConcurrentHashMap<String, LongAdder> m = new ConcurrentHashMap<>();
        final LongAdder total = new LongAdder();

        void add(Throwable e) {
            total.increment();
            String k = e.getClass().getSimpleName() + ": " + e.getMessage();
            if (k.length() > 200) k = k.substring(0, 200);
            if (m.size() < 50 || m.containsKey(k)) m.computeIfAbsent(k, x -> new LongAdder()).increment();
        }

        void put(Map<String, Object> r) {
            r.put("errors", total.sum());
            Map<String, Object> top = new LinkedHashMap<>();
            List<Map.Entry<String, LongAdder>> es = new ArrayList<>(m.entrySet());
            es.sort((a, b) -> Long.compare(b.getValue().sum(), a.getValue().sum()));
            for (int i = 0; i < Math.min(5, es.size()); i++) top.put(es.get(i).getKey(), es.get(i).getValue().sum());
            r.put("error_samples", top);
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Every client's settings; BENCH_CLIENT_PROPS names a properties file added to them
     *  (security.protocol, TLS trust, SASL login: the secured-listener runs). */
    static Properties common(String bootstrap, String clientId) {
        Properties p = new Properties();
        String extra = System.getenv("BENCH_CLIENT_PROPS");
        if (extra != null && !extra.isEmpty()) {
            try (java.io.FileInputStream in = new java.io.FileInputStream(extra)) {
                p.load(in);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        p.put("bootstrap.servers", bootstrap);
        p.put("client.id", clientId);
        return p;
    }

    static Admin admin(String bootstrap) {
        Properties p = common(bootstrap, "bench-admin");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "60000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "120000");
        return Admin.create(p);
    }

    /** Creates TOPIC with PARTS partitions (an existing topic is fine). Returns seconds taken. */
    static double createTopics(String bootstrap, List<String> topics, int parts) throws Exception {
        long t0 = System.nanoTime();
        try (Admin a = admin(bootstrap)) {
            List<NewTopic> nts = new ArrayList<>();
            for (String t : topics) nts.add(new NewTopic(t, parts, (short) 1));
            try {
                a.createTopics(nts).all().get(120, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) throw e;
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    static List<PartitionInfo> waitPartitions(KafkaProducer<byte[], byte[]> p, String topic, int parts) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        List<PartitionInfo> ps = Collections.emptyList();
        while (System.nanoTime() < deadline) {
            try {
                ps = p.partitionsFor(topic);
                if (ps.size() >= parts) return ps;
            } catch (Exception e) {
                System.err.println("partitionsFor: " + e);
            }
            sleep(200);
        }
        throw new IllegalStateException("topic " + topic + " has " + ps.size() + " partitions, wanted " + parts);
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static byte[] payload(int size, long seed) {
        // like kafka-producer-perf-test: random upper-case letters
        Random r = new Random(seed);
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) b[i] = (byte) ('A' + r.nextInt(26));
        return b;
    }

    // ------------------------------------------------------------------ produce

    static final class ProducerSlot {
        final KafkaProducer<byte[], byte[]> p;
        final Hist h = new Hist();
        final LongAdder acked = new LongAdder();
        int[] parts = new int[0];
        int next;
        ProducerSlot(KafkaProducer<byte[], byte[]> p) { this.p = p; }
    }

    static Map<String, Object> produce(Opts o) throws Exception {
        String bs = o.req("bootstrap"), topic = o.req("topic");
        int parts = o.i("partitions", 6), size = o.i("record-size", 100);
        int nProducers = o.i("producers", 1), nThreads = o.i("threads", nProducers);
        long maxRecords = o.l("records", Long.MAX_VALUE);
        double seconds = o.d("seconds", 10), rate = o.d("throughput", -1);
        boolean explicit = o.b("explicit-partitions", nProducers > 1);
        int pid = o.i("broker-pid", 0);
        final int keys = o.i("keys", 0);
        String timelineFile = o.s("timeline", null);
        Map<String, Object> r = new LinkedHashMap<>();

        double createS = createTopics(bs, List.of(topic), parts);
        r.put("create_topic_s", round(createS, 3));

        Properties pp = common(bs, "bench-producer");
        pp.put(ProducerConfig.ACKS_CONFIG, o.s("acks", "1"));
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, o.s("idempotence", "false"));
        pp.put(ProducerConfig.LINGER_MS_CONFIG, o.s("linger-ms", "5"));
        pp.put(ProducerConfig.BATCH_SIZE_CONFIG, o.s("batch-size", "65536"));
        pp.put(ProducerConfig.BUFFER_MEMORY_CONFIG, o.s("buffer-memory", "33554432"));
        pp.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, o.s("compression", "none"));
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, o.s("delivery-timeout-ms", "60000"));
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        pp.put("key.serializer", ByteArraySerializer.class.getName());
        pp.put("value.serializer", ByteArraySerializer.class.getName());

        List<ProducerSlot> slots = new ArrayList<>();
        long tOpen = System.nanoTime();
        for (int i = 0; i < nProducers; i++) {
            Properties q = new Properties();
            q.putAll(pp);
            q.put("client.id", "bench-producer-" + i);
            slots.add(new ProducerSlot(new KafkaProducer<>(q)));
        }
        for (ProducerSlot s : slots) waitPartitions(s.p, topic, parts);
        r.put("producers_ready_s", round((System.nanoTime() - tOpen) / 1e9, 3));
        // partitions of producer i: i, i+N, i+2N, ... (every partition gets one producer)
        for (int i = 0; i < nProducers; i++) {
            List<Integer> mine = new ArrayList<>();
            for (int q = i; q < parts; q += nProducers) mine.add(q);
            if (mine.isEmpty()) mine.add(i % parts);
            slots.get(i).parts = mine.stream().mapToInt(Integer::intValue).toArray();
        }

        byte[] value = payload(size, 42);
        Errors errors = new Errors();
        AtomicLong sent = new AtomicLong();
        LongAdder sendFailures = new LongAdder();
        Probe probe = new Probe(pid);
        probe.start();
        final long t0 = System.nanoTime();
        final long deadline = t0 + (long) (seconds * 1e9);
        final double perThreadRate = rate > 0 ? rate / nThreads : -1;
        List<Thread> threads = new ArrayList<>();
        final StringBuilder timeline = new StringBuilder();
        final boolean[] timelineStop = {false};
        Thread tl = null;
        if (timelineFile != null) {
            tl = new Thread(() -> {
                while (true) {
                    synchronized (timelineStop) {
                        if (timelineStop[0]) break;
                    }
                    long acked = 0;
                    for (ProducerSlot s : slots) acked += s.acked.sum();
                    timeline.append(System.nanoTime()).append(' ').append(acked).append('\n');
                    sleep(100);
                }
            }, "bench-timeline");
            tl.setDaemon(true);
            tl.start();
        }
        for (int t = 0; t < nThreads; t++) {
            final List<ProducerSlot> mine = new ArrayList<>();
            for (int i = t; i < nProducers; i += nThreads) mine.add(slots.get(i));
            Thread th = new Thread(() -> {
                long i = 0;
                java.util.concurrent.ThreadLocalRandom rnd = java.util.concurrent.ThreadLocalRandom.current();
                while (true) {
                    long now = System.nanoTime();
                    if (now >= deadline) break;
                    if (sent.incrementAndGet() > maxRecords) {
                        sent.decrementAndGet();
                        break;
                    }
                    if (perThreadRate > 0) {
                        long due = t0 + (long) (i * 1e9 / perThreadRate);
                        if (due > now) {
                            LockSupport.parkNanos(due - now);
                        }
                    }
                    ProducerSlot s = mine.get((int) (i % mine.size()));
                    Integer partition = null;
                    if (explicit) {
                        partition = s.parts[s.next];
                        s.next = (s.next + 1) % s.parts.length;
                    }
                    final long st = System.nanoTime();
                    try {
                        byte[] key = keys > 0 ? ByteBuffer.allocate(8).putLong(rnd.nextInt(keys)).array() : null;
                        s.p.send(new ProducerRecord<>(topic, partition, key, value), (md, e) -> {
                            if (e != null) {
                                errors.add(e);
                            } else {
                                s.h.rec((System.nanoTime() - st) / 1000);
                                s.acked.increment();
                            }
                        });
                    } catch (Exception e) {
                        sendFailures.increment();
                        errors.add(e);
                    }
                    i++;
                }
            }, "bench-send-" + t);
            threads.add(th);
            th.start();
        }
        int maxSockets = -1;
        for (Thread th : threads) {
            while (th.isAlive()) {
                th.join(1000);
                maxSockets = Math.max(maxSockets, socketFds(pid));
            }
        }
        long sendDone = System.nanoTime();
        for (ProducerSlot s : slots) s.p.flush();
        long t1 = System.nanoTime();
        if (tl != null) {
            synchronized (timelineStop) {
                timelineStop[0] = true;
            }
            tl.join(1000);
            long acked = 0;
            for (ProducerSlot s : slots) acked += s.acked.sum();
            timeline.append(System.nanoTime()).append(' ').append(acked).append('\n');
            Files.write(Paths.get(timelineFile), timeline.toString().getBytes());
        }
        Hist all = new Hist();
        long acked = 0;
        for (ProducerSlot s : slots) {
            all.merge(s.h);
            acked += s.acked.sum();
        }
        probe.stop(r, acked, acked * (long) size);
        double elapsed = (t1 - t0) / 1e9;
        r.put("records_sent", sent.get());
        r.put("records_acked", acked);
        r.put("send_phase_s", round((sendDone - t0) / 1e9, 3));
        r.put("elapsed_s", round(elapsed, 3));
        r.put("records_per_s", round(acked / elapsed, 1));
        r.put("mib_per_s", round(acked * (double) size / elapsed / 1048576.0, 3));
        r.put("broker_socket_fds_max", maxSockets);
        all.put(r, "ack_latency");
        List<Map<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric>> pm = new ArrayList<>();
        for (ProducerSlot s : slots) pm.add(s.p.metrics());
        r.put("client_request_latency_avg_ms", clientMetric(pm, "producer-metrics", "request-latency-avg"));
        r.put("client_request_latency_max_ms", clientMetric(pm, "producer-metrics", "request-latency-max"));
        r.put("client_batch_size_avg", clientMetric(pm, "producer-metrics", "batch-size-avg"));
        r.put("client_records_per_request_avg", clientMetric(pm, "producer-metrics", "records-per-request-avg"));
        r.put("client_bufferpool_wait_ratio", clientMetric(pm, "producer-metrics", "bufferpool-wait-ratio"));
        errors.put(r);
        r.put("send_exceptions", sendFailures.sum());
        for (ProducerSlot s : slots) s.p.close(Duration.ofSeconds(5));
        return r;
    }

    // ------------------------------------------------------------------ transactional produce

    /**
     * Transactional produce throughput and commit latency (issue 13), with its non-transactional
     * baseline and a read_committed check.
     *
     * <p>One KafkaProducer, acks=all, enable.idempotence=true, linger.ms, batch.size and
     * buffer.memory as in workload (c). Record i (a global sequence number, written into the first
     * 8 bytes of its value; the rest is the random A-Z payload) goes to partition i % P, so the
     * partitions fill evenly and in step.
     *
     * <p>--txn-batches N &gt; 0: transactional.id is set; initTransactions() once (timed, not
     * counted), then transactions back to back until --seconds have passed (the transaction in
     * progress then completes): beginTransaction(), N x P x R send()s, commitTransaction() (which
     * flushes the last batches itself, as applications do). R = --records-per-batch, by default the
     * number of --record-size records that fill one --batch-size batch (the v2 batch header plus
     * DefaultRecord.sizeInBytes of each record), so a transaction of N batches carries exactly N
     * full batches' worth of records into every partition. Per transaction it times
     * commitTransaction() (the call), the part of it after the transaction's last record was
     * acknowledged (= the EndTxn round trip: the client sends EndTxn only once every batch of the
     * transaction is complete), and the whole transaction (beginTransaction() to commit return).
     *
     * <p>--txn-batches 0: the same producer without transactional.id sends until --seconds have
     * passed, then flush().
     *
     * <p>Records/s and MiB/s count committed (baseline: acknowledged) records and value bytes over
     * the produce phase: first send to the last commit (baseline: flush) return. Send-to-ack
     * latency is per record, send() call to callback. Broker figures cover the produce phase.
     *
     * <p>Then, outside the measured phase, --abort-records records are sent in one more
     * transaction that is aborted, and a consumer (default settings plus
     * isolation.level=read_committed) assign()s every partition, seeks to the beginning and polls
     * until its position reaches the end offset (the LSO) of every partition. It checks every
     * record's sequence number: every committed record must arrive exactly once, nothing aborted or
     * unacknowledged may. With --check-uncommitted a read_uncommitted consumer then reads the same
     * partitions: it must see the aborted records too.
     */
    static Map<String, Object> txn(Opts o) throws Exception {
        String bs = o.req("bootstrap"), topic = o.req("topic");
        int parts = o.i("partitions", 6), size = Math.max(8, o.i("record-size", 100));
        int nBatches = o.i("txn-batches", 1);
        int batchSize = o.i("batch-size", 65536);
        double seconds = o.d("seconds", 15);
        int pid = o.i("broker-pid", 0);
        int abortRecords = nBatches > 0 ? o.i("abort-records", 1000) : 0;
        boolean transactional = nBatches > 0;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("create_topic_s", round(createTopics(bs, List.of(topic), parts), 3));

        int perBatch = o.i("records-per-batch", recordsPerBatch(size, batchSize));
        long perTxn = transactional ? (long) nBatches * parts * perBatch : -1;
        r.put("transactional", transactional);
        r.put("txn_batches", nBatches);
        r.put("records_per_batch", perBatch);
        r.put("records_per_txn", perTxn);
        r.put("bytes_per_txn", transactional ? perTxn * size : -1);

        Properties pp = common(bs, "bench-txn-producer");
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, o.s("linger-ms", "5"));
        pp.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(batchSize));
        pp.put(ProducerConfig.BUFFER_MEMORY_CONFIG, o.s("buffer-memory", "33554432"));
        pp.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        if (transactional) {
            pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, o.s("transactional-id", "bench-txn-" + System.nanoTime()));
        }
        pp.put("key.serializer", ByteArraySerializer.class.getName());
        pp.put("value.serializer", ByteArraySerializer.class.getName());

        KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp);
        waitPartitions(p, topic, parts);
        if (transactional) {
            long ti = System.nanoTime();
            p.initTransactions();
            r.put("init_transactions_ms", round((System.nanoTime() - ti) / 1e6, 2));
        }

        byte[] payload = payload(size, 42);
        Hist ack = new Hist(), commit = new Hist(), endTxn = new Hist(), txnH = new Hist();
        Errors errors = new Errors();
        LongAdder acked = new LongAdder();
        final long[] lastAckNs = {0};
        final java.util.BitSet ackedSeqs = new java.util.BitSet();
        java.util.BitSet committed = new java.util.BitSet();
        long seq = 0, txns = 0, abortedTxns = 0, committedRecords = 0;
        LongAdder sendFailures = new LongAdder();

        Probe probe = new Probe(pid);
        probe.start();
        final long t0 = System.nanoTime();
        final long deadline = t0 + (long) (seconds * 1e9);
        String fatal = null;
        while (System.nanoTime() < deadline && fatal == null) {
            long txnStart = System.nanoTime();
            long first = seq;
            long n = transactional ? perTxn : Long.MAX_VALUE;
            boolean failed = false;
            try {
                if (transactional) p.beginTransaction();
                for (long k = 0; k < n; k++) {
                    if (!transactional && (k & 255) == 0 && System.nanoTime() >= deadline) break;
                    send(p, topic, (int) (seq % parts), seq, payload, ack, acked, lastAckNs, ackedSeqs, errors, sendFailures);
                    seq++;
                }
                if (transactional) {
                    long c0 = System.nanoTime();
                    p.commitTransaction();
                    long c1 = System.nanoTime();
                    commit.rec((c1 - c0) / 1000);
                    long la;
                    synchronized (lastAckNs) {
                        la = lastAckNs[0];
                    }
                    if (la > 0) endTxn.rec((c1 - Math.max(la, c0)) / 1000);
                    txnH.rec((c1 - txnStart) / 1000);
                    committed.set((int) first, (int) seq);
                    committedRecords += seq - first;
                    txns++;
                } else {
                    p.flush();
                }
            } catch (org.apache.kafka.common.errors.ProducerFencedException
                     | org.apache.kafka.common.errors.OutOfOrderSequenceException
                     | org.apache.kafka.common.errors.AuthorizationException e) {
                errors.add(e);
                fatal = e.toString();
            } catch (org.apache.kafka.common.KafkaException e) {
                errors.add(e);
                failed = true;
            }
            if (failed && transactional) {
                try {
                    p.abortTransaction();
                    abortedTxns++;
                } catch (Exception e) {
                    errors.add(e);
                    fatal = "abort after failure: " + e;
                }
            }
        }
        final long t1 = System.nanoTime();
        long ackedN = acked.sum();
        long counted = transactional ? committedRecords : ackedN;
        probe.stop(r, counted, counted * (long) size);
        double elapsed = (t1 - t0) / 1e9;
        r.put("records_sent", seq);
        r.put("records_acked", ackedN);
        r.put("records_committed", transactional ? committedRecords : -1);
        r.put("transactions_committed", txns);
        r.put("transactions_aborted_on_error", abortedTxns);
        if (fatal != null) r.put("fatal", fatal);
        r.put("elapsed_s", round(elapsed, 3));
        r.put("records_per_s", round(counted / elapsed, 1));
        r.put("mib_per_s", round(counted * (double) size / elapsed / 1048576.0, 3));
        r.put("mb_per_s", round(counted * (double) size / elapsed / 1e6, 3));
        r.put("transactions_per_s", transactional ? round(txns / elapsed, 2) : -1);
        ack.put(r, "ack_latency");
        if (transactional) {
            commit.put(r, "commit_latency");
            endTxn.put(r, "commit_after_last_ack");
            txnH.put(r, "txn_duration");
        }
        List<Map<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric>> pm = List.of(p.metrics());
        r.put("client_request_latency_avg_ms", clientMetric(pm, "producer-metrics", "request-latency-avg"));
        r.put("client_request_latency_max_ms", clientMetric(pm, "producer-metrics", "request-latency-max"));
        r.put("client_batch_size_avg", clientMetric(pm, "producer-metrics", "batch-size-avg"));
        r.put("client_records_per_request_avg", clientMetric(pm, "producer-metrics", "records-per-request-avg"));
        r.put("client_bufferpool_wait_ratio", clientMetric(pm, "producer-metrics", "bufferpool-wait-ratio"));
        errors.put(r);
        r.put("send_exceptions", sendFailures.sum());

        // Outside the measured phase: one aborted transaction, then the read_committed check.
        long abortedFrom = seq;
        if (transactional && abortRecords > 0 && fatal == null) {
            try {
                p.beginTransaction();
                for (int k = 0; k < abortRecords; k++) {
                    send(p, topic, (int) (seq % parts), seq, payload, null, null, null, null, errors, sendFailures);
                    seq++;
                }
                p.flush(); // the records reach the log before the abort
                p.abortTransaction();
                r.put("aborted_tail_records", seq - abortedFrom);
            } catch (Exception e) {
                r.put("aborted_tail_error", e.toString());
            }
        }
        p.close(Duration.ofSeconds(10));

        java.util.BitSet expected;
        if (transactional) {
            expected = committed;
        } else {
            synchronized (ackedSeqs) {
                expected = (java.util.BitSet) ackedSeqs.clone();
            }
        }
        double consumeSeconds = o.d("consume-seconds", 60);
        r.put("read_committed", verify(bs, topic, "read_committed", expected, abortedFrom, seq, consumeSeconds, pid));
        if (o.b("check-uncommitted", true)) {
            r.put("read_uncommitted", verify(bs, topic, "read_uncommitted", expected, abortedFrom, seq, consumeSeconds, pid));
        }
        return r;
    }

    static void send(KafkaProducer<byte[], byte[]> p, String topic, int partition, long seq, byte[] payload,
                     Hist ack, LongAdder acked, long[] lastAckNs, java.util.BitSet ackedSeqs, Errors errors,
                     LongAdder sendFailures) {
        byte[] v = payload.clone();
        ByteBuffer.wrap(v).putLong(0, seq);
        final long st = System.nanoTime();
        try {
            p.send(new ProducerRecord<>(topic, partition, null, v), (md, e) -> {
                if (e != null) {
                    errors.add(e);
                    return;
                }
                if (ack == null) return; // the aborted tail: not measured, not expected
                long now = System.nanoTime();
                ack.rec((now - st) / 1000);
                acked.increment();
                synchronized (lastAckNs) {
                    lastAckNs[0] = now;
                }
                synchronized (ackedSeqs) {
                    ackedSeqs.set((int) seq);
                }
            });
        } catch (org.apache.kafka.common.errors.ProducerFencedException e) {
            throw e;
        } catch (org.apache.kafka.common.KafkaException e) {
            sendFailures.increment();
            errors.add(e);
            throw e;
        }
    }

    /** Records of SIZE bytes (null key, no headers) that fill one uncompressed v2 batch of BATCH bytes. */
    static int recordsPerBatch(int size, int batch) {
        int used = org.apache.kafka.common.record.DefaultRecordBatch.RECORD_BATCH_OVERHEAD, n = 0;
        ByteBuffer v = ByteBuffer.allocate(size);
        while (true) {
            int rs = org.apache.kafka.common.record.DefaultRecord.sizeInBytes(n, 0L, null, v.duplicate(),
                new org.apache.kafka.common.header.Header[0]);
            if (used + rs > batch) return Math.max(1, n);
            used += rs;
            n++;
        }
    }

    /**
     * Reads TOPIC from the beginning to the end offsets at ISOLATION and checks every sequence
     * number: each one in EXPECTED exactly once; read_committed must see none in [abortedFrom,
     * abortedTo) (the aborted transaction), read_uncommitted all of them.
     */
    static Map<String, Object> verify(String bs, String topic, String isolation, java.util.BitSet expected,
                                      long abortedFrom, long abortedTo, double seconds, int pid) {
        Map<String, Object> r = new LinkedHashMap<>();
        Properties cp = common(bs, "bench-txn-" + isolation);
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        cp.put("key.deserializer", ByteArrayDeserializer.class.getName());
        cp.put("value.deserializer", ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo pi : c.partitionsFor(topic, Duration.ofSeconds(30))) {
                tps.add(new TopicPartition(topic, pi.partition()));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            long endSum = 0;
            for (long e : end.values()) endSum += e;
            r.put("end_offsets_sum", endSum);
            java.util.BitSet seen = new java.util.BitSet();
            long n = 0, dup = 0, unexpected = 0, abortedSeen = 0, bytes = 0;
            Probe probe = new Probe(pid);
            probe.start();
            long t0 = System.nanoTime(), deadline = t0 + (long) (seconds * 1e9);
            boolean done = false;
            while (!done && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> rec : c.poll(Duration.ofMillis(100))) {
                    n++;
                    bytes += rec.value().length;
                    long s = ByteBuffer.wrap(rec.value()).getLong(0);
                    if (s >= abortedFrom && s < abortedTo) abortedSeen++;
                    if (s < 0 || s > Integer.MAX_VALUE || !expected.get((int) s)) {
                        if (!(s >= abortedFrom && s < abortedTo)) unexpected++;
                        continue;
                    }
                    if (seen.get((int) s)) dup++;
                    else seen.set((int) s);
                }
                done = true;
                for (TopicPartition tp : tps) {
                    if (c.position(tp) < end.get(tp)) {
                        done = false;
                        break;
                    }
                }
            }
            long t1 = System.nanoTime();
            probe.stop(r, n, bytes);
            long exp = expected.cardinality(), got = seen.cardinality();
            r.put("complete", done);
            r.put("records", n);
            r.put("expected", exp);
            r.put("distinct_expected_seen", got);
            r.put("missing", exp - got);
            r.put("duplicates", dup);
            r.put("aborted_seen", abortedSeen);
            r.put("aborted_written", abortedTo - abortedFrom);
            r.put("unexpected", unexpected);
            boolean ok = done && got == exp && dup == 0 && unexpected == 0
                && (isolation.equals("read_committed") ? abortedSeen == 0 : abortedSeen == abortedTo - abortedFrom);
            r.put("check_ok", ok);
            double el = (t1 - t0) / 1e9;
            r.put("elapsed_s", round(el, 3));
            r.put("records_per_s", round(n / el, 1));
            r.put("mib_per_s", round(bytes / el / 1048576.0, 3));
        } catch (Exception e) {
            r.put("check_ok", false);
            r.put("error", e.toString());
        }
        return r;
    }

    // ------------------------------------------------------------------ consume

    static Map<String, Object> consume(Opts o) throws Exception {
        String bs = o.req("bootstrap"), topic = o.req("topic");
        double seconds = o.d("seconds", 15);
        int pid = o.i("broker-pid", 0);
        long maxRecords = o.l("records", Long.MAX_VALUE);
        Map<String, Object> r = new LinkedHashMap<>();
        // DEFAULT consumer settings: only bootstrap, client id and deserializers.
        Properties cp = common(bs, "bench-consumer");
        cp.put("key.deserializer", ByteArrayDeserializer.class.getName());
        cp.put("value.deserializer", ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo pi : c.partitionsFor(topic, Duration.ofSeconds(30))) {
                tps.add(new TopicPartition(topic, pi.partition()));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            Map<TopicPartition, Long> begin = c.beginningOffsets(tps, Duration.ofSeconds(30));
            long target = 0;
            for (TopicPartition tp : tps) target += end.get(tp) - begin.get(tp);
            target = Math.min(target, maxRecords);
            r.put("partitions", tps.size());
            r.put("records_available", target);
            long n = 0, bytes = 0, polls = 0, emptyPolls = 0;
            Probe probe = new Probe(pid);
            probe.start();
            long t0 = System.nanoTime(), deadline = t0 + (long) (seconds * 1e9), first = -1;
            while (n < target && System.nanoTime() < deadline) {
                ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(100));
                polls++;
                if (rs.isEmpty()) emptyPolls++;
                for (ConsumerRecord<byte[], byte[]> rec : rs) {
                    if (first < 0) first = System.nanoTime();
                    n++;
                    bytes += (rec.value() == null ? 0 : rec.value().length) + (rec.key() == null ? 0 : rec.key().length);
                }
            }
            long t1 = System.nanoTime();
            probe.stop(r, n, bytes);
            double el = (t1 - t0) / 1e9;
            r.put("records", n);
            r.put("bytes", bytes);
            r.put("complete", n >= target);
            r.put("elapsed_s", round(el, 3));
            r.put("first_record_s", first < 0 ? -1 : round((first - t0) / 1e9, 3));
            r.put("records_per_s", round(n / el, 1));
            r.put("mib_per_s", round(bytes / el / 1048576.0, 3));
            List<Map<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric>> cm = List.of(c.metrics());
            r.put("client_fetch_latency_avg_ms", clientMetric(cm, "consumer-fetch-manager-metrics", "fetch-latency-avg"));
            r.put("client_fetch_latency_max_ms", clientMetric(cm, "consumer-fetch-manager-metrics", "fetch-latency-max"));
            r.put("client_fetch_size_avg", clientMetric(cm, "consumer-fetch-manager-metrics", "fetch-size-avg"));
            r.put("client_records_per_fetch_avg", clientMetric(cm, "consumer-fetch-manager-metrics", "records-per-request-avg"));
            r.put("polls", polls);
            r.put("empty_polls", emptyPolls);
        }
        return r;
    }

    // ------------------------------------------------------------------ end-to-end latency

    static Map<String, Object> e2e(Opts o) throws Exception {
        String bs = o.req("bootstrap"), topic = o.req("topic");
        int rate = o.i("rate", 1000), size = Math.max(16, o.i("record-size", 100));
        double seconds = o.d("seconds", 30), warmupS = o.d("warmup-seconds", 1);
        int pid = o.i("broker-pid", 0);
        Map<String, Object> r = new LinkedHashMap<>();
        createTopics(bs, List.of(topic), 1);

        Properties pp = common(bs, "bench-e2e-producer");
        pp.put(ProducerConfig.ACKS_CONFIG, o.s("acks", "1"));
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, o.s("idempotence", "false"));
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        pp.put("key.serializer", ByteArraySerializer.class.getName());
        pp.put("value.serializer", ByteArraySerializer.class.getName());
        // consumer: DEFAULT settings (fetch.min.bytes=1, fetch.max.wait.ms=500)
        Properties cp = common(bs, "bench-e2e-consumer");
        cp.put("key.deserializer", ByteArrayDeserializer.class.getName());
        cp.put("value.deserializer", ByteArrayDeserializer.class.getName());

        KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp);
        waitPartitions(p, topic, 1);
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp);
        TopicPartition tp = new TopicPartition(topic, 0);
        c.assign(List.of(tp));
        c.seekToEnd(List.of(tp));
        long startPos = c.position(tp, Duration.ofSeconds(30));
        r.put("start_offset", startPos);

        final long warmup = (long) (rate * warmupS);
        final long total = (long) (rate * seconds);
        Hist e2e = new Hist(), ack = new Hist();
        String latencyLog = o.s("latency-log", null);
        final long[] sendNs = latencyLog != null ? new long[(int) total] : null;
        final int[] ackUs = latencyLog != null ? new int[(int) total] : null;
        final int[] e2eUs = latencyLog != null ? new int[(int) total] : null;
        if (latencyLog != null) {
            java.util.Arrays.fill(ackUs, -1);
            java.util.Arrays.fill(e2eUs, -1);
        }
        Errors errors = new Errors();
        AtomicLong received = new AtomicLong();
        AtomicLong outOfOrder = new AtomicLong();
        final long[] lastSeq = {-1};
        final boolean[] stop = {false};
        Thread ct = new Thread(() -> {
            long hard = System.nanoTime() + (long) ((seconds + 20) * 1e9);
            while (System.nanoTime() < hard) {
                synchronized (stop) {
                    if (stop[0]) break;
                }
                ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(100));
                long now = System.nanoTime();
                for (ConsumerRecord<byte[], byte[]> rec : rs) {
                    ByteBuffer b = ByteBuffer.wrap(rec.value());
                    long ts = b.getLong(0), seq = b.getLong(8);
                    if (seq != lastSeq[0] + 1) outOfOrder.incrementAndGet();
                    lastSeq[0] = seq;
                    if (seq >= warmup) e2e.rec((now - ts) / 1000);
                    if (e2eUs != null && seq >= 0 && seq < e2eUs.length) e2eUs[(int) seq] = (int) Math.min(Integer.MAX_VALUE, (now - ts) / 1000);
                    received.incrementAndGet();
                }
            }
        }, "bench-e2e-consumer");
        ct.start();
        sleep(500); // let the consumer's first fetch park at the log end

        Probe probe = new Probe(pid);
        probe.start();
        long t0 = System.nanoTime();
        long period = 1_000_000_000L / rate;
        long sent = 0;
        for (long i = 0; i < total; i++) {
            long due = t0 + i * period;
            long now;
            while ((now = System.nanoTime()) < due) LockSupport.parkNanos(due - now);
            byte[] v = new byte[size];
            ByteBuffer b = ByteBuffer.wrap(v);
            final long st = System.nanoTime();
            b.putLong(0, st);
            b.putLong(8, i);
            final long seq = i;
            if (sendNs != null) sendNs[(int) i] = st;
            try {
                p.send(new ProducerRecord<>(topic, 0, null, v), (md, e) -> {
                    if (e != null) errors.add(e);
                    else {
                        long us = (System.nanoTime() - st) / 1000;
                        if (seq >= warmup) ack.rec(us);
                        if (ackUs != null) ackUs[(int) seq] = (int) Math.min(Integer.MAX_VALUE, us);
                    }
                });
                sent++;
            } catch (Exception e) {
                errors.add(e);
            }
        }
        long sendEnd = System.nanoTime();
        p.flush();
        long wait = System.nanoTime() + 10_000_000_000L;
        while (received.get() < sent && System.nanoTime() < wait) sleep(10);
        probe.stop(r, received.get(), received.get() * (long) size);
        synchronized (stop) {
            stop[0] = true;
        }
        ct.join(5000);
        r.put("rate_target", rate);
        r.put("records_sent", sent);
        r.put("records_received", received.get());
        r.put("out_of_order", outOfOrder.get());
        r.put("achieved_rate", round(sent / ((sendEnd - t0) / 1e9), 1));
        r.put("warmup_records_excluded", warmup);
        e2e.put(r, "e2e_latency");
        try {
            List<Map<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric>> cm = List.of(c.metrics());
            r.put("client_fetch_latency_avg_ms", clientMetric(cm, "consumer-fetch-manager-metrics", "fetch-latency-avg"));
            r.put("client_fetch_latency_max_ms", clientMetric(cm, "consumer-fetch-manager-metrics", "fetch-latency-max"));
        } catch (Exception e) {
            System.err.println("consumer metrics: " + e);
        }
        ack.put(r, "ack_latency");
        errors.put(r);
        p.close(Duration.ofSeconds(5));
        if (latencyLog != null) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < sent; i++) {
                sb.append(i).append(' ').append(sendNs[i]).append(' ').append(ackUs[i]).append(' ').append(e2eUs[i]).append('\n');
            }
            Files.write(Paths.get(latencyLog), sb.toString().getBytes());
        }
        return r;
    }

    // ------------------------------------------------------------------ create (footprint)

    static Map<String, Object> create(Opts o) throws Exception {
        String bs = o.req("bootstrap"), prefix = o.s("prefix", "fp");
        int topics = o.i("topics", 10), parts = o.i("partitions", 1000);
        Map<String, Object> r = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < topics; i++) names.add(prefix + "-" + i);
        r.put("create_s", round(createTopics(bs, names, parts), 3));
        r.put("partitions_created", topics * parts);
        if (o.b("touch", false)) {
            // one small record into every partition, acks=1, to check they all serve writes
            Properties pp = common(bs, "bench-touch");
            pp.put(ProducerConfig.ACKS_CONFIG, "1");
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
            pp.put(ProducerConfig.LINGER_MS_CONFIG, "20");
            pp.put(ProducerConfig.BATCH_SIZE_CONFIG, "1024");
            pp.put("key.serializer", ByteArraySerializer.class.getName());
            pp.put("value.serializer", ByteArraySerializer.class.getName());
            Errors errors = new Errors();
            LongAdder ok = new LongAdder();
            long t0 = System.nanoTime();
            try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp)) {
                byte[] v = payload(100, 1);
                for (String t : names) {
                    waitPartitions(p, t, parts);
                    for (int q = 0; q < parts; q++) {
                        p.send(new ProducerRecord<>(t, q, null, v), (md, e) -> {
                            if (e != null) errors.add(e);
                            else ok.increment();
                        });
                    }
                }
                p.flush();
            }
            r.put("touch_s", round((System.nanoTime() - t0) / 1e9, 3));
            r.put("touch_ok", ok.sum());
            errors.put(r);
        }
        return r;
    }

    // ------------------------------------------------------------------ json

    static String json(Object v) {
        if (v == null) return "null";
        if (v instanceof Number || v instanceof Boolean) {
            if (v instanceof Double && (((Double) v).isNaN() || ((Double) v).isInfinite())) return "null";
            return v.toString();
        }
        if (v instanceof Map) {
            StringBuilder sb = new StringBuilder("{");
            boolean firstE = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!firstE) sb.append(',');
                firstE = false;
                sb.append(json(String.valueOf(e.getKey()))).append(':').append(json(e.getValue()));
            }
            return sb.append('}').toString();
        }
        String s = v.toString();
        StringBuilder sb = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            if (ch == '"' || ch == '\\') sb.append('\\').append(ch);
            else if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch));
            else sb.append(ch);
        }
        return sb.append('"').toString();
    }
}
