import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;

import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.*;
import org.apache.kafka.common.errors.*;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Security checks with the Apache Kafka Java client 3.9.1 (compat-tests/security).
 *
 *   java SecurityTest open     TLS and SASL on the open broker (no authorizer): SCRAM users
 *                              created with Admin.alterUserScramCredentials (kafka-configs.sh's
 *                              path), produce/consume over SSL and over SASL_PLAINTEXT and
 *                              SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, wrong
 *                              passwords refused (SaslAuthenticationException), an untrusted
 *                              server certificate refused (SslAuthenticationException)
 *   java SecurityTest secure   the secure broker (ACL authorizer, super.users=User:admin, SSL
 *                              listener with ssl.client.auth=required): mutual TLS with a PEM
 *                              keystore, the certificate's subject as the principal; per-API
 *                              authorization as Kafka answers it (TopicAuthorizationException,
 *                              GroupAuthorizationException, TransactionalIdAuthorizationException,
 *                              topics hidden from Metadata without DESCRIBE) and the same requests
 *                              succeeding once ACLs grant them
 *
 * Environment: CERTS (gen_certs.sh's dir), O_SSL, O_SASL, O_SASL_SSL (open broker listeners),
 * S_SASL, S_SSL (secure broker listeners), PREFIX (unique resource-name prefix).
 * One "PASS: java-sec: ..." / "FAIL: java-sec: ..." line per check; every wait is bounded.
 */
public class SecurityTest {
    static final Map<String, String> ENV = System.getenv();
    static final String CERTS = ENV.getOrDefault("CERTS", ".");
    static final String PREFIX = ENV.getOrDefault("PREFIX", "j");
    static int passed, failed;

    // ------------------------------------------------------------------ reporting

    static void pass(String name, String detail) {
        passed++;
        System.out.println("PASS: java-sec: " + name + (detail.isEmpty() ? "" : " (" + detail + ")"));
    }

    static void fail(String name, String detail) {
        failed++;
        detail = detail.replace('\n', ' ');
        if (detail.length() > 1500) detail = detail.substring(0, 1500) + "...(truncated)";
        System.out.println("FAIL: java-sec: " + name + ": " + detail);
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
            fail(name, describe(e));
        }
        System.err.printf("    %s took %.1fs%n", name, (System.nanoTime() - t0) / 1e9);
    }

    static Throwable root(Throwable e) {
        Throwable c = e;
        while ((c instanceof ExecutionException || c instanceof CompletionException) && c.getCause() != null) c = c.getCause();
        return c;
    }

    static String describe(Throwable e) {
        Throwable c = root(e);
        return c.getClass().getName() + ": " + c.getMessage();
    }

    /** The first throwable of class `want` in e's cause chain, or null. */
    static <T extends Throwable> T find(Throwable e, Class<T> want) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (want.isInstance(c)) return want.cast(c);
            if (c.getCause() == c) break;
        }
        return null;
    }

    // ------------------------------------------------------------------ client configs

    /** Who connects how: a listener's security protocol and the credentials for it. */
    static final class Sec {
        final String bootstrap, protocol, mechanism, user, password, keystore, truststore;
        Sec(String bootstrap, String protocol, String mechanism, String user, String password, String keystore, String truststore) {
            this.bootstrap = bootstrap; this.protocol = protocol; this.mechanism = mechanism;
            this.user = user; this.password = password; this.keystore = keystore; this.truststore = truststore;
        }
        static Sec ssl(String bootstrap) { return new Sec(bootstrap, "SSL", null, null, null, null, CERTS + "/ca.pem"); }
        static Sec mtls(String bootstrap, String who) {
            return new Sec(bootstrap, "SSL", null, null, null, who == null ? null : CERTS + "/" + who + ".keystore.pem", CERTS + "/ca.pem");
        }
        static Sec sasl(String bootstrap, boolean tls, String mechanism, String user, String password) {
            return new Sec(bootstrap, tls ? "SASL_SSL" : "SASL_PLAINTEXT", mechanism, user, password, null, tls ? CERTS + "/ca.pem" : null);
        }
        Sec withTruststore(String ts) { return new Sec(bootstrap, protocol, mechanism, user, password, keystore, ts); }
        Sec withPassword(String pw) { return new Sec(bootstrap, protocol, mechanism, user, pw, keystore, truststore); }

        void apply(Properties p) {
            p.put("bootstrap.servers", bootstrap);
            p.put("security.protocol", protocol);
            if (truststore != null) {
                p.put("ssl.truststore.type", "PEM");
                p.put("ssl.truststore.location", truststore);
            }
            if (keystore != null) {
                p.put("ssl.keystore.type", "PEM");
                p.put("ssl.keystore.location", keystore);
            }
            if (mechanism != null) {
                p.put("sasl.mechanism", mechanism);
                String module = mechanism.equals("PLAIN") ? "org.apache.kafka.common.security.plain.PlainLoginModule"
                        : "org.apache.kafka.common.security.scram.ScramLoginModule";
                p.put("sasl.jaas.config", module + " required username=\"" + user + "\" password=\"" + password + "\";");
            }
            // Fail fast when the broker refuses us instead of retrying for a minute.
            p.put("reconnect.backoff.max.ms", "1000");
            p.put("socket.connection.setup.timeout.max.ms", "5000");
        }

        public String toString() {
            return protocol + (mechanism != null ? "/" + mechanism + " as " + user : "") + (keystore != null ? " with " + keystore.replaceAll(".*/", "") : "");
        }
    }

    static Admin admin(Sec s) {
        Properties p = new Properties();
        s.apply(p);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15000);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
        return Admin.create(p);
    }

    static KafkaProducer<byte[], byte[]> producer(Sec s, Map<String, Object> extra) {
        Properties p = new Properties();
        s.apply(p);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 15000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 15000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        if (extra != null) p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    static KafkaConsumer<byte[], byte[]> consumer(Sec s, String group) {
        Properties p = new Properties();
        s.apply(p);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15000);
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10000);
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1000);
        }
        return new KafkaConsumer<>(p);
    }

    // ------------------------------------------------------------------ data helpers

    static List<String> values(String tag, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(tag + "-" + i);
        return out;
    }

    static void produce(Sec s, String topic, List<String> vals, Map<String, Object> extra) throws Exception {
        try (KafkaProducer<byte[], byte[]> p = producer(s, extra)) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (String v : vals) fs.add(p.send(new ProducerRecord<>(topic, 0, ("k" + v).getBytes(StandardCharsets.UTF_8), v.getBytes(StandardCharsets.UTF_8))));
            p.flush();
            for (Future<RecordMetadata> f : fs) f.get(15, TimeUnit.SECONDS);
        }
    }

    /** assign() partition 0 from the beginning (group == null) or subscribe() in a group; poll until n records or timeout. */
    static List<String> consume(Sec s, String topic, String group, int n, long timeoutMs) {
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = consumer(s, group)) {
            if (group == null) {
                TopicPartition tp = new TopicPartition(topic, 0);
                c.assign(List.of(tp));
                c.seekToBeginning(List.of(tp));
            } else {
                c.subscribe(List.of(topic));
            }
            long end = System.currentTimeMillis() + timeoutMs;
            while (out.size() < n && System.currentTimeMillis() < end) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) out.add(new String(r.value(), StandardCharsets.UTF_8));
            }
            if (group != null && !out.isEmpty()) c.commitSync(Duration.ofSeconds(10));
        }
        return out;
    }

    static void roundTrip(String name, Sec s, String topic, int n) throws Exception {
        List<String> vals = values(topic, n);
        produce(s, topic, vals, null);
        List<String> got = consume(s, topic, null, n, 15000);
        check(name, got.equals(vals), "produced " + n + " records to " + topic + " over " + s + ", read back " + got.size()
                + (got.size() > 0 ? " (first " + got.get(0) + ")" : ""));
    }

    static void createTopics(Admin a, String... topics) throws Exception {
        List<NewTopic> nt = new ArrayList<>();
        for (String t : topics) nt.add(new NewTopic(t, 1, (short) 1));
        a.createTopics(nt).all().get(20, TimeUnit.SECONDS);
    }

    static AclBinding allow(ResourceType type, String name, String principal, AclOperation op) {
        return new AclBinding(new ResourcePattern(type, name, PatternType.LITERAL),
                new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW));
    }

    static void grant(Admin a, AclBinding... bs) throws Exception {
        a.createAcls(List.of(bs)).all().get(15, TimeUnit.SECONDS);
    }

    /** Expect `action` to fail with an exception of class `want` somewhere in its cause chain. */
    static <T extends Throwable> void expectError(String name, Class<T> want, Body action) {
        try {
            action.run();
            fail(name, "expected " + want.getSimpleName() + ", but the request succeeded");
        } catch (Throwable e) {
            T t = find(e, want);
            if (t != null) pass(name, want.getSimpleName() + ": " + String.valueOf(t.getMessage()).replaceAll("\\s+", " "));
            else fail(name, "expected " + want.getSimpleName() + ", got " + describe(e));
        }
    }

    // ------------------------------------------------------------------ open broker

    static void open() {
        String oSsl = ENV.get("O_SSL"), oSasl = ENV.get("O_SASL"), oSaslSsl = ENV.get("O_SASL_SSL");
        Sec plainAdmin = Sec.sasl(oSasl, false, "PLAIN", "admin", "admin-pw");
        String scramUser = PREFIX + "scram";

        run("alterUserScramCredentials creates a SCRAM-SHA-256 and SCRAM-SHA-512 user", () -> {
            try (Admin a = admin(plainAdmin)) {
                // One alteration per user and request: a second one for the same user (even for
                // another mechanism) is DUPLICATE_RESOURCE, as in Kafka's ScramControlManager.
                a.alterUserScramCredentials(List.of(
                        new UserScramCredentialUpsertion(scramUser, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), "j256-pw")))
                        .all().get(15, TimeUnit.SECONDS);
                a.alterUserScramCredentials(List.of(
                        new UserScramCredentialUpsertion(scramUser, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), "j512-pw")))
                        .all().get(15, TimeUnit.SECONDS);
                Map<String, UserScramCredentialsDescription> d =
                        a.describeUserScramCredentials(List.of(scramUser)).all().get(15, TimeUnit.SECONDS);
                Set<String> got = new TreeSet<>();
                for (ScramCredentialInfo i : d.get(scramUser).credentialInfos()) got.add(i.mechanism() + "/" + i.iterations());
                check("alterUserScramCredentials + describeUserScramCredentials (SCRAM-SHA-256 4096, SCRAM-SHA-512 8192 iterations)",
                        got.equals(new TreeSet<>(List.of("SCRAM_SHA_256/4096", "SCRAM_SHA_512/8192"))), "described " + got);
            }
        });

        run("TLS produce/consume", () ->
                roundTrip("TLS (SSL listener, ssl.truststore.type=PEM) produce + consume", Sec.ssl(oSsl), PREFIX + "-tls", 50));

        String[][] mechs = {{"PLAIN", "alice", "alice-pw"}, {"SCRAM-SHA-256", scramUser, "j256-pw"}, {"SCRAM-SHA-512", scramUser, "j512-pw"}};
        for (boolean tls : new boolean[] {false, true}) {
            for (String[] m : mechs) {
                Sec s = Sec.sasl(tls ? oSaslSsl : oSasl, tls, m[0], m[1], m[2]);
                String topic = PREFIX + "-" + s.protocol.toLowerCase().replace('_', '-') + "-" + m[0].toLowerCase();
                run("SASL " + s, () -> roundTrip(s.protocol + " " + m[0] + " produce + consume", s, topic, 20));
            }
        }

        // Wrong passwords: each mechanism once, spread over both SASL listeners.
        Object[][] wrong = {{"PLAIN", "alice", true}, {"SCRAM-SHA-256", scramUser, false}, {"SCRAM-SHA-512", scramUser, true}};
        for (Object[] w : wrong) {
            boolean tls = (Boolean) w[2];
            Sec s = Sec.sasl(tls ? oSaslSsl : oSasl, tls, (String) w[0], (String) w[1], "wrong-pw");
            String name = s.protocol + " " + w[0] + " with a wrong password is refused";
            run(name, () -> expectError(name, SaslAuthenticationException.class, () -> {
                try (Admin a = admin(s)) { a.describeCluster().clusterId().get(15, TimeUnit.SECONDS); }
            }));
        }
        run("SCRAM unknown user", () -> expectError("SASL_PLAINTEXT SCRAM-SHA-256 with an unknown user is refused", SaslAuthenticationException.class, () -> {
            try (Admin a = admin(Sec.sasl(oSasl, false, "SCRAM-SHA-256", PREFIX + "nobody", "pw"))) { a.describeCluster().clusterId().get(15, TimeUnit.SECONDS); }
        }));
        run("untrusted server certificate", () -> expectError("SSL with a truststore that does not hold the broker's CA is refused",
                SslAuthenticationException.class, () -> {
            try (Admin a = admin(Sec.ssl(oSsl).withTruststore(CERTS + "/rogue-ca.pem"))) { a.describeCluster().clusterId().get(15, TimeUnit.SECONDS); }
        }));
    }

    // ------------------------------------------------------------------ secure broker

    static void secure() {
        String sSasl = ENV.get("S_SASL"), sSsl = ENV.get("S_SSL");
        Sec admin = Sec.sasl(sSasl, false, "PLAIN", "admin", "admin-pw");
        String bob = PREFIX + "bob";
        String principal = "User:" + bob;
        Sec bobSec = Sec.sasl(sSasl, false, "SCRAM-SHA-256", bob, "bob-pw");
        String tRead = PREFIX + "-read", tVis = PREFIX + "-visible", tHidden = PREFIX + "-hidden", tWrite = PREFIX + "-write",
                tGrp = PREFIX + "-grp", tMtls = PREFIX + "-mtls";
        String gRead = PREFIX + "-g-read", gDenied = PREFIX + "-g-denied", txId = PREFIX + "-tx-bob";
        List<String> readVals = values(tRead, 30);

        try (Admin a = admin(admin)) {
            run("setup (super user admin: SCRAM user, topics, records)", () -> {
                a.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(bob,
                        new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), "bob-pw"))).all().get(15, TimeUnit.SECONDS);
                createTopics(a, tRead, tVis, tHidden, tWrite, tGrp, tMtls);
                produce(admin, tRead, readVals, null);
                produce(admin, tGrp, values(tGrp, 5), null);
                pass("super user (super.users=User:admin) creates a SCRAM user with alterUserScramCredentials, topics, records", "");
            });

            run("SCRAM user authenticates", () -> {
                try (Admin b = admin(bobSec)) {
                    String id = b.describeCluster().clusterId().get(15, TimeUnit.SECONDS);
                    check("the SCRAM-SHA-256 user created with alterUserScramCredentials authenticates", id != null && !id.isEmpty(), "cluster id " + id);
                }
            });

            run("alterUserScramCredentials without ALTER on the cluster", () -> expectError(
                    "alterUserScramCredentials by a user without ALTER on the cluster -> ClusterAuthorizationException",
                    ClusterAuthorizationException.class, () -> {
                try (Admin b = admin(bobSec)) {
                    b.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(PREFIX + "mallory",
                            new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), "pw"))).all().get(15, TimeUnit.SECONDS);
                }
            }));

            // ---- mutual TLS
            run("mTLS admin certificate", () -> {
                // CN=admin,OU=compat,O=Brook maps to admin (the RULE), a super user
                roundTrip("mTLS: a client certificate signed by the CA (PEM keystore) produces + consumes", Sec.mtls(sSsl, "admin"), tMtls, 20);
            });
            run("mTLS without certificate", () -> expectError("mTLS: a client without a certificate is refused (SslAuthenticationException)",
                    SslAuthenticationException.class, () -> {
                try (Admin x = admin(Sec.mtls(sSsl, null))) { x.describeCluster().clusterId().get(15, TimeUnit.SECONDS); }
            }));
            run("mTLS principal from the certificate subject", () -> {
                // Kafka reports the cluster's operations only to a principal that may DESCRIBE it.
                grant(a, allow(ResourceType.CLUSTER, "kafka-cluster", "User:alice", AclOperation.DESCRIBE),
                        allow(ResourceType.CLUSTER, "kafka-cluster", "User:alice", AclOperation.DESCRIBE_CONFIGS));
                try (Admin x = admin(Sec.mtls(sSsl, "alice"))) {
                    Set<AclOperation> ops = x.describeCluster(new DescribeClusterOptions().includeAuthorizedOperations(true))
                            .authorizedOperations().get(15, TimeUnit.SECONDS);
                    check("mTLS: CN=alice,OU=compat,O=Brook is principal User:alice (ssl.principal.mapping.rules): the cluster's authorized operations follow an ACL on User:alice",
                            ops != null && ops.contains(AclOperation.DESCRIBE) && ops.contains(AclOperation.DESCRIBE_CONFIGS) && !ops.contains(AclOperation.ALTER),
                            "authorizedOperations " + ops);
                }
            });

            // ---- authorization (bob)
            run("consume without READ", () -> expectError("consume without READ on the topic -> TopicAuthorizationException",
                    TopicAuthorizationException.class, () -> {
                List<String> got = consume(bobSec, tRead, null, readVals.size(), 8000);
                throw new IllegalStateException("consumed " + got.size() + " records");
            }));
            run("consume after READ granted", () -> {
                grant(a, allow(ResourceType.TOPIC, tRead, principal, AclOperation.READ),
                        allow(ResourceType.GROUP, gRead, principal, AclOperation.READ));
                List<String> got = consume(bobSec, tRead, gRead, readVals.size(), 20000);
                check("consume (subscribe in a group) once READ on the topic and on the group is granted", got.equals(readVals),
                        "read " + got.size() + " of " + readVals.size());
                Map<TopicPartition, OffsetAndMetadata> off = a.listConsumerGroupOffsets(gRead).partitionsToOffsetAndMetadata().get(15, TimeUnit.SECONDS);
                OffsetAndMetadata o = off.get(new TopicPartition(tRead, 0));
                check("the group's commit is stored", o != null && o.offset() == readVals.size(), "committed " + off);
            });

            run("Metadata hides topics without DESCRIBE", () -> {
                grant(a, allow(ResourceType.TOPIC, tVis, principal, AclOperation.DESCRIBE));
                try (Admin b = admin(bobSec)) {
                    Set<String> names = b.listTopics().names().get(15, TimeUnit.SECONDS);
                    check("listTopics: a topic with DESCRIBE (and one with READ) is listed, one without is not",
                            names.contains(tVis) && names.contains(tRead) && !names.contains(tHidden),
                            "listed " + new TreeSet<>(names) + " (want " + tVis + " and " + tRead + ", not " + tHidden + ")");
                }
                expectError("describeTopics of a topic without DESCRIBE -> TopicAuthorizationException", TopicAuthorizationException.class, () -> {
                    try (Admin b = admin(bobSec)) { b.describeTopics(List.of(tHidden)).allTopicNames().get(15, TimeUnit.SECONDS); }
                });
            });

            run("produce without WRITE", () -> {
                grant(a, allow(ResourceType.TOPIC, tWrite, principal, AclOperation.DESCRIBE));
                expectError("produce without WRITE on the topic -> TopicAuthorizationException", TopicAuthorizationException.class,
                        () -> produce(bobSec, tWrite, values("nowrite", 1), Map.of("enable.idempotence", false, "acks", "1")));
                grant(a, allow(ResourceType.TOPIC, tWrite, principal, AclOperation.WRITE));
                // The default producer is idempotent: with WRITE on a topic it needs no IDEMPOTENT_WRITE (KIP-679).
                produce(bobSec, tWrite, values(tWrite, 3), null);
                List<String> got = consume(admin, tWrite, null, 3, 10000);
                check("produce (default idempotent producer) once WRITE is granted", got.equals(values(tWrite, 3)), "read back " + got);
            });

            run("group ACL", () -> {
                grant(a, allow(ResourceType.TOPIC, tGrp, principal, AclOperation.READ));
                expectError("consume in a group without READ on the group (READ on the topic) -> GroupAuthorizationException",
                        GroupAuthorizationException.class, () -> {
                    List<String> got = consume(bobSec, tGrp, gDenied, 5, 10000);
                    throw new IllegalStateException("consumed " + got.size() + " records in group " + gDenied);
                });
            });

            run("transactional id ACL", () -> {
                Map<String, Object> txn = Map.of("transactional.id", txId, "transaction.timeout.ms", 10000);
                expectError("initTransactions without WRITE on the transactional id -> TransactionalIdAuthorizationException",
                        TransactionalIdAuthorizationException.class, () -> {
                    try (KafkaProducer<byte[], byte[]> p = producer(bobSec, txn)) { p.initTransactions(); }
                });
                grant(a, allow(ResourceType.TRANSACTIONAL_ID, txId, principal, AclOperation.WRITE));
                try (KafkaProducer<byte[], byte[]> p = producer(bobSec, txn)) {
                    p.initTransactions();
                    p.beginTransaction();
                    p.send(new ProducerRecord<>(tWrite, 0, null, "txn-record".getBytes(StandardCharsets.UTF_8))).get(15, TimeUnit.SECONDS);
                    p.commitTransaction();
                }
                List<String> got = consume(admin, tWrite, null, 4, 10000);
                check("a transaction commits once WRITE on the transactional id is granted",
                        got.size() == 4 && got.get(3).equals("txn-record"), "read back " + got);
            });
        } catch (Throwable e) {
            fail("secure (admin client)", describe(e));
        }
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "open";
        long t0 = System.nanoTime();
        switch (mode) {
            case "open": open(); break;
            case "secure": secure(); break;
            default: System.err.println("usage: SecurityTest open|secure"); System.exit(2);
        }
        System.err.printf("java-sec %s: %d passed, %d failed in %.1fs%n", mode, passed, failed, (System.nanoTime() - t0) / 1e9);
        System.exit(failed > 0 ? 1 : 0);
    }
}
