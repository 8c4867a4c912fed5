//! `wsboot::run()` serving the library's handlers: `#[wsboot::main]` links the
//! library in, though nothing here names it.

#[wsboot::main]
fn main() {
    wsboot::run();
}
