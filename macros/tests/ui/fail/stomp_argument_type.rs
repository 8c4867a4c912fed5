use wsboot::stomp::message_mapping;

struct Unknown;

// An argument that is neither a `{variable}` nor taken from the message.
#[message_mapping("/d")]
async fn wrong(value: Unknown) {
    let _ = value;
}

fn main() {}
