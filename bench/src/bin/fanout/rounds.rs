//! Figures over rounds: every server measured once per round, rounds
//! interleaved, so that a machine whose speed drifts slows all of them alike.
//! The table gives each figure's median over the rounds; the ratio lines give
//! every round's ratio, so that the spread between rounds shows.

use std::time::Duration;

use wsboot_bench::format::thousands;

use crate::report::{Summary, Table, millis, summarize};
use crate::server::Kind;

/// What one server measured at one subscriber count in one round.
#[derive(Debug)]
pub(crate) struct Measured {
    /// Each single publish's time until the last subscriber had it.
    pub(crate) fan_out: Vec<Duration>,
    /// Deliveries per second with publishes in flight.
    pub(crate) deliveries_per_second: f64,
    /// The server's CPU time (user and system) per single publish.
    pub(crate) cpu_per_fan_out: Duration,
    /// The server's CPU time (user and system) per delivery, sustained run.
    pub(crate) cpu_per_delivery: Duration,
    /// Growth of the server's resident memory per idle subscribed connection, bytes.
    pub(crate) memory_per_connection: f64,
}

/// Every measurement of a run, by subscriber count and server.
#[derive(Debug, Default)]
pub(crate) struct Rounds {
    results: Vec<(usize, &'static str, Measured)>,
}

/// One subscriber count's figures for one server, a round each.
struct Series<'a>(Vec<&'a Measured>);

impl Series<'_> {
    /// One figure of each round.
    fn each<T>(&self, figure: impl Fn(&Measured) -> T) -> Vec<T> {
        self.0.iter().map(|m| figure(m)).collect()
    }

    /// Each round's single-publish times, summarized.
    fn fan_outs(&self) -> Vec<Summary> {
        self.each(|m| summarize(&m.fan_out))
    }
}

impl Rounds {
    /// Records what `kind` measured at `subscribers` in the current round.
    pub(crate) fn record(&mut self, subscribers: usize, kind: &Kind, measured: Measured) {
        self.results.push((subscribers, kind.name(), measured));
    }

    fn series(&self, subscribers: usize, kind: &str) -> Series<'_> {
        Series(self.results.iter().filter(|(n, k, _)| *n == subscribers && *k == kind).map(|(_, _, m)| m).collect())
    }

    /// One row per subscriber count and server: medians over the rounds (the
    /// slowest publish of all of them in "fan-out max").
    pub(crate) fn table(&self, counts: &[usize], kinds: &[Kind]) -> Table {
        let mut table = Table::new([
            "server",
            "subscribers",
            "fan-out median",
            "fan-out p99",
            "fan-out max",
            "server CPU per fan-out",
            "deliveries/s (sustained)",
            "server CPU per delivery",
            "server memory per idle connection",
        ]);
        for &n in counts {
            for kind in kinds {
                let series = self.series(n, kind.name());
                if series.0.is_empty() {
                    continue;
                }
                let memory = match kind {
                    Kind::Wsboot | Kind::Bun(_) => {
                        format!("{:.1} KiB", median(series.each(|m| m.memory_per_connection)) / 1024.0)
                    }
                    Kind::Baseline => "—".to_owned(),
                };
                let fan_outs = series.fan_outs();
                let slowest = fan_outs.iter().map(|f| f.max).max().unwrap_or_default();
                table.row([
                    kind.name().to_owned(),
                    thousands(n as u64),
                    millis(median_duration(fan_outs.iter().map(|f| f.median).collect())),
                    millis(median_duration(fan_outs.iter().map(|f| f.p99).collect())),
                    millis(slowest),
                    millis(median_duration(series.each(|m| m.cpu_per_fan_out))),
                    thousands(median(series.each(|m| m.deliveries_per_second)) as u64),
                    format!("{:.1} µs", median_duration(series.each(|m| m.cpu_per_delivery)).as_secs_f64() * 1e6),
                    memory,
                ]);
            }
        }
        table
    }

    /// Each round's ratios, one line per comparison: single-publish time
    /// against the baseline's and Bun's, deliveries per second against Bun's.
    pub(crate) fn ratio_lines(&self, counts: &[usize]) -> Vec<String> {
        let mut lines = Vec::new();
        for &n in counts {
            let at = |kind: &str| self.series(n, kind);
            let (wsboot, baseline, bun) = (at("wsboot"), at("baseline"), at("bun"));
            let fan_out = |s: &Series<'_>| s.fan_outs().iter().map(|f| f.median.as_secs_f64()).collect::<Vec<_>>();
            let deliveries = |s: &Series<'_>| s.each(|m| m.deliveries_per_second);
            let mut line = |what: &str, above: Vec<f64>, below: Vec<f64>| {
                if above.is_empty() || above.len() != below.len() {
                    return;
                }
                let ratios: Vec<f64> = above.iter().zip(&below).map(|(a, b)| a / b).collect();
                let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
                let n = thousands(n as u64);
                lines.push(format!("{n} subscribers, {what}: {} (median {:.2})", each.join(", "), median(ratios)));
            };
            line("one publish, wsboot ÷ baseline", fan_out(&wsboot), fan_out(&baseline));
            line("one publish, Bun ÷ baseline", fan_out(&bun), fan_out(&baseline));
            line("one publish, wsboot ÷ Bun", fan_out(&wsboot), fan_out(&bun));
            line("deliveries/s, wsboot ÷ Bun", deliveries(&wsboot), deliveries(&bun));
        }
        lines
    }
}

/// The middle value (the mean of the two middle ones for an even count).
///
/// # Panics
/// If `values` is empty.
fn median(mut values: Vec<f64>) -> f64 {
    assert!(!values.is_empty(), "no values");
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] }
}

fn median_duration(values: Vec<Duration>) -> Duration {
    Duration::from_secs_f64(median(values.iter().map(Duration::as_secs_f64).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(fan_out_ms: u64, deliveries: f64) -> Measured {
        Measured {
            fan_out: vec![Duration::from_millis(fan_out_ms)],
            deliveries_per_second: deliveries,
            cpu_per_fan_out: Duration::from_millis(fan_out_ms),
            cpu_per_delivery: Duration::from_micros(1),
            memory_per_connection: 2048.0,
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn rows_take_medians_over_rounds_and_ratios_pair_rounds() {
        let mut rounds = Rounds::default();
        for (ours, baseline) in [(60, 50), (66, 55), (90, 60)] {
            rounds.record(10_000, &Kind::Wsboot, measured(ours, 900_000.0));
            rounds.record(10_000, &Kind::Baseline, measured(baseline, 150_000.0));
        }
        let table = rounds.table(&[10_000], &[Kind::Wsboot, Kind::Baseline]).render();
        assert!(table.contains("| wsboot   | 10,000      | 66.00 ms"), "{table}");
        assert!(table.contains("| 90.00 ms"), "the slowest of all rounds: {table}");
        assert!(table.contains("2.0 KiB"), "{table}");
        let lines = rounds.ratio_lines(&[10_000]);
        assert_eq!(lines, ["10,000 subscribers, one publish, wsboot ÷ baseline: 1.20, 1.20, 1.50 (median 1.20)"]);
    }
}
