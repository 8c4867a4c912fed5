//! Who may SEND to and SUBSCRIBE to which destinations (Spring Security's
//! message authorization), and interceptors that see every inbound frame
//! first. A refusal is an ERROR frame naming the rule, then the close (1008).

use std::fmt;
use std::sync::Arc;

use wsboot_core::Session;

use crate::frame::{Command, Frame};

/// What a rule grants.
#[derive(Clone)]
pub enum Access {
    /// Anyone.
    Permit,
    /// Sessions with a principal (set by a handshake interceptor).
    Authenticated,
    /// Nobody.
    Deny,
    /// Sessions for which the check says yes (a role the authentication
    /// interceptor put in the session's attributes, say); the text names the
    /// requirement in refusals.
    Check(String, Arc<dyn Fn(&Session) -> bool + Send + Sync>),
}

impl Access {
    /// Sessions for which `check` says yes; `requirement` names it in refusals
    /// (`role admin`).
    pub fn check(requirement: impl Into<String>, check: impl Fn(&Session) -> bool + Send + Sync + 'static) -> Access {
        Access::Check(requirement.into(), Arc::new(check))
    }

    fn allows(&self, session: &Session) -> bool {
        match self {
            Access::Permit => true,
            Access::Authenticated => session.principal().is_some(),
            Access::Deny => false,
            Access::Check(_, check) => check(session),
        }
    }
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::Permit => f.write_str("permit"),
            Access::Authenticated => f.write_str("authenticated"),
            Access::Deny => f.write_str("deny"),
            Access::Check(requirement, _) => write!(f, "{requirement}"),
        }
    }
}

/// One rule: commands, a destination pattern, and what it grants.
#[derive(Debug, Clone)]
struct Rule {
    commands: &'static [Command],
    pattern: String,
    access: Access,
}

/// The rules of an endpoint, first match wins. A destination no rule matches
/// is allowed for SUBSCRIBE and for SENDs to application destinations;
/// a client's SEND straight to a broker or user destination needs a rule that
/// permits it.
///
/// Patterns: `*` matches within one segment (up to a `/`), `**` anything.
///
/// ```
/// use wsboot_stomp::{Access, Authorization};
///
/// let rules = Authorization::new()
///     .subscribe("/topic/admin.**", Access::check("role admin", |s| s.attributes().contains::<Admin>()))
///     .send("/app/**", Access::Authenticated)
///     .send("/topic/public.*", Access::Permit)
///     .otherwise(Access::Permit);
/// # struct Admin;
/// ```
#[derive(Debug, Clone)]
pub struct Authorization {
    rules: Vec<Rule>,
    otherwise: Option<Access>,
}

impl Default for Authorization {
    fn default() -> Self {
        Authorization::new()
    }
}

/// What the rules decided.
pub(crate) enum Decision {
    /// A rule allowed it.
    Allowed,
    /// No rule matched, and `otherwise` (if set) did not refuse it.
    Unmatched,
    /// Refused, with the requirement that was not met.
    Refused(String),
}

impl Authorization {
    /// No rules.
    pub fn new() -> Authorization {
        Authorization { rules: Vec::new(), otherwise: None }
    }

    /// A rule for SENDs to destinations matching `pattern`.
    pub fn send(self, pattern: &str, access: Access) -> Authorization {
        self.rule(&[Command::Send], pattern, access)
    }

    /// A rule for SUBSCRIBEs to destinations matching `pattern`.
    pub fn subscribe(self, pattern: &str, access: Access) -> Authorization {
        self.rule(&[Command::Subscribe], pattern, access)
    }

    /// A rule for both.
    pub fn any(self, pattern: &str, access: Access) -> Authorization {
        self.rule(&[Command::Send, Command::Subscribe], pattern, access)
    }

    /// What applies when no rule matches (Spring's `anyMessage()`).
    pub fn otherwise(mut self, access: Access) -> Authorization {
        self.otherwise = Some(access);
        self
    }

    fn rule(mut self, commands: &'static [Command], pattern: &str, access: Access) -> Authorization {
        self.rules.push(Rule { commands, pattern: pattern.to_owned(), access });
        self
    }

    /// The decision for `command` to `destination` by `session`.
    pub(crate) fn decide(&self, command: Command, destination: &str, session: &Session) -> Decision {
        let rule = self.rules.iter().find(|r| r.commands.contains(&command) && glob(&r.pattern, destination));
        match (rule, &self.otherwise) {
            (Some(rule), _) if rule.access.allows(session) => Decision::Allowed,
            (Some(rule), _) => Decision::Refused(format!("{:?} (rule {} {})", rule.access, command, rule.pattern)),
            (None, Some(access)) if !access.allows(session) => {
                Decision::Refused(format!("{access:?} (no rule matched)"))
            }
            (None, _) => Decision::Unmatched,
        }
    }
}

/// Whether `text` matches `pattern` (`*`: within a segment, `**`: anything).
fn glob(pattern: &str, text: &str) -> bool {
    if let Some(rest) = pattern.strip_prefix("**") {
        return (0..=text.len()).filter(|i| text.is_char_boundary(*i)).any(|i| glob(rest, &text[i..]));
    }
    if let Some(rest) = pattern.strip_prefix('*') {
        let segment = text.find('/').unwrap_or(text.len());
        return (0..=segment).filter(|i| text.is_char_boundary(*i)).any(|i| glob(rest, &text[i..]));
    }
    match (pattern.chars().next(), text.chars().next()) {
        (None, None) => true,
        (Some(p), Some(t)) if p == t => glob(&pattern[p.len_utf8()..], &text[t.len_utf8()..]),
        _ => false,
    }
}

/// Sees every frame a client sends after CONNECT, before it is processed
/// (Spring's inbound `ChannelInterceptor`): it may change the frame, or
/// refuse it with a reason (an ERROR frame with that reason, then the close).
pub trait FrameInterceptor: Send + Sync + 'static {
    /// Inspects or changes `frame`; `Err(reason)` refuses it.
    ///
    /// # Errors
    /// The reason the frame is refused.
    fn inbound(&self, session: &Session, frame: &mut Frame) -> Result<(), String>;
}

impl<F> FrameInterceptor for F
where
    F: Fn(&Session, &mut Frame) -> Result<(), String> + Send + Sync + 'static,
{
    fn inbound(&self, session: &Session, frame: &mut Frame) -> Result<(), String> {
        self(session, frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_segments_and_anything() {
        assert!(glob("/topic/*", "/topic/a"));
        assert!(glob("/topic/*", "/topic/"));
        assert!(!glob("/topic/*", "/topic/a/b"));
        assert!(glob("/topic/**", "/topic/a/b"));
        assert!(glob("/app/chat.*", "/app/chat.lobby"));
        assert!(glob("**", "/anything/at/all"));
        assert!(glob("/topic/public", "/topic/public"));
        assert!(!glob("/topic/public", "/topic/publicity"));
        assert!(glob("/a/*/c", "/a/b/c") && !glob("/a/*/c", "/a/b/x/c"));
    }
}
