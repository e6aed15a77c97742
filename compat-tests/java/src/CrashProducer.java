import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.Properties;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Crash-test producer: the Java client's DEFAULT producer (idempotent, acks=all,
 * retries=MAX, delivery.timeout.ms=120s) sends sequence-numbered records while the
 * broker is kill -9'd and restarted.  Each completion is appended to ACK_FILE:
 *   "OK seq partition offset ackTimeMs"   or   "ERR seq ackTimeMs exception"
 * Stops when STOP_FILE exists, after MAX_SECONDS, or after MAX_RECORDS sends;
 * then close() waits (<= 60 s) for outstanding sends.
 *
 * usage: java CrashProducer BOOTSTRAP TOPIC ACK_FILE STOP_FILE MAX_SECONDS MAX_RECORDS
 */
public class CrashProducer {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        Path ackFile = Paths.get(args[2]), stopFile = Paths.get(args[3]);
        long maxMs = Long.parseLong(args[4]) * 1000;
        int maxRecords = Integer.parseInt(args[5]);

        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        // Everything else is the client default: enable.idempotence=true, acks=all,
        // retries=Integer.MAX_VALUE, max.in.flight.requests.per.connection=5,
        // delivery.timeout.ms=120000 (long enough to ride out each restart).
        p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "crash-java");

        final PrintWriter out = new PrintWriter(new BufferedWriter(new OutputStreamWriter(
                new FileOutputStream(ackFile.toFile()), StandardCharsets.UTF_8)));
        final Semaphore inflight = new Semaphore(2000);  // bound the records buffered while the broker is down
        double rate = Double.parseDouble(System.getenv().getOrDefault("CRASH_RATE", "1500"));
        long start = System.currentTimeMillis();
        int seq = 0;
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p);
        try {
            while (seq < maxRecords && System.currentTimeMillis() - start < maxMs && !Files.exists(stopFile)) {
                if (!inflight.tryAcquire(200, TimeUnit.MILLISECONDS)) continue;
                final int s = seq++;
                byte[] key = ("k" + (s % 8)).getBytes(StandardCharsets.UTF_8);
                byte[] value = ("seq-" + s).getBytes(StandardCharsets.UTF_8);
                producer.send(new ProducerRecord<>(topic, key, value), (md, e) -> {
                    synchronized (out) {
                        if (e == null) out.println("OK " + s + " " + md.partition() + " " + md.offset() + " " + System.currentTimeMillis());
                        else out.println("ERR " + s + " " + System.currentTimeMillis() + " " + e.toString().replace('\n', ' '));
                        if (s % 500 == 0) out.flush();
                    }
                    inflight.release();
                });
                long ahead = start + (long) (seq * 1000.0 / rate) - System.currentTimeMillis();
                if (ahead > 0) Thread.sleep(Math.min(ahead, 50));  // paced at `rate` records/s
            }
            System.err.println("crash-java: sent " + seq + " records, closing");
        } catch (Exception e) {
            System.err.println("crash-java: send loop aborted after " + seq + " records: " + e);
        } finally {
            producer.close(java.time.Duration.ofSeconds(60));
            synchronized (out) { out.flush(); out.close(); }
        }
        System.err.println("crash-java: done");
    }
}
