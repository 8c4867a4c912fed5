//! What a run shows: for each member, the acked messages it never received
//! (lost), the ones it received more than once (duplicated), the ones that
//! came out of the room's order (reordered: an offset not after one received
//! before, or not after the member's starting offset), acked ones delivered at another offset than acked (mismatched),
//! and the longest time between two messages; the totals; and the details
//! behind any nonzero count, with the node events around them.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use wsboot_core::Position;

use super::client::{Connection, Delivery, Greeting, MemberLog};
use super::publisher::PublisherLog;

/// How many of each kind of detail are listed per member.
const LISTED: usize = 10;

/// One member's counts.
#[derive(Debug, Clone, Default)]
pub struct MemberReport {
    /// The nickname.
    pub name: String,
    /// The nodes it was connected to, in order.
    pub nodes: Vec<usize>,
    /// How many connections it had.
    pub connections: usize,
    /// Resumes the history did not cover.
    pub unrecovered: usize,
    /// The publisher's messages it received, repeats included.
    pub received: usize,
    /// Acked numbers it never received.
    pub lost: Vec<u64>,
    /// Numbers it received again: (number, connection of the repeat, offset).
    pub duplicated: Vec<(u64, usize, Option<String>)>,
    /// Numbers received at an offset not after one received before.
    pub reordered: Vec<u64>,
    /// Acked numbers received at another offset than the ack's: (number,
    /// acked, received).
    pub mismatched: Vec<(u64, String, String)>,
    /// The longest time between two messages received, and when it ended.
    pub longest_gap: (Duration, Duration),
    /// Anything else unexpected.
    pub problems: Vec<String>,
    /// Why it stopped before the end, if it did.
    pub gave_up: Option<String>,
    /// Its connections, for the details.
    pub timeline: Vec<Connection>,
}

impl MemberReport {
    /// Whether anything counted against it.
    pub fn failed(&self) -> bool {
        !self.lost.is_empty()
            || !self.duplicated.is_empty()
            || !self.reordered.is_empty()
            || !self.mismatched.is_empty()
    }
}

/// Reads `member`'s log against the publisher's acks.
pub fn analyze(member: &MemberLog, acked: &BTreeMap<u64, String>) -> MemberReport {
    let mut report = MemberReport {
        name: member.name.clone(),
        connections: member.connections.len(),
        received: member.deliveries.len(),
        problems: member.problems.clone(),
        gave_up: member.gave_up.clone(),
        timeline: member.connections.clone(),
        ..MemberReport::default()
    };
    for connection in &member.connections {
        if report.nodes.last() != Some(&connection.node) {
            report.nodes.push(connection.node);
        }
        if connection.greeting == Some(Greeting::Resumed { recovered: false }) {
            report.unrecovered += 1;
        }
    }
    let mut seen: HashMap<u64, usize> = HashMap::new();
    // Nothing before the member's view started may arrive.
    let mut latest: Option<Position> = member.start.as_deref().and_then(|start| start.parse().ok());
    let mut previous: Option<&Delivery> = None;
    for delivery in &member.deliveries {
        let n = delivery.number;
        if let Some(previous) = previous {
            let gap = delivery.at.saturating_sub(previous.at);
            if gap > report.longest_gap.0 {
                report.longest_gap = (gap, delivery.at);
            }
        }
        previous = Some(delivery);
        let count = seen.entry(n).or_default();
        *count += 1;
        if *count > 1 {
            report.duplicated.push((n, delivery.connection, delivery.offset.clone()));
            continue;
        }
        let offset = delivery.offset.clone().unwrap_or_default();
        if let Some(acked) = acked.get(&n) {
            if *acked != offset {
                report.mismatched.push((n, acked.clone(), offset.clone()));
            }
        }
        match offset.parse::<Position>() {
            Ok(position) => {
                if latest
                    .is_some_and(|latest| latest.epoch() == position.epoch() && position.offset() <= latest.offset())
                {
                    report.reordered.push(n);
                } else {
                    latest = Some(position);
                }
            }
            Err(e) => report.problems.push(format!("message {n} has no valid offset: {e}")),
        }
    }
    report.lost = acked.keys().filter(|n| !seen.contains_key(n)).copied().collect();
    report
}

/// The counts of a whole run.
#[derive(Debug, Clone)]
pub struct Report {
    /// One line per member.
    pub members: Vec<MemberReport>,
    /// The publisher's log.
    pub publisher: PublisherLog,
    /// What happened to the nodes, with when (since the run's start).
    pub events: Vec<(Duration, String)>,
    /// When publishing started, since the run's start; times are printed
    /// relative to it.
    pub publishing_started: Duration,
}

/// Totals over the members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Acked messages some member never received, summed over members.
    pub lost: usize,
    /// Repeated deliveries, summed over members.
    pub duplicated: usize,
    /// Deliveries out of order, summed over members.
    pub reordered: usize,
    /// Acked messages delivered at another offset, summed over members.
    pub mismatched: usize,
    /// The longest gap any member saw.
    pub longest_gap: Duration,
    /// Connections, all members together.
    pub connections: usize,
    /// Resumes not recovered, all members together.
    pub unrecovered: usize,
}

impl Report {
    /// Builds the report of a run.
    pub fn new(
        members: &[MemberLog],
        publisher: PublisherLog,
        events: Vec<(Duration, String)>,
        publishing_started: Duration,
    ) -> Report {
        let members = members.iter().map(|m| analyze(m, &publisher.acked)).collect();
        Report { members, publisher, events, publishing_started }
    }

    /// The totals.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for m in &self.members {
            totals.lost += m.lost.len();
            totals.duplicated += m.duplicated.len();
            totals.reordered += m.reordered.len();
            totals.mismatched += m.mismatched.len();
            totals.longest_gap = totals.longest_gap.max(m.longest_gap.0);
            totals.connections += m.connections;
            totals.unrecovered += m.unrecovered;
        }
        totals
    }

    /// Whether every member has every acked message exactly once, in order,
    /// and no number was acked at two offsets.
    pub fn is_clean(&self) -> bool {
        let t = self.totals();
        t.lost + t.duplicated + t.reordered + t.mismatched == 0 && self.publisher.ack_conflicts.is_empty()
    }

    /// A time of the run, relative to the start of publishing.
    fn time(&self, at: Duration) -> String {
        let seconds = at.as_secs_f64() - self.publishing_started.as_secs_f64();
        format!("{seconds:+.2}s")
    }

    /// The table, the publisher's summary and the node events.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let p = &self.publisher;
        let _ = writeln!(
            out,
            "publisher {}: made {}, acked {}, unacked {}, sent {} ({} resends), retry errors {}, connections {} (nodes {})",
            p.name,
            p.made,
            p.acked.len(),
            p.unacked.len(),
            p.sends,
            p.resends,
            p.retry_errors,
            p.connections.len(),
            path(&p.connections.iter().map(|c| c.node).collect::<Vec<_>>()),
        );
        let _ = writeln!(out, "published out of number order (by acked offset): {}", out_of_number_order(&p.acked));
        for (n, first, later) in &p.ack_conflicts {
            let _ = writeln!(out, "  ACK CONFLICT: {n} acked at {first}, then at {later}");
        }
        for (at, event) in &self.events {
            let _ = writeln!(out, "{:>8}  {event}", self.time(*at));
        }
        let _ = writeln!(
            out,
            "{:<10} {:<12} {:>5} {:>8} {:>5} {:>5} {:>6} {:>6} {:>12}",
            "member", "nodes", "conns", "received", "lost", "dup", "reord", "unrec", "longest gap"
        );
        for m in &self.members {
            let _ = writeln!(
                out,
                "{:<10} {:<12} {:>5} {:>8} {:>5} {:>5} {:>6} {:>6} {:>10.3} s{}",
                m.name,
                path(&m.nodes),
                m.connections,
                m.received,
                m.lost.len(),
                m.duplicated.len(),
                m.reordered.len(),
                m.unrecovered,
                m.longest_gap.0.as_secs_f64(),
                if m.gave_up.is_some() { "  GAVE UP" } else { "" },
            );
        }
        let t = self.totals();
        let _ = writeln!(
            out,
            "{:<10} {:<12} {:>5} {:>8} {:>5} {:>5} {:>6} {:>6} {:>10.3} s",
            "total",
            "",
            t.connections,
            self.members.iter().map(|m| m.received).sum::<usize>(),
            t.lost,
            t.duplicated,
            t.reordered,
            t.unrecovered,
            t.longest_gap.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "lost {}, duplicated {}, reordered {}, mismatched offsets {}, longest gap {:.3} s: {}",
            t.lost,
            t.duplicated,
            t.reordered,
            t.mismatched,
            t.longest_gap.as_secs_f64(),
            if self.is_clean() { "OK" } else { "FAILED" }
        );
        out
    }

    /// What is behind the nonzero counts (and anything unexpected), member by
    /// member, with their connections; empty when there is nothing to tell.
    pub fn details(&self) -> String {
        let mut out = String::new();
        for m in &self.members {
            if !m.failed() && m.problems.is_empty() && m.gave_up.is_none() && m.unrecovered == 0 {
                continue;
            }
            let _ = writeln!(out, "{}:", m.name);
            if !m.lost.is_empty() {
                let _ = writeln!(out, "  lost: {}", ranges(&m.lost));
            }
            let repeats: Vec<String> = m
                .duplicated
                .iter()
                .map(|(n, c, offset)| format!("{n} again on connection {c} at {offset:?}"))
                .collect();
            list(&mut out, "duplicated", &repeats);
            if !m.reordered.is_empty() {
                let _ = writeln!(out, "  reordered: {}", ranges(&m.reordered));
            }
            let mismatched: Vec<String> =
                m.mismatched.iter().map(|(n, acked, got)| format!("{n} acked at {acked}, received at {got}")).collect();
            list(&mut out, "mismatched", &mismatched);
            list(&mut out, "problem", &m.problems);
            if let Some(why) = &m.gave_up {
                let _ = writeln!(out, "  gave up: {why}");
            }
            for (i, c) in m.timeline.iter().enumerate() {
                let ended = match &c.ended {
                    Some((at, ended)) => format!("ended {} with {} ({})", self.time(*at), ended.code, ended.detail),
                    None => "open at the end".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "  connection {i}: node {}, opened {}, since {:?}, greeting {:?}, received {}, {ended}",
                    c.node,
                    self.time(c.opened),
                    c.since,
                    c.greeting,
                    c.received
                );
            }
        }
        let p = &self.publisher;
        if !p.problems.is_empty() || p.gave_up.is_some() {
            let _ = writeln!(out, "publisher {}:", p.name);
            list(&mut out, "problem", &p.problems);
            if let Some(why) = &p.gave_up {
                let _ = writeln!(out, "  gave up: {why}");
            }
        }
        out
    }
}

/// At most [`LISTED`] lines of `items`, then how many more there were.
fn list(out: &mut String, what: &str, items: &[String]) {
    for item in items.iter().take(LISTED) {
        let _ = writeln!(out, "  {what}: {item}");
    }
    if items.len() > LISTED {
        let _ = writeln!(out, "  ... and {} more", items.len() - LISTED);
    }
}

/// `0>2>1`: the nodes in order.
fn path(nodes: &[usize]) -> String {
    nodes.iter().map(ToString::to_string).collect::<Vec<_>>().join(">")
}

/// `1-4, 7, 9-10`.
fn ranges(numbers: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j + 1] == numbers[j] + 1 {
            j += 1;
        }
        parts.push(if i == j { numbers[i].to_string() } else { format!("{}-{}", numbers[i], numbers[j]) });
        i = j + 1;
    }
    parts.join(", ")
}

/// How many acked numbers were published before a smaller number (a resend
/// after a `retry` error lands after newer ones): not a fault, the room's
/// order is the publication order, but worth knowing.
fn out_of_number_order(acked: &BTreeMap<u64, String>) -> usize {
    let mut max: Option<Position> = None;
    let mut count = 0;
    for offset in acked.values() {
        let Ok(position) = offset.parse::<Position>() else { continue };
        match max {
            Some(m) if m.epoch() == position.epoch() && position.offset() < m.offset() => count += 1,
            _ => max = Some(position),
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(number: u64, offset: u64, at_ms: u64) -> Delivery {
        Delivery {
            number,
            offset: Some(Position::new(7, offset).to_string()),
            at: Duration::from_millis(at_ms),
            connection: 0,
        }
    }

    #[test]
    fn counts_lost_duplicated_and_reordered_messages() {
        let acked: BTreeMap<u64, String> = (1..=5).map(|n| (n, Position::new(7, n + 10).to_string())).collect();
        let member = MemberLog {
            name: "c".into(),
            deliveries: vec![
                delivery(1, 11, 0),
                delivery(3, 13, 100),
                delivery(2, 12, 150),
                delivery(3, 13, 900),
                delivery(5, 15, 1000),
            ],
            ..MemberLog::default()
        };
        let report = analyze(&member, &acked);
        assert_eq!(report.lost, vec![4]);
        assert_eq!(report.duplicated.len(), 1);
        assert_eq!(report.reordered, vec![2]);
        assert!(report.mismatched.is_empty());
        assert_eq!(report.longest_gap, (Duration::from_millis(750), Duration::from_millis(900)));
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
    }
}
