//! `chaos-node`: the chat example's server, as the chaos program runs it for
//! each node (`--addr 127.0.0.1:0 --redis URL`; it prints `listening on
//! ws://ADDR` when ready and stops gracefully on SIGTERM).

fn main() {
    wsboot_examples::chat_app::app().run()
}
