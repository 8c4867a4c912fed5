// `#[wsboot::main]` and `#[wsboot::test]` in a crate that depends on wsboot
// alone: the test crate has no tokio dependency of its own.
#![deny(warnings)]

#[wsboot::test]
async fn spawns() {
    assert_eq!(wsboot::spawn(async { 1 }).await.unwrap(), 1);
}

#[wsboot::main(flavor = "current_thread")]
async fn main() {
    let answer = wsboot::spawn(async { 6 * 7 }).await.unwrap();
    assert_eq!(answer, 42);
}
