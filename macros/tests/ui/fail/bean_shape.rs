use wsboot::bean;

pub trait Store {}

pub struct Pool;

#[bean(order = 1)]
fn with_option() -> Pool {
    Pool
}

#[bean]
async fn asynchronous() -> Pool {
    Pool
}

#[bean]
fn opaque() -> impl Store {
    struct Memory;
    impl Store for Memory {}
    Memory
}

#[bean]
struct NotAFn;

fn main() {}
