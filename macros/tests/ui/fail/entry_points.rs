#[wsboot::main(flavor = "current_thread")]
fn main() {
    wsboot::run();
}
