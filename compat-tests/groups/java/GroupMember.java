import java.io.*;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.LinkedBlockingQueue;

import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * One consumer-group member (Apache kafka-clients 3.9.1), driven by
 * compat-tests/groups/test_groups.py.  It subscribe()s to one topic and reports,
 * one line each on stdout (ms = wall-clock milliseconds):
 *
 *   READY <ms>
 *   ASSIGNED <ms> <generation> <p,p,...|->     (ConsumerRebalanceListener callbacks;
 *   REVOKED  <ms> <generation> <p,p,...|->      the cooperative protocol reports only
 *   LOST     <ms> <generation> <p,p,...|->      the partitions that move)
 *   GEN <ms> <generation> <memberId>           whenever groupMetadata() changes
 *   R <ms> <partition> <offset> <value>        every processed record
 *   COMMITTED <ms> <p:nextOffset,...>          after a successful commitSync
 *   ERR <ms> <text>                            a client exception (the loop goes on)
 *   PAUSED <ms> / RESUMED <ms> / CLOSED <ms>
 *
 * Commands on stdin: close (commit, close(), exit 0), pause (pause every assigned
 * partition, commit, PAUSED), resume, commit.
 *
 * Options: --bootstrap B --group G --topic T [--strategy range|roundrobin|sticky|cooperative-sticky]
 *   [--instance-id ID] [--session-ms N] [--heartbeat-ms N] [--reset earliest|latest]
 *   [--commit batch|auto|none] [--max N] [--max-seconds S] [--client-id C]
 * --commit batch (default): commitSync of the processed offsets after every non-empty poll.
 * --max N: process exactly N records (the rest of that poll is dropped), commit them, close, exit.
 * --max-seconds S (default 180): hard bound; the member closes and exits after S seconds.
 */
public class GroupMember {
    static final PrintStream OUT = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16), false, StandardCharsets.UTF_8);

    static synchronized void emit(String s) {
        OUT.println(s);
    }

    static long now() { return System.currentTimeMillis(); }

    static String parts(Collection<TopicPartition> tps) {
        if (tps.isEmpty()) return "-";
        List<Integer> l = new ArrayList<>();
        for (TopicPartition tp : tps) l.add(tp.partition());
        Collections.sort(l);
        StringBuilder sb = new StringBuilder();
        for (int p : l) { if (sb.length() > 0) sb.append(','); sb.append(p); }
        return sb.toString();
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        String topic = o.get("topic");
        String commit = o.getOrDefault("commit", "batch");
        long max = Long.parseLong(o.getOrDefault("max", "-1"));
        long deadline = System.nanoTime() + Long.parseLong(o.getOrDefault("max-seconds", "180")) * 1_000_000_000L;

        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, o.get("bootstrap"));
        p.put(ConsumerConfig.GROUP_ID_CONFIG, o.get("group"));
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, commit.equals("auto"));
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, o.getOrDefault("reset", "earliest"));
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000);
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000);
        p.put(ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
        String strategy = o.getOrDefault("strategy", "range");
        String cls;
        switch (strategy) {
            case "range": cls = RangeAssignor.class.getName(); break;
            case "roundrobin": cls = RoundRobinAssignor.class.getName(); break;
            case "sticky": cls = StickyAssignor.class.getName(); break;
            case "cooperative-sticky": cls = CooperativeStickyAssignor.class.getName(); break;
            default: throw new IllegalArgumentException("strategy " + strategy);
        }
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, cls);
        if (o.containsKey("instance-id")) p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, o.get("instance-id"));
        if (o.containsKey("session-ms")) p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, Integer.parseInt(o.get("session-ms")));
        if (o.containsKey("heartbeat-ms")) p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, Integer.parseInt(o.get("heartbeat-ms")));
        if (o.containsKey("client-id")) p.put(ConsumerConfig.CLIENT_ID_CONFIG, o.get("client-id"));

        LinkedBlockingQueue<String> cmds = new LinkedBlockingQueue<>();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) cmds.add(line.trim());
            } catch (IOException ignored) {
            }
        }, "stdin");
        t.setDaemon(true);
        t.start();

        KafkaConsumer<String, String> c = new KafkaConsumer<>(p);
        Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
        c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
            public void onPartitionsRevoked(Collection<TopicPartition> tps) {
                emit("REVOKED " + now() + " " + c.groupMetadata().generationId() + " " + parts(tps));
                // hand the revoked partitions over with their processed offsets committed
                Map<TopicPartition, OffsetAndMetadata> mine = new HashMap<>();
                for (TopicPartition tp : tps) if (pending.containsKey(tp)) mine.put(tp, pending.remove(tp));
                commit(c, mine, commit);
            }
            public void onPartitionsAssigned(Collection<TopicPartition> tps) {
                emit("ASSIGNED " + now() + " " + c.groupMetadata().generationId() + " " + parts(tps));
            }
            public void onPartitionsLost(Collection<TopicPartition> tps) {
                for (TopicPartition tp : tps) pending.remove(tp);
                emit("LOST " + now() + " " + c.groupMetadata().generationId() + " " + parts(tps));
            }
        });
        emit("READY " + now());
        OUT.flush();

        long processed = 0;
        int lastGen = Integer.MIN_VALUE;
        String lastMember = "";
        boolean closing = false;
        try {
            while (!closing) {
                if (System.nanoTime() > deadline) { emit("ERR " + now() + " max-seconds reached"); break; }
                String cmd;
                while ((cmd = cmds.poll()) != null) {
                    switch (cmd) {
                        case "close": closing = true; break;
                        case "pause":
                            c.pause(c.assignment());
                            commit(c, pending, commit);
                            emit("PAUSED " + now());
                            break;
                        case "resume":
                            c.resume(c.paused());
                            emit("RESUMED " + now());
                            break;
                        case "commit": commit(c, pending, "batch"); break;
                        default: emit("ERR " + now() + " unknown command " + cmd);
                    }
                }
                if (closing) break;
                ConsumerRecords<String, String> recs;
                try {
                    recs = c.poll(Duration.ofMillis(100));
                } catch (RuntimeException e) {
                    emit("ERR " + now() + " poll: " + e);
                    OUT.flush();
                    continue;
                }
                ConsumerGroupMetadata gm = c.groupMetadata();
                if (gm.generationId() != lastGen || !gm.memberId().equals(lastMember)) {
                    lastGen = gm.generationId();
                    lastMember = gm.memberId();
                    emit("GEN " + now() + " " + lastGen + " " + lastMember);
                }
                boolean done = false;
                long ms = now();
                for (ConsumerRecord<String, String> r : recs) {
                    if (max >= 0 && processed >= max) { done = true; break; }
                    emit("R " + ms + " " + r.partition() + " " + r.offset() + " " + r.value());
                    pending.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                    processed++;
                }
                if (max >= 0 && processed >= max) done = true;
                // Records are reported (flushed) before they are committed: a member killed
                // in between re-delivers them (a duplicate) instead of hiding them.
                OUT.flush();
                if (!recs.isEmpty() || done) commit(c, pending, commit);
                OUT.flush();
                if (done) break;
            }
            commit(c, pending, commit);
        } finally {
            try {
                c.close(Duration.ofSeconds(10));
            } catch (RuntimeException e) {
                emit("ERR " + now() + " close: " + e);
            }
            emit("CLOSED " + now());
            OUT.flush();
        }
        System.exit(0);
    }

    static void commit(KafkaConsumer<String, String> c, Map<TopicPartition, OffsetAndMetadata> pending, String mode) {
        if (!mode.equals("batch") || pending.isEmpty()) return;
        try {
            c.commitSync(pending, Duration.ofSeconds(15));
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<TopicPartition, OffsetAndMetadata> e : pending.entrySet()) {
                if (sb.length() > 0) sb.append(',');
                sb.append(e.getKey().partition()).append(':').append(e.getValue().offset());
            }
            emit("COMMITTED " + now() + " " + sb);
            pending.clear();
        } catch (RuntimeException e) {
            // kept in `pending`: retried after the next poll
            emit("ERR " + now() + " commit: " + e);
        }
    }
}
