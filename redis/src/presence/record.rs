//! How a presence member is kept in Redis and how join and leave events travel:
//! text fields, each after its length in 8 hex digits, so that Lua can read a
//! field without a parser and any info (even one with NULs) round-trips.
//!
//! ```text
//! member:  node, session (decimal), principal ("-" for none, "+NAME"), info, joined (ms, decimal)
//! event:   one byte (J joined, L left, T taken over), the topic, a member
//! holder:  (the value of a unique info) the member id, then "1" and the owner token, or "0"
//! ```
//!
//! A member's id, unique in the cluster, is `NODE/SESSION`.

use wsboot_core::{Member, PresenceChange, PresenceEvent, SessionId};

/// The digits of a field's length.
const LENGTH_DIGITS: usize = 8;

/// The id of a member: its node and session.
pub(crate) fn member_id(node: &str, session: SessionId) -> String {
    format!("{node}/{session}")
}

/// `field` after its length.
pub(crate) fn field(field: &str) -> String {
    format!("{:0width$x}{field}", field.len(), width = LENGTH_DIGITS)
}

/// A member as kept in a topic's hash and carried in events.
pub(crate) fn encode(member: &Member) -> String {
    let principal = match &member.principal {
        Some(name) => format!("+{name}"),
        None => "-".to_owned(),
    };
    [
        field(&member.node),
        field(&member.session.to_string()),
        field(&principal),
        field(&member.info),
        field(&member.joined_ms.to_string()),
    ]
    .concat()
}

/// Splits `text` into its length-prefixed fields; `None` if they do not add up.
fn fields(mut text: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    while !text.is_empty() {
        let length = text.get(..LENGTH_DIGITS).and_then(|digits| usize::from_str_radix(digits, 16).ok())?;
        out.push(text.get(LENGTH_DIGITS..LENGTH_DIGITS + length)?);
        text = &text[LENGTH_DIGITS + length..];
    }
    Some(out)
}

/// A member from its stored form; `None` for text that is not one.
pub(crate) fn decode(text: &str) -> Option<Member> {
    let fields = fields(text)?;
    let [node, session, principal, info, joined] = fields.as_slice() else { return None };
    let principal = match principal.split_at_checked(1)? {
        ("-", "") => None,
        ("+", name) => Some(name.to_owned()),
        _ => return None,
    };
    let session = SessionId::from_u64(session.parse().ok()?);
    Some(Member::new(*node, session, principal, *info).joined_at(joined.parse().ok()?))
}

/// What an event from the presence channel says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A member joined or left.
    Change(PresenceEvent),
    /// A member was taken over by a session with the same owner, on some node:
    /// it leaves its own node's list silently.
    TakenOver { topic: String, member: Member },
}

/// An event as published (the scripts build the same form in Lua).
#[cfg(test)]
pub(crate) fn encode_event(kind: char, topic: &str, member: &Member) -> String {
    format!("{kind}{}{}", field(topic), encode(member))
}

/// An event from the presence channel; `None` for bytes that are not one.
pub(crate) fn decode_event(bytes: &[u8]) -> Option<Event> {
    let text = std::str::from_utf8(bytes).ok()?;
    let kind = text.get(..1)?;
    let rest = &text[1..];
    let length = rest.get(..LENGTH_DIGITS).and_then(|digits| usize::from_str_radix(digits, 16).ok())?;
    let topic = rest.get(LENGTH_DIGITS..LENGTH_DIGITS + length)?.to_owned();
    let member = decode(&rest[LENGTH_DIGITS + length..])?;
    Some(match kind {
        "J" => Event::Change(PresenceEvent::new(topic, PresenceChange::Join, member)),
        "L" => Event::Change(PresenceEvent::new(topic, PresenceChange::Leave, member)),
        "T" => Event::TakenOver { topic, member },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_events_round_trip() {
        let ann = Member::new("n1", SessionId::from_u64(42), Some("ann@x".into()), "ann\0😀").joined_at(1_700_000);
        let anon = Member::new("n2", SessionId::from_u64(7), None, "").joined_at(5);
        for member in [&ann, &anon] {
            assert_eq!(decode(&encode(member)).as_ref(), Some(member));
        }
        assert!(encode(&ann).starts_with("00000002n1000000024200000006+ann@x"));
        assert_eq!(member_id("n1", SessionId::from_u64(42)), "n1/42");

        let join = encode_event('J', "room:1", &ann);
        assert_eq!(
            decode_event(join.as_bytes()),
            Some(Event::Change(PresenceEvent::new("room:1", PresenceChange::Join, ann.clone())))
        );
        let taken = encode_event('T', "", &anon);
        assert_eq!(decode_event(taken.as_bytes()), Some(Event::TakenOver { topic: String::new(), member: anon }));
    }

    #[test]
    fn anything_else_is_refused() {
        let ann = encode(&Member::new("n1", SessionId::from_u64(1), None, "ann"));
        assert_eq!(decode(&ann[..ann.len() - 1]), None, "a field cut short");
        assert_eq!(decode(&format!("{ann}{}", field("x"))), None, "a field too many");
        assert_eq!(decode(&ann.replacen("-", "?", 1)), None, "a principal without its mark");
        assert_eq!(decode_event(b"X00000000"), None);
        assert_eq!(decode_event(format!("J{}", field("t")).as_bytes()), None, "no member");
        assert_eq!(decode_event(&[b'J', 0xff]), None);
    }
}
