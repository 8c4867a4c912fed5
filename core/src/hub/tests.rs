use super::*;
use crate::Principal;
use crate::broker::LocalBroker;
use crate::handshake::{HandshakeRequest, PathParams};
use crate::outbound::{Outgoing, OverflowPolicy, QueueLimits};
use crate::session::{MessageLimits, RouteSettings, SessionConfig};
use crate::test_support::block_on;
use crate::transport::Transport;

fn open(hub: &Hub, user: Option<&str>) -> (Session, Transport) {
    let mut request = HandshakeRequest::new(
        http::Method::GET,
        http::Uri::from_static("/chat/lobby"),
        http::HeaderMap::new(),
        "127.0.0.1:1".parse().unwrap(),
        PathParams::default(),
    );
    if let Some(user) = user {
        request.set_principal(Principal::new(user));
    }
    let (session, transport) = Transport::new(SessionConfig {
        handshake: request,
        route: Arc::new(RouteSettings {
            path: Arc::from("/chat/{room}"),
            queue: QueueLimits { max_messages: 8, max_bytes: 1024 },
            overflow: OverflowPolicy::DropNewest,
        }),
        accepted_protocol: None,
        extensions: Vec::new(),
        limits: MessageLimits { max_text_message_size: 1024, max_binary_message_size: 1024 },
        hub: hub.clone(),
    });
    hub.register(&session);
    (session, transport)
}

fn received(transport: &Transport) -> Vec<String> {
    transport
        .drain()
        .map(|item| match item {
            Outgoing::Broadcast(broadcast) => broadcast.message().as_text().unwrap().to_owned(),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn publish_reaches_subscribers_in_order_and_only_them() {
    block_on(async {
        let hub = Hub::new(Arc::new(LocalBroker::new()));
        let (a, a_out) = open(&hub, None);
        let (b, b_out) = open(&hub, None);
        let (_c, c_out) = open(&hub, None);
        a.subscribe("room").await.unwrap();
        b.subscribe("room").await.unwrap();
        b.subscribe("room").await.unwrap(); // twice is once
        for i in 0..5 {
            assert_eq!(hub.publish("room", format!("m{i}")).await.unwrap().delivered_here, 2);
        }
        let expected: Vec<String> = (0..5).map(|i| format!("m{i}")).collect();
        assert_eq!(received(&a_out), expected);
        assert_eq!(received(&b_out), expected);
        assert!(received(&c_out).is_empty());
        assert_eq!(hub.stats().delivered, 10);
    })
}

#[test]
fn subscriptions_end_with_unsubscribe_and_with_the_session() {
    block_on(async {
        let hub = Hub::new(Arc::new(LocalBroker::new()));
        let (a, a_out) = open(&hub, None);
        let (b, _b_out) = open(&hub, None);
        a.subscribe("x").await.unwrap();
        a.subscribe("y").await.unwrap();
        b.subscribe("x").await.unwrap();
        a.unsubscribe("x").await;
        assert_eq!(hub.publish("x", "only b").await.unwrap().delivered_here, 1);
        assert!(received(&a_out).is_empty());
        assert_eq!(hub.topics_of(&a), vec!["y".to_owned()]);
        assert_eq!(hub.count(), 2);
        hub.unregister(&a).await;
        assert_eq!(hub.count(), 1);
        assert!(hub.subscribers("y").is_empty());
        assert_eq!(hub.publish("y", "nobody").await.unwrap().delivered_here, 0);
        assert!(a.subscribe("z").await.is_err(), "a closed session cannot subscribe");
    })
}

#[test]
fn per_user_delivery_reaches_every_session_of_the_user() {
    block_on(async {
        let hub = Hub::new(Arc::new(LocalBroker::new()));
        let (_a1, a1_out) = open(&hub, Some("alice"));
        let (a2, a2_out) = open(&hub, Some("alice"));
        let (_b, b_out) = open(&hub, Some("bob"));
        assert_eq!(hub.send_to_user("alice", "hi alice").await, 2);
        assert_eq!(received(&a1_out), vec!["hi alice"]);
        assert_eq!(received(&a2_out), vec!["hi alice"]);
        assert!(received(&b_out).is_empty());
        hub.unregister(&a2).await;
        assert_eq!(hub.user_sessions("alice").len(), 1);
        assert_eq!(hub.sessions_on("/chat/{room}").len(), 2);
    })
}

#[test]
fn a_full_queue_drops_per_policy_and_is_counted() {
    block_on(async {
        let hub = Hub::new(Arc::new(LocalBroker::new()));
        let (a, _a_out) = open(&hub, None);
        a.subscribe("t").await.unwrap();
        for _ in 0..10 {
            hub.publish("t", "x").await.unwrap();
        }
        let stats = hub.stats();
        assert_eq!((stats.delivered, stats.dropped), (8, 2));
    })
}

fn events_of(hub: &Hub) -> Arc<std::sync::Mutex<Vec<String>>> {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    hub.on_presence(move |event| {
        let change = match event.change {
            crate::PresenceChange::Join => "join",
            crate::PresenceChange::Leave => "leave",
        };
        log.lock().unwrap().push(format!("{change} {} {}", event.topic, event.member.info));
    });
    seen
}

#[test]
fn presence_lists_members_in_joining_order_and_tells_observers() {
    block_on(async {
        let hub = Hub::new(Arc::new(LocalBroker::new()));
        let events = events_of(&hub);
        let (ann, _a) = open(&hub, Some("ann-principal"));
        let (bob, _b) = open(&hub, None);
        assert_eq!(ann.track_presence("room", crate::Presence::new("ann")).await.unwrap(), crate::Tracked::Joined);
        assert_eq!(bob.track_presence("room", crate::Presence::new("bob")).await.unwrap(), crate::Tracked::Joined);
        let members = hub.presence("room").await.unwrap();
        assert_eq!(members.iter().map(|m| m.info.as_str()).collect::<Vec<_>>(), ["ann", "bob"]);
        assert_eq!(members[0].principal.as_deref(), Some("ann-principal"));
        assert_eq!(members[0].node, "local");
        assert_eq!(hub.presence_count("room").await.unwrap(), 2);
        assert!(ann.track_presence("room", crate::Presence::new("again")).await.is_err(), "once per topic");
        ann.untrack_presence("room").await;
        hub.unregister(&bob).await;
        assert_eq!(hub.presence_count("room").await.unwrap(), 0);
        assert_eq!(*events.lock().unwrap(), ["join room ann", "join room bob", "leave room ann", "leave room bob"]);
        let long = "x".repeat(crate::MAX_PRESENCE_INFO + 1);
        assert!(ann.track_presence("room", crate::Presence::new(long)).await.unwrap_err().to_string().contains("1024"));
    });
}

#[test]
fn a_unique_info_is_refused_to_others_and_taken_over_by_its_owner() {
    block_on(async {
        let hub = Hub::new(Arc::new(LocalBroker::new()));
        let events = events_of(&hub);
        let (first, _f) = open(&hub, None);
        let (thief, _t) = open(&hub, None);
        let (same_tab, _s) = open(&hub, None);
        let ann = |owner: &str| crate::Presence::new("ann").unique().owner(owner);
        assert_eq!(first.track_presence("room", ann("tab-1")).await.unwrap(), crate::Tracked::Joined);
        match thief.track_presence("room", ann("tab-2")).await.unwrap() {
            crate::Tracked::Taken(holder) => assert_eq!(holder.session, first.id()),
            other => panic!("{other:?}"),
        }
        // Not unique: the same info twice is fine.
        assert_eq!(thief.track_presence("room", crate::Presence::new("ann")).await.unwrap(), crate::Tracked::Joined);
        thief.untrack_presence("room").await;
        match same_tab.track_presence("room", ann("tab-1")).await.unwrap() {
            crate::Tracked::TookOver(old) => assert_eq!(old.session, first.id()),
            other => panic!("{other:?}"),
        }
        // The old connection closing later announces nothing.
        hub.unregister(&first).await;
        let members = hub.presence("room").await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].session, same_tab.id());
        assert_eq!(
            *events.lock().unwrap(),
            ["join room ann", "join room ann", "leave room ann"],
            "thief's join and leave only"
        );
    });
}
