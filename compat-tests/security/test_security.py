"""Security checks with confluent-kafka (librdkafka 2.16), driven by compat-tests/security/run.sh.

    test_security.py open      the open broker (no authorizer): a SCRAM user created with
                               AdminClient.alter_user_scram_credentials; produce/consume over
                               SSL, and over SASL_PLAINTEXT and SASL_SSL with PLAIN,
                               SCRAM-SHA-256 and SCRAM-SHA-512 (also as the SCRAM user the Java
                               client created); wrong passwords and an unknown user refused
                               (_AUTHENTICATION); an untrusted server certificate refused
    test_security.py secure    the secure broker (ACL authorizer, super.users=User:admin, SSL
                               listener with ssl.client.auth=required and
                               ssl.principal.mapping.rules): mutual TLS (signed certificate
                               works, none or a rogue CA's refused, subject -> principal with the
                               RULE and with DEFAULT); per-API authorization with Kafka's error
                               codes (TOPIC_AUTHORIZATION_FAILED on fetch and produce, topics
                               hidden from list_topics without DESCRIBE, GROUP_AUTHORIZATION_FAILED,
                               TRANSACTIONAL_ID_AUTHORIZATION_FAILED), each then granted by an ACL
    test_security.py restart   after the secure broker was killed and restarted on its data dir:
                               the SCRAM users (Java's and confluent's) still authenticate, a
                               wrong password is still refused, the ACLs are still listed and
                               still grant (and still refuse what they did not grant)

Environment: CERTS, O_SSL, O_SASL, O_SASL_SSL, S_SASL, S_SSL, PREFIX (resource-name prefix,
default "c"), JAVA_PREFIX (the Java run's prefix, default "j").
"""
import os
import sys
import time

from confluent_kafka import (Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType,
                                   AdminClient, NewTopic, ResourcePatternType, ResourceType,
                                   ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion)

from compat import Deadline, Reporter, log

R = Reporter("confluent-sec")
ENV = os.environ
CERTS = ENV.get("CERTS", ".")
P = ENV.get("PREFIX", "c")
JP = ENV.get("JAVA_PREFIX", "j")

AUTH_CODES = {KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED}


# ---------------------------------------------------------------- client configs

def ssl_conf(bootstrap, cert=None, ca="ca.pem"):
    c = {"bootstrap.servers": bootstrap, "security.protocol": "SSL", "ssl.ca.location": f"{CERTS}/{ca}"}
    if cert:
        c["ssl.certificate.location"] = f"{CERTS}/{cert}.crt"
        c["ssl.key.location"] = f"{CERTS}/{cert}.key"
    return c


def sasl_conf(bootstrap, tls, mechanism, user, password):
    c = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_SSL" if tls else "SASL_PLAINTEXT",
         "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password}
    if tls:
        c["ssl.ca.location"] = f"{CERTS}/ca.pem"
    return c


def describe_conf(c):
    s = c["security.protocol"]
    if "sasl.mechanism" in c:
        s += f" {c['sasl.mechanism']} as {c['sasl.username']}"
    if "ssl.certificate.location" in c:
        s += f" with {os.path.basename(c['ssl.certificate.location'])}"
    return s


class Errors:
    """An error_cb that keeps what it was told."""

    def __init__(self):
        self.seen = []

    def __call__(self, err):
        self.seen.append(err)

    def codes(self):
        return {e.code() for e in self.seen}

    def text(self):
        return "; ".join(f"{e.name()}: {e.str()}" for e in self.seen[:4])


def common(conf, errors=None):
    c = dict(conf)
    c.setdefault("socket.timeout.ms", 10000)
    c.setdefault("reconnect.backoff.max.ms", 1000)
    if errors is not None:
        c["error_cb"] = errors
    return c


def admin(conf, errors=None):
    return AdminClient(common(conf, errors))


def producer(conf, extra=None, errors=None):
    c = common(conf, errors)
    c.update({"linger.ms": 5, "message.timeout.ms": 15000})
    c.update(extra or {})
    return Producer(c)


def consumer(conf, group=None, extra=None, errors=None):
    c = common(conf, errors)
    c.update({"group.id": group or f"{P}-assign", "enable.auto.commit": False,
              "auto.offset.reset": "earliest", "session.timeout.ms": 10000, "heartbeat.interval.ms": 1000})
    c.update(extra or {})
    return Consumer(c)


# ---------------------------------------------------------------- data helpers

def values(tag, n):
    return [f"{tag}-{i}" for i in range(n)]


def produce(conf, topic, vals, extra=None, timeout=20):
    """Produce vals to partition 0; returns the delivery errors (empty: all delivered)."""
    errs = []
    done = [0]

    def dr(err, msg):
        done[0] += 1
        if err is not None:
            errs.append(err)

    p = producer(conf, extra)
    for v in vals:
        p.produce(topic, value=v.encode(), key=b"k" + v.encode(), partition=0, on_delivery=dr)
    dl = Deadline(timeout)
    while done[0] < len(vals) and not dl.expired():
        p.poll(0.1)
    p.flush(max(0.1, dl.left()))
    if done[0] < len(vals):
        errs.append(f"only {done[0]} of {len(vals)} delivery reports within {timeout}s")
    return errs


def consume(conf, topic, n, group=None, timeout=15.0):
    """assign() partition 0 from the beginning (group None) or subscribe() in `group`; poll until
    n records or timeout.  A consumer error raises."""
    out = []
    c = consumer(conf, group)
    try:
        if group is None:
            c.assign([TopicPartition(topic, 0, 0)])
        else:
            c.subscribe([topic])
        dl = Deadline(timeout)
        while len(out) < n and not dl.expired():
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(m.error())
            out.append(m.value().decode())
        if group is not None and out:
            c.commit(asynchronous=False)
    finally:
        c.close()
    return out


def round_trip(name, conf, topic, n=20):
    vals = values(topic, n)
    errs = produce(conf, topic, vals)
    if errs:
        R.bad(name, f"produce over {describe_conf(conf)}: {errs[:3]}")
        return
    got = consume(conf, topic, n)
    R.check(name, got == vals, f"produced {n} to {topic} over {describe_conf(conf)}, read back {len(got)}: {got[:3]}",
            f"{n} records over {describe_conf(conf)}")


def expect_refused(name, conf, codes, timeout=10.0):
    """A client with `conf` must be refused: its error_cb reports one of `codes` (librdkafka
    connects to the bootstrap broker at once) and a metadata request gets no answer."""
    errors = Errors()
    a = admin(conf, errors)
    dl = Deadline(timeout)
    while not (errors.codes() & codes) and not dl.expired():
        a.poll(0.1)
    got_md = None
    try:
        got_md = a.list_topics(timeout=1.0)
    except KafkaException as e:
        errors.seen.append(e.args[0])
    if got_md is not None:
        R.bad(name, f"metadata answered ({len(got_md.topics)} topics) over {describe_conf(conf)}")
    elif errors.codes() & codes:
        R.ok(name, errors.text()[:300])
    else:
        R.bad(name, f"expected one of {sorted(KafkaError(c).name() for c in codes)}, got {errors.text() or 'no error'}")


def acl(rtype, name, principal, op):
    return AclBinding(rtype, name, ResourcePatternType.LITERAL, principal, "*", op, AclPermissionType.ALLOW)


def grant(a, *bindings):
    for b, f in a.create_acls(list(bindings)).items():
        f.result(15)


def create_topics(a, names):
    fs = a.create_topics([NewTopic(t, 1, 1) for t in names], request_timeout=15)
    for t, f in fs.items():
        f.result(20)


def expect_consume_error(name, conf, topic, group, code, n=1, timeout=10.0):
    """Consuming `topic` (assign() when group is None, else subscribe() in `group`) must report
    the error `code` (other errors first are tolerated) and deliver no record."""
    errors, got = [], 0
    c = consumer(conf, group)
    try:
        if group is None:
            c.assign([TopicPartition(topic, 0, 0)])
        else:
            c.subscribe([topic])
        dl = Deadline(timeout)
        while not dl.expired() and not any(e.code() == code for e in errors):
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    errors.append(m.error())
                continue
            got += 1
            if got >= n:
                break
    finally:
        c.close()
    want = [e for e in errors if e.code() == code]
    if want and not got:
        R.ok(name, f"{want[0].name()}: {want[0].str()}")
    elif got:
        R.bad(name, f"expected {KafkaError(code).name()}, but consumed {got} records")
    else:
        R.bad(name, f"expected {KafkaError(code).name()}, got {[f'{e.name()}: {e.str()}' for e in errors[:3]] or 'no error'}")


# ---------------------------------------------------------------- open broker

def open_broker():
    o_ssl, o_sasl, o_sasl_ssl = ENV["O_SSL"], ENV["O_SASL"], ENV["O_SASL_SSL"]
    user = f"{P}scram"
    a = admin(sasl_conf(o_sasl_ssl, True, "PLAIN", "admin", "admin-pw"))

    def create_scram():
        # One alteration per user and request (two for one user: DUPLICATE_RESOURCE, as in Kafka).
        for mech, pw in ((ScramMechanism.SCRAM_SHA_256, b"c256-pw"), (ScramMechanism.SCRAM_SHA_512, b"c512-pw")):
            for f in a.alter_user_scram_credentials([UserScramCredentialUpsertion(user, ScramCredentialInfo(mech, 4096), pw)]).values():
                f.result(15)
        d = a.describe_user_scram_credentials([user])[user].result(15)
        got = sorted(f"{i.mechanism.name}/{i.iterations}" for i in d.scram_credential_infos)
        R.check("alter_user_scram_credentials + describe_user_scram_credentials (SCRAM-SHA-256 and SCRAM-SHA-512)",
                got == ["SCRAM_SHA_256/4096", "SCRAM_SHA_512/4096"], f"described {got}", f"{got}")
    R.run("create SCRAM user", create_scram)

    R.run("TLS", round_trip, "TLS (SSL listener, ssl.ca.location) produce + consume", ssl_conf(o_ssl), f"{P}-tls", 50)

    for tls in (False, True):
        b = o_sasl_ssl if tls else o_sasl
        proto = "SASL_SSL" if tls else "SASL_PLAINTEXT"
        for mech, u, pw in (("PLAIN", "alice", "alice-pw"), ("SCRAM-SHA-256", user, "c256-pw"), ("SCRAM-SHA-512", user, "c512-pw")):
            topic = f"{P}-{proto.lower().replace('_', '-')}-{mech.lower()}"
            R.run(f"{proto} {mech}", round_trip, f"{proto} {mech} produce + consume", sasl_conf(b, tls, mech, u, pw), topic)
    # The user the Java client created with alterUserScramCredentials.
    R.run("java's SCRAM user", round_trip, "SASL_SSL SCRAM-SHA-512 as the user Java's alterUserScramCredentials created",
          sasl_conf(o_sasl_ssl, True, "SCRAM-SHA-512", f"{JP}scram", "j512-pw"), f"{P}-java-user")

    for tls, mech, u in ((False, "PLAIN", "alice"), (True, "SCRAM-SHA-256", user), (False, "SCRAM-SHA-512", user)):
        proto = "SASL_SSL" if tls else "SASL_PLAINTEXT"
        R.run(f"wrong password {mech}", expect_refused, f"{proto} {mech} with a wrong password is refused (_AUTHENTICATION)",
              sasl_conf(o_sasl_ssl if tls else o_sasl, tls, mech, u, "wrong-pw"), AUTH_CODES)
    R.run("unknown user", expect_refused, "SASL_SSL SCRAM-SHA-512 with an unknown user is refused (_AUTHENTICATION)",
          sasl_conf(o_sasl_ssl, True, "SCRAM-SHA-512", f"{P}nobody", "pw"), AUTH_CODES)
    R.run("untrusted server certificate", expect_refused, "SSL with a CA that did not sign the broker's certificate is refused (_SSL)",
          ssl_conf(o_ssl, ca="rogue-ca.pem"), {KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN})


# ---------------------------------------------------------------- secure broker

def secure_broker():
    s_sasl, s_ssl = ENV["S_SASL"], ENV["S_SSL"]
    admin_conf = sasl_conf(s_sasl, False, "PLAIN", "admin", "admin-pw")
    a = admin(admin_conf)
    carol = f"{P}carol"
    principal = f"User:{carol}"
    carol_conf = sasl_conf(s_sasl, False, "SCRAM-SHA-512", carol, "carol-pw")
    t_read, t_vis, t_hidden, t_write, t_grp, t_mtls = (f"{P}-{x}" for x in ("read", "visible", "hidden", "write", "grp", "mtls"))
    g_read, g_denied, tx_id = f"{P}-g-read", f"{P}-g-denied", f"{P}-tx-carol"
    read_vals = values(t_read, 30)

    def setup():
        for f in a.alter_user_scram_credentials([UserScramCredentialUpsertion(
                carol, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"carol-pw")]).values():
            f.result(15)
        create_topics(a, [t_read, t_vis, t_hidden, t_write, t_grp, t_mtls])
        # confluent-kafka's Consumer needs a group.id even with assign(), and librdkafka looks up
        # its coordinator: the assign() consumers' group may be used (READ implies DESCRIBE).
        grant(a, acl(ResourceType.GROUP, f"{P}-assign", principal, AclOperation.READ))
        for t, vals in ((t_read, read_vals), (t_grp, values(t_grp, 5)), (t_hidden, values(t_hidden, 1))):
            errs = produce(admin_conf, t, vals)
            if errs:
                raise RuntimeError(f"admin produce to {t}: {errs[:3]}")
        R.ok("super user creates a SCRAM-SHA-512 user with alter_user_scram_credentials, topics, records")
    R.run("setup", setup)

    def carol_auth():
        md = admin(carol_conf).list_topics(timeout=10)
        R.ok("the SCRAM-SHA-512 user created with alter_user_scram_credentials authenticates", f"{len(md.topics)} topics visible")
    R.run("SCRAM user authenticates", carol_auth)

    # ---- mutual TLS
    R.run("mTLS signed cert", round_trip, "mTLS: a client certificate signed by the CA produces + consumes (CN=admin -> User:admin, super user)",
          ssl_conf(s_ssl, "admin"), f"{P}-mtls-admin", 20)
    R.run("mTLS no cert", expect_refused, "mTLS: a client without a certificate is refused",
          ssl_conf(s_ssl), {KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN})
    R.run("mTLS rogue cert", expect_refused, "mTLS: a certificate signed by another CA is refused",
          ssl_conf(s_ssl, "eve"), {KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN})

    def mtls_principal_default():
        dave = admin(ssl_conf(s_ssl, "dave"))
        probe = acl(ResourceType.TOPIC, f"{P}-probe", "User:nobody", AclOperation.READ)
        try:
            dave.create_acls([probe])[probe].result(15)
            R.bad("mTLS: CN=dave without ALTER on the cluster cannot create ACLs", "create_acls succeeded")
        except KafkaException as e:
            R.check("mTLS: CN=dave without ALTER on the cluster cannot create ACLs (CLUSTER_AUTHORIZATION_FAILED)",
                    e.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED, f"got {e.args[0]}")
        # The RULE needs a comma: CN=dave falls through to DEFAULT, the whole DN.
        grant(a, acl(ResourceType.BROKER, "kafka-cluster", "User:CN=dave", AclOperation.ALTER))
        dave.create_acls([probe])[probe].result(15)
        ops = dave.describe_cluster(include_authorized_operations=True).result(15).authorized_operations or []
        names = sorted(o.name for o in ops)
        R.check("mTLS: CN=dave is principal User:CN=dave (DEFAULT rule): an ACL on it grants create_acls, describe_cluster shows ALTER",
                "ALTER" in names, f"authorized_operations {names}", f"authorized_operations {names}")
    R.run("mTLS principal DEFAULT", mtls_principal_default)

    def mtls_principal_rule():
        grant(a, acl(ResourceType.TOPIC, t_mtls, "User:alice", AclOperation.WRITE))
        errs = produce(ssl_conf(s_ssl, "alice"), t_mtls, values(t_mtls, 3))
        R.check("mTLS: CN=alice,OU=compat,O=Brook -> User:alice (RULE): produce with its WRITE ACL works", not errs, f"{errs[:3]}")
        errs = produce(ssl_conf(s_ssl, "dave"), t_mtls, values("dave", 1))
        code = errs[0].code() if errs and isinstance(errs[0], KafkaError) else None
        R.check("mTLS: User:CN=dave without WRITE: produce -> TOPIC_AUTHORIZATION_FAILED",
                code == KafkaError.TOPIC_AUTHORIZATION_FAILED, f"delivery errors {errs[:3] or 'none: delivered'}")
    R.run("mTLS principal RULE", mtls_principal_rule)

    # ---- authorization (carol)
    R.run("consume without READ", expect_consume_error, "consume without READ on the topic -> TOPIC_AUTHORIZATION_FAILED",
          carol_conf, t_read, f"{P}-assign", KafkaError.TOPIC_AUTHORIZATION_FAILED, n=len(read_vals))

    def consume_after_grant():
        grant(a, acl(ResourceType.TOPIC, t_read, principal, AclOperation.READ),
              acl(ResourceType.GROUP, g_read, principal, AclOperation.READ))
        got = consume(carol_conf, t_read, len(read_vals), group=g_read, timeout=20)
        R.check("consume (subscribe in a group) once READ on the topic and on the group is granted", got == read_vals,
                f"read {len(got)} of {len(read_vals)}")
        res = a.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(g_read, [TopicPartition(t_read, 0)])])[g_read].result(15)
        off = res.topic_partitions[0].offset
        R.check("the group's commit is stored", off == len(read_vals), f"committed {off}")
    R.run("consume after grant", consume_after_grant)

    def hidden_topics():
        grant(a, acl(ResourceType.TOPIC, t_vis, principal, AclOperation.DESCRIBE))
        md = admin(carol_conf).list_topics(timeout=10)
        names = set(md.topics)
        R.check("list_topics: a topic with DESCRIBE (and one with READ) is listed, one without is not",
                t_vis in names and t_read in names and t_hidden not in names,
                f"listed {sorted(names)} (want {t_vis} and {t_read}, not {t_hidden})")
        md = admin(carol_conf).list_topics(topic=t_hidden, timeout=10)
        t = md.topics.get(t_hidden)
        R.check("list_topics(topic) of a topic without DESCRIBE -> TOPIC_AUTHORIZATION_FAILED",
                t is not None and t.error is not None and t.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED,
                f"topic entry {t and (t.error, len(t.partitions))}")
    R.run("hidden topics", hidden_topics)

    def produce_write():
        grant(a, acl(ResourceType.TOPIC, t_write, principal, AclOperation.DESCRIBE))
        errs = produce(carol_conf, t_write, values("nowrite", 1))
        code = errs[0].code() if errs and isinstance(errs[0], KafkaError) else None
        R.check("produce without WRITE on the topic -> TOPIC_AUTHORIZATION_FAILED", code == KafkaError.TOPIC_AUTHORIZATION_FAILED,
                f"delivery errors {errs[:3] or 'none: delivered'}")
        grant(a, acl(ResourceType.TOPIC, t_write, principal, AclOperation.WRITE))
        errs = produce(carol_conf, t_write, values(t_write, 3), extra={"enable.idempotence": True})
        R.check("produce (idempotent) once WRITE is granted", not errs, f"delivery errors {errs[:3]}")
    R.run("produce without WRITE", produce_write)

    def group_acl():
        grant(a, acl(ResourceType.TOPIC, t_grp, principal, AclOperation.READ))
        expect_consume_error("consume in a group without READ on the group (READ on the topic) -> GROUP_AUTHORIZATION_FAILED",
                             carol_conf, t_grp, g_denied, KafkaError.GROUP_AUTHORIZATION_FAILED, n=5)
    R.run("group ACL", group_acl)

    def txn_acl():
        extra = {"transactional.id": tx_id, "transaction.timeout.ms": 10000, "message.timeout.ms": 10000}
        p = producer(carol_conf, extra)
        try:
            p.init_transactions(10)
            R.bad("init_transactions without WRITE on the transactional id -> TRANSACTIONAL_ID_AUTHORIZATION_FAILED", "it succeeded")
        except KafkaException as e:
            R.check("init_transactions without WRITE on the transactional id -> TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
                    e.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, f"got {e.args[0]}", e.args[0].str())
        del p
        grant(a, acl(ResourceType.TRANSACTIONAL_ID, tx_id, principal, AclOperation.WRITE))
        p = producer(carol_conf, extra)
        p.init_transactions(15)
        p.begin_transaction()
        p.produce(t_write, value=b"txn-record", partition=0)
        p.commit_transaction(15)
        got = consume(admin_conf, t_write, 4, timeout=10)
        R.check("a transaction commits once WRITE on the transactional id is granted", got[-1:] == ["txn-record"], f"read back {got}")
    R.run("transactional id ACL", txn_acl)


# ---------------------------------------------------------------- after a restart

def after_restart():
    s_sasl, s_ssl = ENV["S_SASL"], ENV["S_SSL"]
    a = admin(sasl_conf(s_sasl, False, "PLAIN", "admin", "admin-pw"))
    carol_conf = sasl_conf(s_sasl, False, "SCRAM-SHA-512", f"{P}carol", "carol-pw")
    bob_conf = sasl_conf(s_sasl, False, "SCRAM-SHA-256", f"{JP}bob", "bob-pw")

    def users():
        for who, conf in (("confluent's SCRAM-SHA-512 user", carol_conf), ("Java's SCRAM-SHA-256 user", bob_conf)):
            md = admin(conf).list_topics(timeout=10)
            R.ok(f"after restart: {who} ({conf['sasl.username']}) still authenticates", f"{len(md.topics)} topics visible")
        d = a.describe_user_scram_credentials().result(15)
        got = {u: sorted(i.mechanism.name for i in v.scram_credential_infos) for u, v in d.items()}
        R.check("after restart: describe_user_scram_credentials lists both users",
                got.get(f"{P}carol") == ["SCRAM_SHA_512"] and got.get(f"{JP}bob") == ["SCRAM_SHA_256"], f"described {got}")
    R.run("users after restart", users)
    R.run("wrong password after restart", expect_refused, "after restart: a wrong password is still refused",
          sasl_conf(s_sasl, False, "SCRAM-SHA-512", f"{P}carol", "wrong-pw"), AUTH_CODES)

    def acls_listed():
        f = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY)
        got = {(b.restype.name, b.name, b.principal, b.operation.name) for b in a.describe_acls(f).result(15)}
        want = {("TOPIC", f"{P}-read", f"User:{P}carol", "READ"), ("GROUP", f"{P}-g-read", f"User:{P}carol", "READ"),
                ("TRANSACTIONAL_ID", f"{P}-tx-carol", f"User:{P}carol", "WRITE"), ("BROKER", "kafka-cluster", "User:CN=dave", "ALTER"),
                ("TOPIC", f"{JP}-read", f"User:{JP}bob", "READ"), ("TRANSACTIONAL_ID", f"{JP}-tx-bob", f"User:{JP}bob", "WRITE")}
        R.check("after restart: describe_acls still lists the ACLs Java and confluent created", want <= got,
                f"missing {sorted(want - got)}", f"{len(got)} ACLs")
    R.run("ACLs listed after restart", acls_listed)

    def acls_grant():
        dave = admin(ssl_conf(s_ssl, "dave"))  # kept referenced until its future is done
        ops = dave.describe_cluster(include_authorized_operations=True).result(15).authorized_operations or []
        R.check("after restart: the ACL on User:CN=dave (mTLS) still grants ALTER on the cluster", "ALTER" in {o.name for o in ops},
                f"authorized_operations {sorted(o.name for o in ops)}")
        got = consume(carol_conf, f"{P}-read", 30, timeout=15)
        R.check("after restart: the READ ACL still lets the SCRAM user consume", len(got) == 30, f"read {len(got)} of 30")
        expect_consume_error("after restart: a topic the SCRAM user has no ACL on is still refused (TOPIC_AUTHORIZATION_FAILED)",
                             carol_conf, f"{P}-hidden", f"{P}-assign", KafkaError.TOPIC_AUTHORIZATION_FAILED)
    R.run("ACLs grant after restart", acls_grant)


def grant_cmd():
    """`grant PRINCIPAL TYPE NAME OP`: the super user adds one ALLOW ACL (for run.sh's kcat checks)."""
    principal, rtype, name, op = sys.argv[2:6]
    a = admin(sasl_conf(ENV["S_SASL"], False, "PLAIN", "admin", "admin-pw"))
    # Setup only: no PASS line (run.sh counts a failure itself).
    R.run(f"grant {op} on {rtype} {name} to {principal}", grant, a, acl(ResourceType[rtype], name, principal, AclOperation[op]))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "open"
    t0 = time.monotonic()
    if mode == "grant":
        grant_cmd()
        return 1 if R.failed else 0
    {"open": open_broker, "secure": secure_broker, "restart": after_restart}[mode]()
    log(f"confluent-sec {mode} took {time.monotonic() - t0:.1f}s")
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
