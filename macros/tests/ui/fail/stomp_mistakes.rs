use wsboot::stomp::{message_mapping, subscribe_mapping};

#[message_mapping("/chat.{room}")]
fn not_async(room: String) -> String {
    room
}

#[message_mapping("chat")]
async fn no_slash() {}

#[message_mapping("/a", send_to = "/topic/a", send_to_user = "/queue/a")]
async fn two_targets() {}

#[subscribe_mapping("/b", reply_to = "/topic/b")]
async fn unknown_option() {}

#[message_mapping]
async fn no_pattern() {}

#[message_mapping("/c")]
struct NotAFunction;

fn main() {}
