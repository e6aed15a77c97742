//! The broker's log lines, read from a broker process started with `--log-format json`: each
//! a JSON object; a connection's open and close at debug with the peer; a response carrying
//! an error code logged with the client id, the API, the error's Kafka name and the topic it
//! was about (warn for a corrupt batch, debug for a routine offset out of range).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use crate::common::process::BrokerProcess;
use crate::common::*;

/// The broker's JSON log lines as they are written, read on a thread of their own.
fn log_lines(broker: &mut BrokerProcess) -> mpsc::Receiver<String> {
    let mut out = broker.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut out, &mut line).is_ok_and(|n| n > 0) {
            if tx.send(std::mem::take(&mut line)).is_err() {
                return;
            }
        }
    });
    rx
}

/// A named test of a parsed log line.
type Wanted<'a> = (&'a str, &'a dyn Fn(&Value) -> bool);

/// Lines read until `wanted` all matched one (each a predicate on the parsed line), within
/// ten seconds; every line read must be a JSON object.
fn wait_for(lines: &mpsc::Receiver<String>, wanted: &[Wanted<'_>]) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut found: Vec<Option<Value>> = vec![None; wanted.len()];
    while found.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        let missing: Vec<&str> = wanted.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(w, _)| w.0).collect();
        let line = lines.recv_timeout(left).unwrap_or_else(|_| panic!("no log line for {missing:?}"));
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v.is_object(), "{line}");
        for ((_, matches), f) in wanted.iter().zip(found.iter_mut()) {
            if f.is_none() && matches(&v) {
                *f = Some(v.clone());
            }
        }
    }
    found.into_iter().map(|f| f.expect("found")).collect()
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    &v["fields"][name]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_name_the_client_the_api_and_the_topic() {
    let mut broker = BrokerProcess::start_with(&["--log-format", "json", "--log-level", "debug"], None);
    let lines = log_lines(&mut broker);
    let mut c = Client::connect_as(broker.addr, "log-test-client").await;
    create_topic(&mut c, "logged", 1).await;
    let mut bad = batch(&[b"hello"]).to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x55; // a record byte covered by the CRC
    assert_eq!(produce(&mut c, "logged", 0, Bytes::from(bad)).await.error_code, 2, "CORRUPT_MESSAGE");
    assert_eq!(fetch(&mut c, "logged", 0, 1_000).await.error_code, 1, "OFFSET_OUT_OF_RANGE");
    drop(c);

    let error_line = |error: &'static str| {
        move |v: &Value| field(v, "message") == "request answered with an error" && field(v, "error") == error
    };
    let (corrupt, out_of_range) = (error_line("CORRUPT_MESSAGE"), error_line("OFFSET_OUT_OF_RANGE"));
    let opened = |v: &Value| field(v, "message") == "connection opened";
    let closed = |v: &Value| field(v, "message") == "connection closed by the client";
    let found = wait_for(
        &lines,
        &[("corrupt", &corrupt), ("out of range", &out_of_range), ("opened", &opened), ("closed", &closed)],
    );
    let [corrupt, out_of_range, opened, closed] = &found[..] else { unreachable!() };
    assert_eq!(corrupt["level"], "WARN", "{corrupt}");
    assert_eq!(field(corrupt, "client_id"), "log-test-client");
    assert_eq!(field(corrupt, "api"), "Produce");
    assert_eq!(field(corrupt, "about"), "topic logged");
    assert_eq!(field(corrupt, "count"), 1);
    assert!(field(corrupt, "peer").as_str().is_some_and(|p| p.starts_with("127.0.0.1:")), "{corrupt}");
    // A consumer starting past the log is routine: debug, not warn.
    assert_eq!(out_of_range["level"], "DEBUG", "{out_of_range}");
    assert_eq!(field(out_of_range, "api"), "Fetch");
    assert_eq!(field(out_of_range, "about"), "topic logged");
    for conn in [opened, closed] {
        assert_eq!(conn["level"], "DEBUG", "{conn}");
        assert!(field(conn, "peer").as_str().is_some_and(|p| p.starts_with("127.0.0.1:")), "{conn}");
    }
    broker.assert_alive("logging");
}
