//! `#[ws_plugin]`: the same phases as `#[ws_handler]`. The argument grammar is
//! shared (`crate::parse`); what the options mean and what the item may be is
//! checked in `validate`, and `expand` emits the link-time registration.

mod expand;
mod validate;

use proc_macro2::TokenStream;

use crate::errors::Errors;
use crate::parse;

/// The item unchanged, followed by its registration, or by every error found
/// (the item is still emitted, so the rest of the crate keeps seeing it).
pub(crate) fn ws_plugin_impl(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = parse::args(args, &mut errors);
    let parsed = parse::item(item.clone());
    let plugin = validate::plugin(args, &parsed, &mut errors);
    let mut output = item;
    match errors.finish(plugin) {
        Ok(Some(plugin)) => output.extend(expand::registration(&plugin)),
        // `validate` returns `None` only after recording an error.
        Ok(None) => {}
        Err(error) => output.extend(error.into_compile_error()),
    }
    output
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    #[test]
    fn errors_keep_the_item() {
        let output = ws_plugin_impl(
            quote!("/nope", per_connection),
            quote!(
                struct Audit;
            ),
        )
        .to_string();
        assert!(output.starts_with("struct Audit ;"), "{output}");
        assert_eq!(output.matches("compile_error !").count(), 2, "{output}");
        assert!(!output.contains("submit"), "{output}");
    }

    #[test]
    fn success_keeps_the_item_then_registers() {
        let output = ws_plugin_impl(
            quote!(order = -1),
            quote!(
                #[derive(Default)]
                struct Audit;
            ),
        )
        .to_string();
        assert!(output.starts_with("# [derive (Default)] struct Audit ; const _ : () ="), "{output}");
        assert!(output.contains("PluginDescriptor"), "{output}");
        assert!(!output.contains("compile_error"), "{output}");
    }
}
