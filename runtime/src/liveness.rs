//! Keep-alive and time limits of one session: when to ping, how long to wait
//! for an answer, and when an idle or too-old session must go. The session loop
//! arms one timer at [`Liveness::earliest`] and asks [`Liveness::due`] what to
//! do when it fires.

use std::time::Duration;

use crate::config::ServerConfig;
use crate::deadline::{Clock, Deadline, earlier};

/// What a session must do now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// A ping went unanswered for this long: drop the connection.
    PongMissing(Duration),
    /// `max_lifetime` has passed: close with 1001.
    EndOfLife,
    /// `idle_timeout` has passed without a message either way: close with 1001.
    Idle,
    /// Time to ping the peer.
    Ping,
}

/// The keep-alive and time-limit state of one session: only its deadlines
/// (8 bytes each, on the server's clock). The durations they are counted with
/// are the server's configuration, passed in where a deadline moves, so that
/// every session does not carry a copy.
#[derive(Debug)]
pub(crate) struct Liveness {
    next_ping: Option<Deadline>,
    /// A ping is out: the peer must show signs of life before this.
    pong_deadline: Option<Deadline>,
    /// `idle_timeout` after the last message either way; none once reported.
    idle_at: Option<Deadline>,
    end_of_life: Option<Deadline>,
}

impl Liveness {
    /// The limits of `config`, counted from `now`.
    pub(crate) fn new(config: &ServerConfig, now: Deadline) -> Self {
        Liveness {
            next_ping: config.ping_interval.map(|i| now + i),
            pong_deadline: None,
            idle_at: config.idle_timeout.map(|t| now + t),
            end_of_life: config.max_lifetime.map(|l| now + l),
        }
    }

    /// The next time something may be due.
    pub(crate) fn earliest(&self) -> Option<Deadline> {
        earlier(earlier(self.next_ping, self.pong_deadline), earlier(self.idle_at, self.end_of_life))
    }

    /// A message went in or out: the idle clock starts again. Reads the clock
    /// only when there is an idle timeout still to watch.
    pub(crate) fn data_moved(&mut self, config: &ServerConfig, clock: &Clock) {
        if let (Some(_), Some(timeout)) = (self.idle_at, config.idle_timeout) {
            self.idle_at = Some(clock.now() + timeout);
        }
    }

    /// The peer sent something, which proves it alive as well as a pong would.
    pub(crate) fn peer_alive(&mut self) {
        self.pong_deadline = None;
    }

    /// What is due at `now` under `config`, the most severe first; each limit
    /// is reported once.
    pub(crate) fn due(&mut self, now: Deadline, config: &ServerConfig) -> Option<Due> {
        if self.pong_deadline.is_some_and(|d| d <= now) {
            self.pong_deadline = None;
            return Some(Due::PongMissing(config.pong_timeout));
        }
        if self.end_of_life.is_some_and(|d| d <= now) {
            self.end_of_life = None;
            return Some(Due::EndOfLife);
        }
        if self.idle_at.is_some_and(|d| d <= now) {
            self.idle_at = None;
            return Some(Due::Idle);
        }
        let (Some(at), Some(interval)) = (self.next_ping, config.ping_interval) else { return None };
        if at > now {
            return None;
        }
        self.next_ping = Some(now + interval);
        if self.pong_deadline.is_none() {
            self.pong_deadline = Some(now + config.pong_timeout);
        }
        Some(Due::Ping)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(ping: Option<u64>, idle: Option<u64>, lifetime: Option<u64>) -> ServerConfig {
        ServerConfig {
            ping_interval: ping.map(Duration::from_secs),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: idle.map(Duration::from_secs),
            max_lifetime: lifetime.map(Duration::from_secs),
            ..ServerConfig::default()
        }
    }

    #[test]
    fn a_ping_then_a_missing_pong_drops_the_connection() {
        let config = config(Some(30), None, None);
        let clock = Clock::start();
        let mut live = Liveness::new(&config, clock.now());
        let ping_at = live.earliest().expect("a ping is scheduled");
        assert_eq!(live.due(ping_at - Duration::from_secs(1), &config), None);
        assert_eq!(live.due(ping_at, &config), Some(Due::Ping));
        // The pong deadline (10 s) comes before the next ping (30 s).
        assert_eq!(live.earliest(), Some(ping_at + Duration::from_secs(10)));
        let waited = Duration::from_secs(10);
        assert_eq!(live.due(ping_at + waited, &config), Some(Due::PongMissing(waited)));
    }

    #[test]
    fn any_frame_from_the_peer_answers_a_ping() {
        let config = config(Some(30), None, None);
        let clock = Clock::start();
        let mut live = Liveness::new(&config, clock.now());
        let ping_at = live.earliest().expect("a ping is scheduled");
        assert_eq!(live.due(ping_at, &config), Some(Due::Ping));
        live.peer_alive();
        assert_eq!(live.earliest(), Some(ping_at + Duration::from_secs(30)), "only the next ping is left");
        assert_eq!(live.due(ping_at + Duration::from_secs(15), &config), None);
    }

    #[test]
    fn the_idle_clock_restarts_when_data_moves_and_fires_once() {
        let config = config(None, Some(60), None);
        let clock = Clock::start();
        let mut live = Liveness::new(&config, clock.now());
        let first = live.earliest().expect("an idle deadline");
        std::thread::sleep(Duration::from_millis(20));
        live.data_moved(&config, &clock);
        let restarted = live.earliest().expect("an idle deadline");
        assert!(restarted >= first + Duration::from_millis(20), "the deadline moved with the data");
        assert_eq!(live.due(first, &config), None);
        assert_eq!(live.due(restarted, &config), Some(Due::Idle));
        assert_eq!(live.due(restarted + Duration::from_secs(100), &config), None, "reported once");
    }

    #[test]
    fn the_lifetime_limit_comes_before_a_ping_due_at_the_same_time() {
        let config = config(Some(30), None, Some(30));
        let clock = Clock::start();
        let mut live = Liveness::new(&config, clock.now());
        let at = live.earliest().expect("both are scheduled");
        assert_eq!(live.due(at, &config), Some(Due::EndOfLife));
        assert_eq!(live.due(at, &config), Some(Due::Ping));
    }
}
