//! `#[wsboot::main]` and `#[wsboot::test]`: tokio's entry-point attributes,
//! pointed at the tokio that wsboot re-exports (an application needs no tokio
//! dependency of its own), and linking in the package's own library.
//!
//! Why the link: `#[ws_handler]` registers through static constructors in the
//! object code of the crate that declares the handler. Rust hands a dependency
//! to the linker only when the program names it, so a `main.rs` or a test file
//! that names nothing from the package's library loses every handler in it.
//! These attributes name that library (`use ::my_app as _;`) when they expand
//! in one of the package's other targets.

use std::path::Path;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ItemFn;

/// The path the expansion names tokio by; `wsboot::__private` re-exports it.
const TOKIO: &str = "::wsboot::__private::tokio";

/// `#[wsboot::main]`: on `async fn main`, tokio's `main` with wsboot's tokio;
/// on a plain `fn main` (one that calls `wsboot::run()`), only the link.
pub(crate) fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let Ok(mut function) = syn::parse2::<ItemFn>(item.clone()) else {
        return with_error(
            item,
            "`#[wsboot::main]` goes on `fn main`: write `#[wsboot::main] fn main() { wsboot::run() }` or \
             `#[wsboot::main] async fn main() { … }`",
        );
    };
    link_own_library(&mut function);
    if function.sig.asyncness.is_none() {
        if !args.is_empty() {
            let error = syn::Error::new_spanned(
                args,
                "runtime options apply to `async fn main`; a plain `fn main` that calls `wsboot::run()` gets the \
                 runtime wsboot picks: remove the options, or make `main` async",
            );
            let error = error.into_compile_error();
            return quote!(#function #error);
        }
        return function.into_token_stream();
    }
    quote!(#[::wsboot::__private::tokio::main(crate = #TOKIO, #args)] #function)
}

/// `#[wsboot::test]`: tokio's `test` with wsboot's tokio, and the link.
pub(crate) fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let Ok(mut function) = syn::parse2::<ItemFn>(item.clone()) else {
        return with_error(
            item,
            "`#[wsboot::test]` goes on a test function: write `#[wsboot::test] async fn it_echoes() { … }`",
        );
    };
    link_own_library(&mut function);
    quote!(#[::wsboot::__private::tokio::test(crate = #TOKIO, #args)] #function)
}

fn with_error(item: TokenStream, message: &str) -> TokenStream {
    let error = syn::Error::new_spanned(&item, message).into_compile_error();
    quote!(#item #error)
}

/// Puts `use ::my_app as _;` first in the function's body when the package
/// being built has a library and this is not it.
fn link_own_library(function: &mut ItemFn) {
    if let Some(library) = own_library() {
        let library = syn::Ident::new(&library, Span::call_site());
        function.block.stmts.insert(0, syn::parse_quote!(#[allow(unused_imports)] use ::#library as _;));
    }
}

/// The crate name of the library of the package being built, unless there is
/// none (or it cannot be named, a proc-macro or C library) or it is the crate
/// being compiled. Cargo describes the target in the compiler's environment,
/// which a procedural macro shares.
fn own_library() -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let manifest = std::fs::read_to_string(Path::new(&dir).join("Cargo.toml")).ok()?;
    let lib = LibSection::read(&manifest);
    if lib.proc_macro || lib.not_rust {
        return None;
    }
    let path = lib.path.as_deref().unwrap_or("src/lib.rs");
    if !Path::new(&dir).join(path).is_file() {
        return None;
    }
    let name = lib.name.or_else(|| std::env::var("CARGO_PKG_NAME").ok())?.replace('-', "_");
    // A binary may share the library's name; only the library itself has no
    // binary name and the library's crate name.
    let compiling_the_library = std::env::var_os("CARGO_BIN_NAME").is_none()
        && std::env::var("CARGO_CRATE_NAME").is_ok_and(|crate_name| crate_name == name);
    (!compiling_the_library).then_some(name)
}

/// What the `[lib]` table of a manifest says, read line by line: enough for
/// the keys this needs, without a TOML parser in every build.
#[derive(Debug, Default, PartialEq, Eq)]
struct LibSection {
    name: Option<String>,
    path: Option<String>,
    proc_macro: bool,
    /// `crate-type` without `lib` or `rlib`: nothing a Rust crate can name.
    not_rust: bool,
}

impl LibSection {
    fn read(manifest: &str) -> LibSection {
        let mut lib = LibSection::default();
        let mut in_lib = false;
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                in_lib = line == "[lib]";
                continue;
            }
            let Some((key, value)) = line.split_once('=').filter(|_| in_lib) else { continue };
            let value = value.trim();
            let text = value.trim_matches('"').to_owned();
            match key.trim() {
                "name" => lib.name = Some(text),
                "path" => lib.path = Some(text),
                "proc-macro" | "proc_macro" => lib.proc_macro = value == "true",
                "crate-type" | "crate_type" => {
                    lib.not_rust = !(value.contains("\"lib\"") || value.contains("\"rlib\""));
                }
                _ => {}
            }
        }
        lib
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lib_table_is_read_for_what_naming_the_library_needs() {
        let manifest = "[package]\nname = \"my-app\"\n\n[lib]\nname = \"core_of_app\"\npath = \"lib/mod.rs\"\n\n\
                        [dependencies]\nname = \"not-this\"\n";
        let lib = LibSection::read(manifest);
        assert_eq!(lib.name.as_deref(), Some("core_of_app"));
        assert_eq!(lib.path.as_deref(), Some("lib/mod.rs"));
        assert!(!lib.proc_macro && !lib.not_rust);
        assert!(LibSection::read("[lib]\nproc-macro = true\n").proc_macro);
        assert!(LibSection::read("[lib]\ncrate-type = [\"cdylib\"]\n").not_rust);
        assert!(!LibSection::read("[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n").not_rust);
        assert_eq!(LibSection::read("[package]\nname = \"x\"\n"), LibSection::default());
    }

    #[test]
    fn async_main_forwards_to_tokio_with_wsboot_s_tokio() {
        let output = main(
            quote!(flavor = "current_thread"),
            quote!(
                async fn main() {}
            ),
        )
        .to_string();
        assert!(
            output.starts_with(
                "# [:: wsboot :: __private :: tokio :: main (crate = \"::wsboot::__private::tokio\" , flavor = \"current_thread\")]"
            ),
            "{output}"
        );
        let output = test(
            quote!(),
            quote!(
                async fn t() {}
            ),
        )
        .to_string();
        assert!(output.starts_with("# [:: wsboot :: __private :: tokio :: test (crate ="), "{output}");
    }

    #[test]
    fn plain_main_is_kept_and_refuses_runtime_options() {
        let output = main(
            quote!(),
            quote!(
                fn main() {
                    wsboot::run()
                }
            ),
        )
        .to_string();
        assert!(!output.contains("tokio"), "{output}");
        let output = main(
            quote!(flavor = "current_thread"),
            quote!(
                fn main() {}
            ),
        )
        .to_string();
        assert!(output.contains("compile_error") && output.contains("runtime options apply to `async fn main`"));
        let output = test(
            quote!(),
            quote!(
                struct NotAFunction;
            ),
        )
        .to_string();
        assert!(output.contains("goes on a test function"), "{output}");
    }
}
