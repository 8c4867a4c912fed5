//! The builder form: `wsboot::serve` logs, prints the ready line and shuts
//! down gracefully on Ctrl-C or SIGTERM, as `wsboot::run()` does. Reads its
//! settings (`WSBOOT_ADDR`, ...) from the environment.

use wsboot::{ConfigSources, Server};

#[wsboot::main(flavor = "current_thread")]
async fn main() -> Result<(), wsboot::Error> {
    let builder = Server::builder().config_sources(ConfigSources::standard(None));
    wsboot::serve(builder).await
}
