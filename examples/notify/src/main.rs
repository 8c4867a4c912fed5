//! The notifications service: `--token NAME:SECRET` admits a user,
//! `--heartbeat-ms N` sets the ticker's period. See the library's docs.

use wsboot::{App, AppOption};
use wsboot_example_notify::{Heartbeat, TokenStore, ticker};

#[wsboot::main]
fn main() {
    App::new()
        .about("Serves /notifications: users with a --token push notes to each other and get a heartbeat.")
        .option(AppOption::repeated("token", "NAME:SECRET", "admit bearer token SECRET as user NAME"))
        .option(AppOption::value("heartbeat-ms", "N", "milliseconds between heartbeats (default 1000)"))
        .configure(|builder, args| {
            let tokens = TokenStore::parse(args.values("token"))?;
            let heartbeat = Heartbeat::from_option(args.value("heartbeat-ms"))?;
            Ok(builder.bean(tokens).bean(heartbeat))
        })
        .background("ticker", ticker)
        .run();
}
