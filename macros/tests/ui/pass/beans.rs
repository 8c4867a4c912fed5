// `#[bean]` providers: concrete types and `Arc<dyn Trait>`, taking other beans.
#![deny(warnings)]

use std::sync::Arc;

use wsboot::{Hub, bean};

pub struct Config {
    pub url: &'static str,
}

pub struct Pool {
    pub url: &'static str,
}

pub trait Store: Send + Sync {
    fn name(&self) -> &str;
}

struct Memory;

impl Store for Memory {
    fn name(&self) -> &str {
        "memory"
    }
}

#[bean]
fn pool(config: &Config, _hub: Hub) -> Pool {
    Pool { url: config.url }
}

#[bean]
pub fn store(_pool: Arc<Pool>) -> Arc<dyn Store> {
    Arc::new(Memory)
}

fn main() {
    let _ = (Memory.name(), Pool { url: "" }.url);
}
