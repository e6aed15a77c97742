//! Committed offsets and group metadata live in `__consumer_offsets` and survive a graceful
//! restart and an unclean one (the broker dropped without shutdown) exactly.

use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
use kafka_protocol::messages::*;

use crate::common::groups::*;
use crate::common::*;

const T: &str = "dur";

/// What the groups look like before the restart.
struct Before {
    /// (group, every committed partition)
    offsets: Vec<(String, Vec<Fetched>)>,
    stable_member: String,
    static_old: String,
    static_new: String,
}

const GROUPS: [&str; 6] = ["dur-stable", "dur-solo", "dur-empty", "dur-deleted", "dur-offdel", "dur-static"];

async fn setup(b: &TestBroker) -> Before {
    let mut c = b.client().await;
    create_topic(&mut c, T, 3).await;

    // A Stable group whose member commits.
    let (a, gen) = stable_single(&mut c, "dur-stable", &[T], b"assign-a").await;
    commit_ok(&mut c, "dur-stable", gen, &a, &[(T, 0, 10, Some("m-a")), (T, 1, 11, None)]).await;

    // Standalone commits, the later one wins.
    commit_standalone(&mut c, "dur-solo", &[(T, 2, 99, Some("solo"))]).await;
    commit_standalone(&mut c, "dur-solo", &[(T, 2, 100, Some("solo2")), (T, 0, 7, None)]).await;

    // A group whose only member left: Empty, offsets kept.
    let mut c2 = b.client().await;
    let (e, egen) = stable_single(&mut c2, "dur-empty", &[T], b"e").await;
    commit_ok(&mut c2, "dur-empty", egen, &e, &[(T, 0, 5, Some("e"))]).await;
    assert_eq!(leave(&mut c2, "dur-empty", &[(&e, None)]).await.members[0].error_code, NONE);
    assert_eq!(group_state(&mut c2, "dur-empty").await, "Empty");

    // Deleted group and deleted offsets stay deleted.
    commit_standalone(&mut c, "dur-deleted", &[(T, 0, 1, None)]).await;
    assert_eq!(delete_groups(&mut c, &["dur-deleted"]).await, vec![("dur-deleted".to_string(), NONE)]);
    commit_standalone(&mut c, "dur-offdel", &[(T, 0, 1, None), (T, 1, 2, None)]).await;
    let req = OffsetDeleteRequest::default().with_group_id(gid("dur-offdel")).with_topics(vec![
        OffsetDeleteRequestTopic::default()
            .with_name(tn(T))
            .with_partitions(vec![OffsetDeleteRequestPartition::default().with_partition_index(1)]),
    ]);
    assert_eq!(c.call(&req, 0).await.error_code, NONE);

    // A static member that was replaced by a restarted instance.
    let protos = consumer_protocols(&["range"], &[T]);
    let j = c.call(&join_request("dur-static", "", Some("inst-d"), "consumer", protos.clone()), 9).await;
    let static_old = j.member_id.to_string();
    assert_eq!(
        sync(&mut c, "dur-static", 1, &static_old, Some("inst-d"), &[(&static_old, b"S")]).await.error_code,
        NONE
    );
    let j = c.call(&join_request("dur-static", "", Some("inst-d"), "consumer", protos), 9).await;
    assert_eq!((j.error_code, j.generation_id), (NONE, 1));
    let static_new = j.member_id.to_string();

    let mut offsets = Vec::new();
    for g in GROUPS {
        offsets.push((g.to_string(), fetch_offsets(&mut c, g, None).await));
    }
    assert_eq!(offsets[0].1.len(), 2, "dur-stable has two commits");
    assert_eq!(offsets[1].1.len(), 2, "dur-solo has two commits");
    assert!(offsets[3].1.is_empty(), "dur-deleted has none");
    assert_eq!(offsets[4].1.len(), 1, "dur-offdel has one left");
    Before { offsets, stable_member: a, static_old, static_new }
}

async fn verify(b: &TestBroker, before: &Before) {
    let mut c = b.client().await;
    for (g, want) in &before.offsets {
        assert_eq!(&fetch_offsets(&mut c, g, None).await, want, "committed offsets of {g} after the restart");
    }
    assert_eq!(
        fetch_offsets(&mut c, "dur-solo", Some(&[(T, &[2])])).await,
        vec![(T.to_string(), 2, 100, Some("solo2".to_string()), NONE)]
    );

    // Group states.
    assert_eq!(group_state(&mut c, "dur-empty").await, "Empty", "an Empty group stays Empty");
    assert_eq!(describe(&mut c, "dur-empty").await.protocol_type.as_str(), "consumer");
    assert_eq!(group_state(&mut c, "dur-deleted").await, "Dead", "a deleted group stays deleted");
    let listed: Vec<String> = list_groups(&mut c, &[]).await.into_iter().map(|g| g.0).collect();
    assert!(!listed.contains(&"dur-deleted".to_string()), "{listed:?}");
    for g in ["dur-stable", "dur-solo", "dur-empty", "dur-offdel", "dur-static"] {
        assert!(listed.contains(&g.to_string()), "{g} is listed after the restart: {listed:?}");
    }

    // The Stable group comes back Stable with its member, generation and assignment.
    let a = &before.stable_member;
    let d = describe(&mut c, "dur-stable").await;
    assert_eq!(d.group_state.as_str(), "Stable");
    assert_eq!(d.members.len(), 1);
    assert_eq!(d.members[0].member_id.as_str(), a);
    assert_eq!(d.members[0].member_assignment.as_ref(), b"assign-a");
    assert_eq!(heartbeat(&mut c, "dur-stable", 1, a, None).await, NONE, "the member's session carries on");
    let s = sync(&mut c, "dur-stable", 1, a, None, &[]).await;
    assert_eq!((s.error_code, s.assignment.as_ref()), (NONE, &b"assign-a"[..]));
    let j =
        c.call(&join_request("dur-stable", a, None, "consumer", consumer_protocols(&["range"], &[T])), JOIN_V).await;
    assert_eq!((j.error_code, j.generation_id), (NONE, 2), "the generation continues from 1");

    // The static mapping was persisted: the replaced id is still fenced.
    assert_eq!(heartbeat(&mut c, "dur-static", 1, &before.static_new, Some("inst-d")).await, NONE);
    assert_eq!(heartbeat(&mut c, "dur-static", 1, &before.static_old, Some("inst-d")).await, FENCED_INSTANCE_ID);
    let s = sync(&mut c, "dur-static", 1, &before.static_new, Some("inst-d"), &[]).await;
    assert_eq!((s.error_code, s.assignment.as_ref()), (NONE, &b"S"[..]));

    // The Empty group's generation continues too (1 -> 2 when it emptied -> 3 now).
    let mut c2 = b.client().await;
    let j = join_new(&mut c2, "dur-empty", consumer_protocols(&["range"], &[T])).await;
    assert_eq!((j.error_code, j.generation_id), (NONE, 3), "dur-empty generation after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_offsets_survive_a_graceful_restart() {
    let mut b = TestBroker::start().await;
    let before = setup(&b).await;
    b.restart().await;
    verify(&b, &before).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_offsets_survive_an_unclean_restart() {
    let mut b = TestBroker::start().await;
    let before = setup(&b).await;
    b.crash_restart().await;
    verify(&b, &before).await;
    b.stop().await;
}

/// Two restarts in a row (replay of a replayed log) keep the same state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_survive_repeated_restarts() {
    let mut b = TestBroker::start().await;
    {
        let mut c = b.client().await;
        create_topic(&mut c, "dur2", 1).await;
        for i in 0..20 {
            commit_standalone(&mut c, "dur2-g", &[("dur2", 0, i, Some(&format!("m{i}")))]).await;
        }
    }
    b.restart().await;
    {
        let mut c = b.client().await;
        assert_eq!(committed(&mut c, "dur2-g", "dur2", 0).await, 19);
        commit_standalone(&mut c, "dur2-g", &[("dur2", 0, 20, Some("after-first-restart"))]).await;
    }
    b.crash_restart().await;
    let mut c = b.client().await;
    assert_eq!(
        fetch_offsets(&mut c, "dur2-g", None).await,
        vec![("dur2".to_string(), 0, 20, Some("after-first-restart".to_string()), NONE)]
    );
    b.stop().await;
}

/// Reads every record of every `__consumer_offsets` partition: (partition, offset), and the
/// partition's high watermark.
async fn offsets_topic_offsets(c: &mut Client) -> Vec<(i32, Vec<i64>, i64)> {
    let mut out = Vec::new();
    for p in 0..3 {
        let hw = fetch(c, "__consumer_offsets", p, 0).await.high_watermark;
        let mut seen = Vec::new();
        let mut offset = 0;
        while offset < hw {
            let part = fetch(c, "__consumer_offsets", p, offset).await;
            let recs = decode_records(&part.records);
            if recs.is_empty() {
                break;
            }
            let before = seen.len();
            for r in recs.iter().filter(|r| r.offset >= offset) {
                seen.push(r.offset);
            }
            if seen.len() == before {
                break;
            }
            offset = *seen.last().unwrap() + 1;
        }
        out.push((p, seen, hw));
    }
    out
}

/// Every record the coordinator writes gets its own offset: a commit of several partitions
/// (one batch of several records) must not leave records with duplicate offsets behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_topic_records_get_distinct_increasing_offsets() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "seq", 4).await;
    commit_standalone(&mut c, "seq-g", &[("seq", 0, 1, None), ("seq", 1, 2, None), ("seq", 2, 3, None)]).await;
    commit_standalone(&mut c, "seq-g", &[("seq", 3, 4, None)]).await;
    let all = offsets_topic_offsets(&mut c).await;
    let total: usize = all.iter().map(|(_, offs, _)| offs.len()).sum();
    assert_eq!(total, 4, "four offset records: {all:?}");
    for (p, offs, hw) in &all {
        let expected: Vec<i64> = (0..offs.len() as i64).collect();
        assert_eq!(offs, &expected, "__consumer_offsets-{p}: consecutive offsets");
        assert_eq!(*hw, offs.len() as i64, "__consumer_offsets-{p}: high watermark counts every record");
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_partition_commit_survives_restart() {
    let mut b = TestBroker::start().await;
    let want = {
        let mut c = b.client().await;
        create_topic(&mut c, "mp", 3).await;
        // A first record, so the multi-record batch below does not start at offset 0.
        commit_standalone(&mut c, "mp-g", &[("mp", 0, 9, None)]).await;
        commit_standalone(&mut c, "mp-g", &[("mp", 0, 10, Some("a")), ("mp", 1, 11, Some("b")), ("mp", 2, 12, None)])
            .await;
        fetch_offsets(&mut c, "mp-g", None).await
    };
    assert_eq!(want.len(), 3);
    b.restart().await;
    let mut c = b.client().await;
    assert_eq!(fetch_offsets(&mut c, "mp-g", None).await, want, "all three partitions after the restart");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_group_with_several_offsets_stays_deleted_after_restart() {
    let mut b = TestBroker::start().await;
    {
        let mut c = b.client().await;
        create_topic(&mut c, "dg", 2).await;
        commit_standalone(&mut c, "dg-g", &[("dg", 0, 1, None)]).await;
        commit_standalone(&mut c, "dg-g", &[("dg", 1, 2, None)]).await;
        assert_eq!(delete_groups(&mut c, &["dg-g"]).await, vec![("dg-g".to_string(), NONE)]);
    }
    b.restart().await;
    let mut c = b.client().await;
    assert!(fetch_offsets(&mut c, "dg-g", None).await.is_empty(), "no offset comes back");
    assert_eq!(group_state(&mut c, "dg-g").await, "Dead", "the group does not come back");
    b.stop().await;
}

/// Group metadata alone (one record per change): a Stable group, an Empty group and a
/// replaced static member come back as they were, after a graceful and an unclean restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_metadata_survives_restarts() {
    let mut b = TestBroker::start().await;
    let (a, e, s_old, s_new) = {
        let mut c = b.client().await;
        create_topic(&mut c, "gm", 1).await;
        let (a, gen) = stable_single(&mut c, "gm-stable", &["gm"], b"assign-a").await;
        commit_ok(&mut c, "gm-stable", gen, &a, &[("gm", 0, 10, Some("m"))]).await;
        let mut c2 = b.client().await;
        let (e, _) = stable_single(&mut c2, "gm-empty", &["gm"], b"e").await;
        assert_eq!(leave(&mut c2, "gm-empty", &[(&e, None)]).await.members[0].error_code, NONE);
        let protos = consumer_protocols(&["range"], &["gm"]);
        let j = c.call(&join_request("gm-static", "", Some("inst-g"), "consumer", protos.clone()), 9).await;
        let s_old = j.member_id.to_string();
        assert_eq!(sync(&mut c, "gm-static", 1, &s_old, Some("inst-g"), &[(&s_old, b"S")]).await.error_code, NONE);
        let j = c.call(&join_request("gm-static", "", Some("inst-g"), "consumer", protos), 9).await;
        (a, e, s_old, j.member_id.to_string())
    };
    for round in ["graceful", "unclean"] {
        if round == "graceful" {
            b.restart().await;
        } else {
            b.crash_restart().await;
        }
        let mut c = b.client().await;
        assert_eq!(committed(&mut c, "gm-stable", "gm", 0).await, 10, "{round}");
        let d = describe(&mut c, "gm-stable").await;
        assert_eq!(d.group_state.as_str(), "Stable", "{round}");
        assert_eq!(d.members.len(), 1, "{round}");
        assert_eq!(
            (d.members[0].member_id.as_str(), d.members[0].member_assignment.as_ref()),
            (a.as_str(), &b"assign-a"[..])
        );
        assert_eq!(heartbeat(&mut c, "gm-stable", 1, &a, None).await, NONE, "{round}: the member carries on");
        assert_eq!(group_state(&mut c, "gm-empty").await, "Empty", "{round}: Empty stays Empty");
        assert_eq!(heartbeat(&mut c, "gm-empty", 1, &e, None).await, UNKNOWN_MEMBER_ID, "{round}");
        assert_eq!(heartbeat(&mut c, "gm-static", 1, &s_new, Some("inst-g")).await, NONE, "{round}");
        assert_eq!(heartbeat(&mut c, "gm-static", 1, &s_old, Some("inst-g")).await, FENCED_INSTANCE_ID, "{round}");
    }
    b.stop().await;
}

/// Brook writes `__consumer_offsets` uncompressed and clients cannot produce to it, so a
/// compressed batch found there at startup is damage: replay skips it instead of inflating
/// whatever it claims (here it would forge a committed offset), and loads the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_batch_in_the_offsets_topic_is_skipped_at_replay() {
    use brook::group::codec::{offset_key, offset_value, OffsetValue};
    use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "t", 1).await;
    commit_standalone(&mut c, "honest", &[("t", 0, 7, None)]).await;
    let broker = b.handle.as_ref().expect("running").broker.clone();
    let part = broker.groups.partition_for("forged").expect("offsets partition");
    let value = OffsetValue { offset: 42, leader_epoch: -1, metadata: String::new(), commit_timestamp: now_ms() };
    let record = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: now_ms(),
        key: Some(offset_key("forged", "t", 0)),
        value: Some(offset_value(&value)),
        headers: Default::default(),
    };
    let mut buf = bytes::BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        [record].iter(),
        &RecordEncodeOptions { version: 2, compression: Compression::Gzip },
    )
    .expect("encode");
    let forged = buf.freeze();
    part.append(brook::log::batch::BatchHeader::parse(&forged).expect("header"), forged).expect("append");
    drop((part, broker, c));
    b.restart().await;
    let mut c = b.client().await;
    assert_eq!(committed(&mut c, "forged", "t", 0).await, -1, "the compressed batch is not replayed");
    assert_eq!(committed(&mut c, "honest", "t", 0).await, 7, "the rest of the topic is");
}

/// A group name owned by `__consumer_offsets` partition `partition` (of the tests' 3).
fn group_in(partition: i32, prefix: &str) -> String {
    (0..1000)
        .map(|i| format!("{prefix}-{i}"))
        .find(|g| brook::cluster::coordinator_partition(g, 3) == partition)
        .expect("some name hashes there")
}

/// OffsetFetch v8 for one group: (group-level error, committed offset of `t`-0).
async fn fetch_v8(c: &mut Client, group: &str) -> (i16, i64) {
    let req = OffsetFetchRequest::default().with_groups(vec![offset_fetch_request::OffsetFetchRequestGroup::default()
        .with_group_id(gid(group))
        .with_topics(Some(vec![offset_fetch_request::OffsetFetchRequestTopics::default()
            .with_name(tn("t"))
            .with_partition_indexes(vec![0])]))]);
    let r = c.call(&req, 8).await;
    let g = &r.groups[0];
    (g.error_code, g.topics.first().map_or(-1, |t| t.partitions[0].committed_offset))
}

/// After a start `__consumer_offsets` is replayed in the background, as Kafka loads its
/// coordinator partitions: the broker serves at once, every group API for a group whose
/// partition is not replayed yet answers COORDINATOR_LOAD_IN_PROGRESS (14, retriable), and
/// groups of replayed partitions are served. Here partition 0 cannot be read (an injected
/// EIO) until the fault is lifted; its load is retried and its groups then come back whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_load_in_the_background_and_answer_load_in_progress_meanwhile() {
    use brook::log::faults::{self, Fault, Point};
    const LOADING: i16 = 14;
    let (stuck, served) = (group_in(0, "stuck"), group_in(1, "served"));
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "t", 1).await;
    commit_standalone(&mut c, &stuck, &[("t", 0, 11, None)]).await;
    commit_standalone(&mut c, &served, &[("t", 0, 22, None)]).await;
    drop(c);
    b.handle.take().expect("running").shutdown().await.expect("graceful shutdown");
    let armed = faults::arm(Point::ReplayRead, b.path().join("__consumer_offsets-0"), Fault::eio());
    b.start_loading(|_| {}).await;
    let mut c = b.client().await;

    // The broker answers everything else at once: produce to a topic, its metadata.
    produce_ok(&mut c, "t", 0, batch(&[b"v"])).await;

    // The served group's partition replays (bounded wait), the stuck one's does not.
    let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
    loop {
        let (code, offset) = fetch_v8(&mut c, &served).await;
        if code == NONE {
            assert_eq!(offset, 22);
            break;
        }
        assert_eq!(code, LOADING);
        assert!(tokio::time::Instant::now() < deadline, "partition 1 never loaded");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(armed.hits() >= 1, "the load of partition 0 was tried");

    // Every group API for the stuck group: COORDINATOR_LOAD_IN_PROGRESS.
    assert_eq!(fetch_v8(&mut c, &stuck).await.0, LOADING, "OffsetFetch v8 (group-level)");
    let r = c.call(&offset_fetch_request(&stuck, Some(&[("t", &[0])])), 7).await;
    assert_eq!(r.error_code, LOADING, "OffsetFetch v7 (top-level)");
    let r = c.call(&offset_fetch_request(&stuck, Some(&[("t", &[0])])), 1).await;
    assert_eq!(r.topics[0].partitions[0].error_code, LOADING, "OffsetFetch v1 (per partition)");
    let r = c.call(&commit_request(&stuck, -1, "", None, &[("t", 0, 5, None)]), COMMIT_V).await;
    assert_eq!(commit_codes(&r), vec![("t".to_string(), 0, LOADING)], "OffsetCommit");
    let r = c.call(&join_request(&stuck, "", None, "consumer", consumer_protocols(&["range"], &["t"])), JOIN_V).await;
    assert_eq!(r.error_code, LOADING, "JoinGroup");
    assert_eq!(heartbeat(&mut c, &stuck, 1, "m", None).await, LOADING, "Heartbeat");
    let r = c.call(&sync_request(&stuck, 1, "m", None, &[]), SYNC_V).await;
    assert_eq!(r.error_code, LOADING, "SyncGroup");
    assert_eq!(leave(&mut c, &stuck, &[("m", None)]).await.error_code, LOADING, "LeaveGroup");
    assert_eq!(describe(&mut c, &stuck).await.error_code, LOADING, "DescribeGroups");
    assert_eq!(delete_groups(&mut c, &[&stuck]).await, vec![(stuck.clone(), LOADING)], "DeleteGroups");
    let r = c.call(&ListGroupsRequest::default(), LIST_GROUPS_V).await;
    assert_eq!(r.error_code, LOADING, "ListGroups while any partition loads");
    assert!(b.handle.as_ref().expect("running").broker.groups.loading());

    // The disk recovers: the retried load brings the group back as it was.
    drop(armed);
    b.wait_coordinators_loaded().await;
    assert_eq!(fetch_v8(&mut c, &stuck).await, (NONE, 11), "the stuck group after its retried load");
    assert_eq!(fetch_v8(&mut c, &served).await, (NONE, 22));
    assert_eq!(list_groups(&mut c, &[]).await.len(), 2, "ListGroups once everything is loaded");
    drop(c);
    b.stop().await;
}
