//! [`Queued`]: the items waiting in a session's queue, in order, without a
//! list of their own while there is only one.
//!
//! Most drains find one item: an echo's answer, one delivery of a publish.
//! A list per item would be allocated by whoever queues it (a publisher, on
//! another thread) and freed by the connection's task, and the writer would
//! miss the cache on it once per delivery; one item is held inline instead.

use std::collections::VecDeque;

use super::Outgoing;

/// Items queued for a session, first in first out. One item is held inline; a
/// list is allocated only once a second one waits with it.
///
/// It is also what a drain hands the writer: iterating it yields the items in
/// order.
#[derive(Debug, Default)]
pub enum Queued {
    /// Nothing queued.
    #[default]
    Empty,
    /// One item, held inline.
    One(Outgoing),
    /// Several items (or none, keeping the list's room).
    Many(VecDeque<Outgoing>),
}

impl Queued {
    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        match self {
            Queued::Empty => true,
            Queued::One(_) => false,
            Queued::Many(list) => list.is_empty(),
        }
    }

    /// How many items are queued.
    pub fn len(&self) -> usize {
        match self {
            Queued::Empty => 0,
            Queued::One(_) => 1,
            Queued::Many(list) => list.len(),
        }
    }

    /// Queues `item` after the others.
    pub(crate) fn push_back(&mut self, item: Outgoing) {
        match self {
            Queued::Many(list) => list.push_back(item),
            Queued::Empty => *self = Queued::One(item),
            Queued::One(_) => {
                // The room a list's first push would take.
                let mut list = VecDeque::with_capacity(4);
                if let Queued::One(first) = std::mem::take(self) {
                    list.push_back(first);
                }
                list.push_back(item);
                *self = Queued::Many(list);
            }
        }
    }

    /// Takes the first item.
    pub(crate) fn pop_front(&mut self) -> Option<Outgoing> {
        match self {
            Queued::Many(list) => list.pop_front(),
            Queued::Empty | Queued::One(_) => match std::mem::take(self) {
                Queued::One(item) => Some(item),
                _ => None,
            },
        }
    }

    /// The items, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Outgoing> {
        let (one, many) = match self {
            Queued::Empty => (None, None),
            Queued::One(item) => (Some(item), None),
            Queued::Many(list) => (None, Some(list.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

impl Iterator for Queued {
    type Item = Outgoing;

    fn next(&mut self) -> Option<Outgoing> {
        self.pop_front()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn text(item: &Outgoing) -> &str {
        match item {
            Outgoing::Message(message) => message.as_text().expect("a text message"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn one_item_is_held_inline_and_more_keep_their_order() {
        let mut queued = Queued::default();
        assert!(queued.is_empty());
        queued.push_back(Outgoing::Message(Message::text("a")));
        assert!(matches!(queued, Queued::One(_)), "one item needs no list");
        queued.push_back(Outgoing::Message(Message::text("b")));
        queued.push_back(Outgoing::Message(Message::text("c")));
        assert_eq!(queued.len(), 3);
        assert_eq!(queued.iter().map(text).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(queued.pop_front().as_ref().map(text), Some("a"));
        let rest: Vec<_> = queued.collect();
        assert_eq!(rest.iter().map(text).collect::<Vec<_>>(), ["b", "c"]);
    }

    #[test]
    fn taking_the_only_item_leaves_it_empty() {
        let mut queued = Queued::default();
        queued.push_back(Outgoing::Message(Message::text("a")));
        assert_eq!(queued.pop_front().as_ref().map(text), Some("a"));
        assert!(matches!(queued, Queued::Empty));
        assert!(queued.pop_front().is_none());
        assert_eq!(queued.iter().count(), 0);
    }
}
