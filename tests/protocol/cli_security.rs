//! The security commands and secure connections of the `brook` binary against a broker with
//! SASL, TLS and ACLs: `brook user add|list|delete` (users who then log in with SCRAM-SHA-256
//! and -512 through the CLI itself, over SASL_PLAINTEXT and SASL_SSL, and no longer once
//! deleted), `brook acl add|list|remove` (literal and prefixed, allow and deny; refused to a
//! user who is not a super user), mutual TLS, `--command-config` files of Kafka client
//! properties, and the one-line errors of wrong passwords and wrong security protocols.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use brook::config::listeners::{resolve, ClientAuth};

use crate::common::certs::{new_ca, signed, Ca};
use crate::common::*;

/// The longest one `brook` command may take before the test fails.
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// Runs `brook <args>`: (exit ok, stdout, stderr). The `BROOK_*` client variables of the
/// environment are removed (and `env` set instead), so the test sees only what it passes.
async fn brook_with_env(args: &[String], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_brook"));
    for var in [
        "BROOK_SECURITY_PROTOCOL",
        "BROOK_SASL_MECHANISM",
        "BROOK_SASL_USERNAME",
        "BROOK_SASL_PASSWORD",
        "BROOK_SSL_CA_LOCATION",
        "BROOK_SSL_CERTIFICATE_LOCATION",
        "BROOK_SSL_KEY_LOCATION",
        "BROOK_COMMAND_CONFIG",
        "BROOK_USER_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied()).args(args).args(["--timeout-ms", "10000"]).kill_on_drop(true);
    let out = tokio::time::timeout(COMMAND_LIMIT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("brook {args:?} took longer than {COMMAND_LIMIT:?}"))
        .expect("run brook");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// A `brook` invocation against one listener, logged in as `login` says.
#[derive(Clone)]
struct Cli {
    base: Vec<String>,
}

impl Cli {
    fn new(addr: SocketAddr, login: &[&str]) -> Self {
        let mut base = vec!["--bootstrap-server".to_string(), addr.to_string()];
        base.extend(login.iter().map(|s| s.to_string()));
        Self { base }
    }

    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        self.run_with_env(args, &[]).await
    }

    async fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(self.base.iter().cloned());
        brook_with_env(&all, env).await
    }

    /// Succeeds, its output.
    async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args).await;
        assert!(ok, "brook {args:?} failed: {err}");
        out
    }

    /// Succeeds with `--format json`, parsed.
    async fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        serde_json::from_str(&self.ok(&all).await).expect("JSON output")
    }

    /// Fails with one line on stderr and nothing on stdout: that line.
    async fn fails(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args).await;
        assert!(!ok, "brook {args:?} succeeded: {out}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        err.trim().to_string()
    }
}

fn listener(b: &TestBroker, name: &str) -> SocketAddr {
    b.handle.as_ref().expect("running").listeners.iter().find(|(n, _)| n == name).expect("the listener").1
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn p(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// SASL_PLAINTEXT and SASL_SSL listeners; PLAIN users admin (a super user) and bob; ACLs on.
fn secured(c: &mut BrokerConfig, chain: &str, key: &str) {
    c.listeners = resolve(
        c.listen,
        "SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
        "",
        "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
    )
    .unwrap();
    c.sasl.plain_users = "admin:admin-pw,bob:bob-pw".into();
    c.acl.enabled = true;
    c.acl.super_users = "User:admin".into();
    c.tls.keystore_certificate_chain = chain.to_string();
    c.tls.keystore_key = key.to_string();
}

struct Secured {
    broker: TestBroker,
    dir: tempfile::TempDir,
    ca_file: PathBuf,
    sasl_plaintext: SocketAddr,
    sasl_ssl: SocketAddr,
}

async fn start_secured() -> Secured {
    let ca = new_ca();
    let (chain, key) = signed(&ca, "localhost");
    let broker = TestBroker::start_with(|c| secured(c, &chain, &key)).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.cert.pem());
    let (sasl_plaintext, sasl_ssl) = (listener(&broker, "SASL_PLAINTEXT"), listener(&broker, "SASL_SSL"));
    Secured { broker, dir, ca_file, sasl_plaintext, sasl_ssl }
}

impl Secured {
    /// Logged in over SASL_PLAINTEXT.
    fn as_user(&self, mechanism: &str, user: &str, password: &str) -> Cli {
        Cli::new(
            self.sasl_plaintext,
            &[
                "--security-protocol",
                "SASL_PLAINTEXT",
                "--sasl-mechanism",
                mechanism,
                "--sasl-username",
                user,
                "--sasl-password",
                password,
            ],
        )
    }

    /// Logged in over SASL_SSL, trusting the test's CA.
    fn as_user_over_tls(&self, mechanism: &str, user: &str, password: &str) -> Cli {
        Cli::new(
            self.sasl_ssl,
            &[
                "--security-protocol",
                "SASL_SSL",
                "--ssl-ca-location",
                p(&self.ca_file),
                "--sasl-mechanism",
                mechanism,
                "--sasl-username",
                user,
                "--sasl-password",
                password,
            ],
        )
    }

    fn admin(&self) -> Cli {
        self.as_user("PLAIN", "admin", "admin-pw")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_added_listed_and_deleted_and_log_in_through_the_cli() {
    let s = start_secured().await;
    let admin = s.admin();
    let added = admin.json(&["user", "add", "alice", "--password", "alice-pw"]).await;
    assert_eq!(added, json!([{"User": "alice", "Mechanism": "SCRAM-SHA-256", "Iterations": 4096}]));
    let table = admin
        .ok(&["user", "add", "alice", "--password", "alice-pw", "--mechanism", "scram-sha-512", "--iterations", "8192"])
        .await;
    assert_eq!(
        table.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["User", "Mechanism", "Iterations"]
    );
    // A password from the variable, kept out of the process list.
    let (ok, _, err) = admin.run_with_env(&["user", "add", "carol"], &[("BROOK_USER_PASSWORD", "carol-pw")]).await;
    assert!(ok, "{err}");
    let listed = admin.json(&["user", "list"]).await;
    assert_eq!(
        listed,
        json!([
            {"User": "alice", "Mechanism": "SCRAM-SHA-256", "Iterations": 4096},
            {"User": "alice", "Mechanism": "SCRAM-SHA-512", "Iterations": 8192},
            {"User": "carol", "Mechanism": "SCRAM-SHA-256", "Iterations": 4096},
        ])
    );
    assert_eq!(admin.json(&["user", "list", "carol"]).await.as_array().unwrap().len(), 1);
    assert_eq!(admin.fails(&["user", "list", "nobody"]).await, "brook: user nobody: has no SCRAM credentials");
    let err = admin.fails(&["user", "add", "eve", "--password", "x", "--iterations", "10"]).await;
    assert!(
        err.starts_with("brook: cannot add SCRAM-SHA-256 credential of user eve: UNACCEPTABLE_CREDENTIAL (93)"),
        "{err}"
    );
    let err = admin.fails(&["user", "add", "eve", "--password", "x", "--mechanism", "MD5"]).await;
    assert!(err.contains("unknown SCRAM mechanism \"MD5\""), "{err}");

    // alice logs in with either mechanism, over plaintext and over TLS.
    for cli in [
        s.as_user("SCRAM-SHA-256", "alice", "alice-pw"),
        s.as_user("SCRAM-SHA-512", "alice", "alice-pw"),
        s.as_user_over_tls("SCRAM-SHA-256", "alice", "alice-pw"),
        s.as_user_over_tls("scram-sha-512", "alice", "alice-pw"),
    ] {
        let info = cli.json(&["cluster", "info"]).await;
        assert!(info["brokers"].as_array().is_some_and(|b| b.len() == 1), "{info}");
    }
    // The password from the variable.
    let cli = Cli::new(
        s.sasl_plaintext,
        &["--security-protocol", "SASL_PLAINTEXT", "--sasl-mechanism", "SCRAM-SHA-256", "--sasl-username", "carol"],
    );
    let (ok, _, err) = cli.run_with_env(&["cluster", "info"], &[("BROOK_SASL_PASSWORD", "carol-pw")]).await;
    assert!(ok, "{err}");

    // A wrong password: Kafka's message, one line, a failing exit.
    let err = s.as_user("SCRAM-SHA-256", "alice", "wrong").fails(&["cluster", "info"]).await;
    assert_eq!(
        err,
        format!(
            "brook: {}: SCRAM-SHA-256 login as alice failed: Authentication failed during authentication due to \
             invalid credentials with SASL mechanism SCRAM-SHA-256",
            s.sasl_plaintext
        )
    );
    let err = s.as_user_over_tls("SCRAM-SHA-512", "alice", "wrong").fails(&["topic", "list"]).await;
    assert!(err.contains("SCRAM-SHA-512 login as alice failed"), "{err}");
    // alice is not a super user: she may not manage users.
    let err = s.as_user("SCRAM-SHA-256", "alice", "alice-pw").fails(&["user", "list"]).await;
    assert!(err.starts_with("brook: cannot list users: CLUSTER_AUTHORIZATION_FAILED (31)"), "{err}");
    // The wrong security protocol for the listener is named.
    let err = Cli::new(s.sasl_plaintext, &[]).fails(&["topic", "list"]).await;
    assert!(err.contains("the broker closed the connection (is the listener's security protocol PLAINTEXT?"), "{err}");

    // Deleting one mechanism, then the rest.
    let deleted = admin.json(&["user", "delete", "alice", "--mechanism", "SCRAM-SHA-512"]).await;
    assert_eq!(deleted, json!([{"User": "alice", "Mechanism": "SCRAM-SHA-512"}]));
    let err = s.as_user("SCRAM-SHA-512", "alice", "alice-pw").fails(&["cluster", "info"]).await;
    assert!(err.contains("SCRAM-SHA-512 login as alice failed"), "{err}");
    s.as_user("SCRAM-SHA-256", "alice", "alice-pw").ok(&["cluster", "info"]).await;
    let err = admin.fails(&["user", "delete", "alice", "--mechanism", "SCRAM-SHA-512"]).await;
    assert_eq!(err, "brook: user alice: has no SCRAM-SHA-512 credential");
    let deleted = admin.json(&["user", "delete", "alice"]).await;
    assert_eq!(deleted, json!([{"User": "alice", "Mechanism": "SCRAM-SHA-256"}]));
    let err = s.as_user("SCRAM-SHA-256", "alice", "alice-pw").fails(&["cluster", "info"]).await;
    assert!(err.contains("SCRAM-SHA-256 login as alice failed"), "{err}");
    assert_eq!(admin.fails(&["user", "delete", "alice"]).await, "brook: user alice: has no SCRAM credentials");
    assert_eq!(admin.json(&["user", "list"]).await.as_array().unwrap().len(), 1, "carol is left");
    drop(s.dir);
    s.broker.stop().await;
}

/// The ACL rows of `brook acl ... --format json`, as (principal, permission, operation, type,
/// name, pattern, host).
fn acl_rows(v: &Value) -> Vec<[String; 7]> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|r| {
            ["Principal", "Permission", "Operation", "ResourceType", "ResourceName", "PatternType", "Host"]
                .map(|k| r[k].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

fn row(cells: [&str; 7]) -> [String; 7] {
    cells.map(String::from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_are_added_listed_and_removed_through_the_cli() {
    let s = start_secured().await;
    let admin = s.admin();
    let added = admin
        .json(&[
            "acl",
            "add",
            "--allow-principal",
            "User:bob",
            "--operation",
            "Read",
            "--operation",
            "describe",
            "--topic",
            "orders",
        ])
        .await;
    assert_eq!(
        acl_rows(&added),
        vec![
            row(["User:bob", "ALLOW", "READ", "TOPIC", "orders", "LITERAL", "*"]),
            row(["User:bob", "ALLOW", "DESCRIBE", "TOPIC", "orders", "LITERAL", "*"]),
        ]
    );
    admin
        .ok(&[
            "acl",
            "add",
            "--allow-principal",
            "User:bob",
            "--operation",
            "READ",
            "--group",
            "bob-",
            "--resource-pattern-type",
            "prefixed",
        ])
        .await;
    admin
        .ok(&[
            "acl",
            "add",
            "--deny-principal",
            "User:bob",
            "--operation",
            "Write",
            "--topic",
            "orders",
            "--host",
            "10.0.0.1",
        ])
        .await;
    admin.ok(&["acl", "add", "--allow-principal", "User:*", "--operation", "DescribeConfigs", "--cluster"]).await;

    let all = acl_rows(&admin.json(&["acl", "list"]).await);
    assert_eq!(all.len(), 5, "{all:?}");
    assert!(all.contains(&row(["User:bob", "DENY", "WRITE", "TOPIC", "orders", "LITERAL", "10.0.0.1"])));
    assert!(all.contains(&row(["User:bob", "ALLOW", "READ", "GROUP", "bob-", "PREFIXED", "*"])));
    assert!(all.contains(&row(["User:*", "ALLOW", "DESCRIBE_CONFIGS", "CLUSTER", "kafka-cluster", "LITERAL", "*"])));
    assert_eq!(acl_rows(&admin.json(&["acl", "list", "--topic", "orders"]).await).len(), 3);
    let reads = acl_rows(&admin.json(&["acl", "list", "--principal", "User:bob", "--operation", "read"]).await);
    assert_eq!(reads.len(), 2, "{reads:?}");
    let denied = acl_rows(&admin.json(&["acl", "list", "--deny-principal", "User:bob"]).await);
    assert_eq!(denied, vec![row(["User:bob", "DENY", "WRITE", "TOPIC", "orders", "LITERAL", "10.0.0.1"])]);
    // `match`: the ACLs that apply to group bob-workers (the prefixed one).
    let applying =
        acl_rows(&admin.json(&["acl", "list", "--group", "bob-workers", "--resource-pattern-type", "match"]).await);
    assert_eq!(applying, vec![row(["User:bob", "ALLOW", "READ", "GROUP", "bob-", "PREFIXED", "*"])]);
    // The table names the columns.
    let table = admin.ok(&["acl", "list", "--cluster"]).await;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["Principal", "Host", "Operation", "Permission", "ResourceType", "ResourceName", "PatternType"]);
    assert_eq!(table.lines().count(), 2, "{table}");

    // Removing: what matched is printed.
    let removed = acl_rows(&admin.json(&["acl", "remove", "--topic", "orders", "--deny-principal", "User:bob"]).await);
    assert_eq!(removed, vec![row(["User:bob", "DENY", "WRITE", "TOPIC", "orders", "LITERAL", "10.0.0.1"])]);
    let removed =
        acl_rows(&admin.json(&["acl", "remove", "--group", "bob-", "--resource-pattern-type", "prefixed"]).await);
    assert_eq!(removed.len(), 1);
    assert_eq!(acl_rows(&admin.json(&["acl", "remove", "--group", "nothing-here"]).await), Vec::<[String; 7]>::new());
    assert_eq!(acl_rows(&admin.json(&["acl", "list"]).await).len(), 3);

    // Usage mistakes are refused before connecting, in one line.
    for (args, why) in [
        (
            vec!["acl", "add", "--topic", "t", "--operation", "Read"],
            "acl add needs --allow-principal or --deny-principal",
        ),
        (vec!["acl", "add", "--topic", "t", "--allow-principal", "User:bob"], "acl add needs --operation"),
        (vec!["acl", "add", "--allow-principal", "User:bob", "--operation", "Read"], "acl add needs a resource"),
        (
            vec![
                "acl",
                "add",
                "--topic",
                "t",
                "--allow-principal",
                "User:bob",
                "--operation",
                "Read",
                "--resource-pattern-type",
                "match",
            ],
            "literal or prefixed",
        ),
        (vec!["acl", "add", "--topic", "t", "--allow-principal", "bob", "--operation", "Read"], "is not Type:Name"),
        (
            vec!["acl", "add", "--topic", "t", "--allow-principal", "User:bob", "--operation", "Fly"],
            "unknown operation \"Fly\"",
        ),
        (vec!["acl", "remove", "--principal", "User:bob"], "acl remove needs a resource"),
    ] {
        let err = admin.fails(&args).await;
        assert!(err.contains(why), "{args:?}: {err}");
    }

    // bob is no super user: Kafka's refusal, with what it means.
    let bob = s.as_user("PLAIN", "bob", "bob-pw");
    let err = bob.fails(&["acl", "add", "--allow-principal", "User:bob", "--operation", "All", "--topic", "*"]).await;
    assert!(
        err.starts_with("brook: cannot add User:bob ALLOW ALL on TOPIC * (LITERAL): CLUSTER_AUTHORIZATION_FAILED (31)"),
        "{err}"
    );
    assert!(err.contains("managing users and ACLs needs ALTER on the cluster"), "{err}");
    let err = bob.fails(&["acl", "list"]).await;
    assert!(err.starts_with("brook: cannot list ACLs: CLUSTER_AUTHORIZATION_FAILED (31)"), "{err}");
    let err = bob.fails(&["acl", "remove", "--topic", "orders"]).await;
    assert!(err.starts_with("brook: cannot remove ACLs: CLUSTER_AUTHORIZATION_FAILED (31)"), "{err}");
    assert_eq!(acl_rows(&admin.json(&["acl", "list"]).await).len(), 3, "bob changed nothing");
    drop(s.dir);
    s.broker.stop().await;
}

/// SSL and SASL_SSL listeners that require a client certificate; no authorizer.
fn mutual_tls(c: &mut BrokerConfig, chain: &str, key: &str, ca: &str) {
    c.listeners =
        resolve(c.listen, "SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0", "", "SSL:SSL,SASL_SSL:SASL_SSL").unwrap();
    c.tls.keystore_certificate_chain = chain.to_string();
    c.tls.keystore_key = key.to_string();
    c.tls.truststore_certificates = ca.to_string();
    c.tls.client_auth = ClientAuth::Required;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_and_command_config_files_connect_the_cli() {
    let ca: Ca = new_ca();
    let (chain, key) = signed(&ca, "localhost");
    let b = TestBroker::start_with(|c| mutual_tls(c, &chain, &key, &ca.cert.pem())).await;
    let (ssl, sasl_ssl) = (listener(&b, "SSL"), listener(&b, "SASL_SSL"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca_file = write(d, "ca.pem", &ca.cert.pem());
    let (client_cert, client_key) = signed(&ca, "cli-client");
    let cert_file = write(d, "client.pem", &client_cert);
    let key_file = write(d, "client.key", &client_key);
    // Kafka's PEM keystore: the key and the chain in one file.
    let keystore = write(d, "keystore.pem", &format!("{client_key}{client_cert}"));

    // Flags: the CA, the client's certificate and key.
    let flags = Cli::new(
        ssl,
        &[
            "--security-protocol",
            "SSL",
            "--ssl-ca-location",
            p(&ca_file),
            "--ssl-certificate-location",
            p(&cert_file),
            "--ssl-key-location",
            p(&key_file),
        ],
    );
    flags.ok(&["topic", "create", "mtls-t", "-p", "2"]).await;
    flags.ok(&["user", "add", "dave", "--password", "dave-pw", "--mechanism", "SCRAM-SHA-512"]).await;

    // A Kafka client properties file: SSL with a PEM truststore and keystore.
    let ssl_config = write(
        d,
        "ssl.properties",
        &format!(
            "# as for kafka-topics.sh --command-config\nsecurity.protocol=SSL\nssl.truststore.type=PEM\n\
             ssl.truststore.location={}\nssl.keystore.type=PEM\nssl.keystore.location={}\n",
            p(&ca_file),
            p(&keystore)
        ),
    );
    let from_file = Cli::new(ssl, &["--command-config", p(&ssl_config)]);
    let topics = from_file.json(&["topic", "list"]).await;
    assert_eq!(topics[0]["Name"], "mtls-t", "{topics}");

    // SASL_SSL with JAAS credentials, across continued lines.
    let sasl_config = write(
        d,
        "sasl.properties",
        &format!(
            "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n  \
             username=\"dave\" \\\n  password=\"dave-pw\";\n\
             ssl.truststore.location={}\nssl.keystore.location={}\n",
            p(&ca_file),
            p(&keystore)
        ),
    );
    let dave = Cli::new(sasl_ssl, &["--command-config", p(&sasl_config)]);
    assert_eq!(dave.json(&["topic", "list"]).await[0]["Name"], "mtls-t");
    // A flag wins over the file: the wrong password fails.
    let err = Cli::new(sasl_ssl, &["--command-config", p(&sasl_config), "--sasl-password", "nope"])
        .fails(&["topic", "list"])
        .await;
    assert!(err.contains("SCRAM-SHA-512 login as dave failed"), "{err}");

    // Refusals, each one line: no client certificate, another CA, plaintext on a TLS port,
    // SSL without a CA, a missing file.
    let no_cert = Cli::new(ssl, &["--security-protocol", "SSL", "--ssl-ca-location", p(&ca_file)]);
    let err = no_cert.fails(&["topic", "list"]).await;
    assert!(err.contains("the broker requires a client certificate"), "{err}");
    let other = new_ca();
    let other_file = write(d, "other-ca.pem", &other.cert.pem());
    let err = Cli::new(ssl, &["--security-protocol", "SSL", "--ssl-ca-location", p(&other_file)])
        .fails(&["topic", "list"])
        .await;
    assert!(
        err.starts_with(&format!("brook: cannot connect to {ssl}: TLS handshake failed: invalid peer certificate")),
        "{err}"
    );
    let err = Cli::new(ssl, &[]).fails(&["topic", "list"]).await;
    assert!(err.contains("the broker answered in TLS") || err.contains("the broker closed the connection"), "{err}");
    let err = Cli::new(ssl, &["--security-protocol", "SSL"]).fails(&["topic", "list"]).await;
    assert_eq!(err, "brook: SSL needs --ssl-ca-location: the PEM file of the CA that signed the broker's certificate");
    let err = Cli::new(ssl, &["--command-config", p(&d.join("missing.properties"))]).fails(&["topic", "list"]).await;
    assert!(err.starts_with("brook: cannot read --command-config"), "{err}");
    let err = Cli::new(
        sasl_ssl,
        &["--security-protocol", "SASL_SSL", "--ssl-ca-location", p(&ca_file), "--sasl-mechanism", "PLAIN"],
    )
    .fails(&["topic", "list"])
    .await;
    assert!(err.contains("SASL_SSL needs --sasl-username and --sasl-password"), "{err}");
    drop(dir);
    b.stop().await;
}

/// KIP-368: a broker with `connections.max.reauth.ms` refuses a session's requests once it
/// ends; a long-lived command connection (`brook consume` following a topic) logs in again
/// before then, on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_connection_logs_in_again_before_its_session_ends() {
    use brook::cli::client::{Conn, Connector};
    use brook::cli::secure::SecurityArgs;
    use kafka_protocol::messages::MetadataRequest;

    let b = TestBroker::start_with(|c| {
        c.listeners = resolve(c.listen, "SASL_PLAINTEXT://127.0.0.1:0", "", "SASL_PLAINTEXT:SASL_PLAINTEXT").unwrap();
        c.sasl.plain_users = "alice:alice-pw".into();
        c.sasl.max_reauth_ms = 600;
    })
    .await;
    let args = SecurityArgs {
        security_protocol: Some("SASL_PLAINTEXT".into()),
        sasl_mechanism: Some("PLAIN".into()),
        sasl_username: Some("alice".into()),
        sasl_password: Some("alice-pw".into()),
        ..SecurityArgs::default()
    };
    let connector = Connector::new(Duration::from_secs(5), args.resolve().expect("valid options"));
    let addr = b.addr().to_string();
    let mut conn = Conn::connect(&addr, &connector).await.expect("logged in");
    let metadata = MetadataRequest::default().with_topics(Some(Vec::new()));
    // 2.4 s of requests over a 0.6 s session: four renewals.
    for _ in 0..8 {
        let (_, r) = conn.call(&metadata, 1..=12).await.expect("the session is renewed in time");
        assert_eq!(r.brokers.len(), 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    drop(conn);
    b.stop().await;
}
