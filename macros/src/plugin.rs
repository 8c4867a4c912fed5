//! `#[ws_plugin]`: the same phases as `#[ws_handler]`. The argument grammar is
//! shared (`crate::parse`); what the options mean and what the item may be is
//! checked in `validate`, and `expand` emits the link-time registration.

mod expand;
mod validate;

use proc_macro2::TokenStream;

/// `#[ws_plugin]`'s phases, run by the same driver as `#[ws_handler]`'s.
pub(crate) fn ws_plugin_impl(args: TokenStream, item: TokenStream) -> TokenStream {
    crate::attribute_impl(args, item, validate::plugin, expand::registration)
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
