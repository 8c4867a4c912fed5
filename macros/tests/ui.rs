//! Compile-time behaviour of `#[ws_handler]`: what expands and runs
//! (`ui/pass`), and what is rejected with which message, on which token
//! (`ui/fail/*.stderr`). Refresh the snapshots with `TRYBUILD=overwrite cargo
//! test -p wsboot-macros --test ui` and review them as a diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
