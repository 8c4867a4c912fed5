use std::marker::PhantomData;

use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/typed")]
struct Typed<T> {
    marker: PhantomData<T>,
}
impl<T: Send + Sync + 'static> WebSocketHandler for Typed<T> {}

#[derive(Default)]
#[ws_handler("/borrowed")]
struct Borrowed<'a> {
    name: &'a str,
}

fn main() {}
