//! What Linux says about a process and the network stack, from `/proc`: resident
//! memory, CPU time, open-files limits, the load average and the sysctls that bound
//! connection counts. Shared by the load programs, which measure the same figures.

use std::io;
use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat` times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// The resident set size (`VmRSS`) of process `pid` (a number, or `"self"`), in KiB.
///
/// # Errors
/// If the file cannot be read (not Linux, or the process is gone) or has no `VmRSS` line.
pub fn resident_kib(pid: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("no VmRSS in /proc/{pid}/status")))
}

/// User plus system CPU time process `pid` (or `"self"`) has used.
///
/// # Errors
/// If `/proc/PID/stat` cannot be read or parsed.
pub fn cpu_time(pid: &str) -> io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces and parentheses: count from its end.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime) are 11 and 12 after the name.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Ok(Duration::from_millis((user + system) * 1000 / TICKS_PER_SECOND)),
        _ => Err(io::Error::other(format!("unexpected /proc/{pid}/stat: {stat}"))),
    }
}

/// The soft and hard limits on open files of `pid` (`None` for "unlimited").
///
/// # Errors
/// If `/proc/PID/limits` cannot be read or has no open-files line.
pub fn open_files_limit(pid: &str) -> io::Result<(Option<u64>, Option<u64>)> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .ok_or_else(|| io::Error::other(format!("no open-files limit in /proc/{pid}/limits")))?;
    let mut values = line["Max open files".len()..].split_whitespace().map(|v| v.parse().ok());
    Ok((values.next().flatten(), values.next().flatten()))
}

/// A sysctl's value, e.g. `net.core.somaxconn`; `None` where it does not exist.
pub fn sysctl(name: &str) -> Option<String> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::read_to_string(path).ok().map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// How many ephemeral ports a client address has (`net.ipv4.ip_local_port_range`).
pub fn ephemeral_ports() -> Option<usize> {
    let range = sysctl("net.ipv4.ip_local_port_range")?;
    let mut bounds = range.split_whitespace().map(|v| v.parse::<usize>().ok());
    match (bounds.next().flatten(), bounds.next().flatten()) {
        (Some(low), Some(high)) if high >= low => Some(high - low + 1),
        _ => None,
    }
}

/// The 1-minute load average, from `/proc/loadavg`.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(resident_kib("self").unwrap() > 0);
        cpu_time("self").unwrap();
        let (soft, hard) = open_files_limit("self").unwrap();
        assert!(soft.unwrap_or(u64::MAX) <= hard.unwrap_or(u64::MAX));
        assert!(ephemeral_ports().unwrap() > 0);
        assert!(sysctl("no.such.setting").is_none());
        assert!(load_average().unwrap() >= 0.0);
    }
}
