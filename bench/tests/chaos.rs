//! The chaos test, bounded: three chat nodes on one Redis, 24 members spread
//! over them, a publisher at 50 messages a second for 10 s; node 0 (the
//! publisher's) is killed with SIGKILL at 3 s and node 1 stopped with SIGTERM
//! at 6 s. Every acked message must reach every member exactly once, in order.
//!
//! Needs `redis-server`; skipped without it, except in CI (`CI` set), where
//! it fails. The long-running version is `cargo run -p wsboot-bench --bin chaos`.

use std::path::Path;
use std::time::Duration;

use wsboot_bench::chaos::{Action, Plan, RedisServer, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_messages_reach_every_member_once_in_order_across_node_failures() {
    let redis = match RedisServer::start_or_skip("the chaos test").await {
        Ok(Some(redis)) => redis,
        Ok(None) => return,
        Err(problem) => panic!("{problem}"),
    };
    let plan = Plan::rounds(3, 24, 50.0, Duration::from_secs(10), 1, false);
    assert_eq!(
        plan.events,
        [(Duration::from_secs(3), Action::Kill(0)), (Duration::from_secs(6), Action::Terminate(1))],
        "node 0 is killed at 3 s, node 1 stopped at 6 s"
    );
    let node = Path::new(env!("CARGO_BIN_EXE_chaos-node"));
    let report = run(&plan, node, &redis.url(), |line| eprintln!("{line}")).await.expect("the run starts");
    let table = report.table();
    println!("{table}");

    let totals = report.totals();
    assert!(report.is_clean(), "lost, duplicated or reordered messages:\n{table}\n{}", report.details());
    assert_eq!((totals.lost, totals.duplicated, totals.reordered), (0, 0, 0));
    let publisher = &report.publisher;
    assert!(publisher.acked.len() >= 400, "the publisher got only {} acks:\n{table}", publisher.acked.len());
    assert!(
        publisher.unacked.is_empty(),
        "with a node still up, every message is acked in the end; not {:?}:\n{table}\n{}",
        publisher.unacked,
        report.details()
    );
    for member in &report.members {
        assert!(member.gave_up.is_none(), "{} gave up: {:?}", member.name, member.gave_up);
        assert!(member.lost.is_empty(), "{} lost {:?}", member.name, member.lost);
    }
    // Two thirds of the members (and the publisher) had to move.
    assert!(totals.connections >= 24 + 16, "members did not reconnect:\n{table}");
}
