//! Phase 3 of `#[ws_plugin]`: the link-time registration of a checked
//! [`Plugin`], in one `const _: () = { ... };` next to the untouched item,
//! naming the runtime only through `<crate>::__private` and the public
//! `<crate>::RegistryPlugin` trait.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::validate::Plugin;
use crate::target::{self, PLUGIN};

/// The registration of `plugin`, to be emitted after the annotated item.
pub(crate) fn registration(plugin: &Plugin) -> TokenStream {
    let Plugin { krate, target, order } = plugin;
    let private = quote!(#krate::__private);
    let ident = target.ident();
    let type_name = ident.unraw().to_string();
    let build = target::build(krate, target, &PLUGIN);
    // The `order` expression carries its own span, so a non-`i32` is reported on it.
    let order = match order {
        Some(order) => quote_spanned!(order.span()=> const __WSBOOT_ORDER: i32 = #order;),
        None => quote!(
            const __WSBOOT_ORDER: i32 = 0;
        ),
    };
    let location = target::location(&private, target);
    let (context, lookups) = target::lookups(&private, target);
    let call = target::call(target, false);
    quote! {
        const _: () = {
            #build

            fn __wsboot_factory(
                #context,
            ) -> ::core::result::Result<#private::SharedPlugin, #private::Error> {
                #lookups
                ::core::result::Result::Ok(#private::shared_plugin(#call))
            }

            #order

            #private::inventory::submit! {
                #private::PluginDescriptor {
                    type_name: ::core::concat!(::core::module_path!(), "::", #type_name),
                    factory: __wsboot_factory,
                    order: __WSBOOT_ORDER,
                    location: #location,
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::*;
    use crate::errors::Errors;
    use crate::parse;
    use crate::plugin::validate;

    fn expand(args: TokenStream, item: TokenStream) -> String {
        let mut errors = Errors::default();
        let args = parse::args(args, &mut errors);
        let plugin = validate::plugin(args, &parse::item(item), &mut errors);
        let plugin = errors.finish(plugin).ok().flatten().expect("a valid plugin");
        registration(&plugin).to_string()
    }

    #[test]
    fn struct_registration() {
        let code = expand(
            quote!(),
            quote!(
                struct Audit;
            ),
        );
        for expected in [
            "fn __wsboot_build () -> impl :: wsboot :: RegistryPlugin { < Audit as __WsbootDefault > :: __wsboot_default () }",
            ":: wsboot :: __private :: shared_plugin (__wsboot_build ())",
            "const __WSBOOT_ORDER : i32 = 0 ;",
            ":: wsboot :: __private :: PluginDescriptor",
            "type_name : :: core :: concat ! (:: core :: module_path ! () , \"::\" , \"Audit\")",
        ] {
            assert!(code.contains(expected), "{expected}\nnot in\n{code}");
        }
    }

    #[test]
    fn fn_registration_with_order_and_crate() {
        let code = expand(
            quote!(order = -5, crate = my::wsboot),
            quote!(
                fn audit() -> impl RegistryPlugin {
                    Audit
                }
            ),
        );
        assert!(code.contains("fn __wsboot_build () -> impl my :: wsboot :: RegistryPlugin { audit () }"), "{code}");
        assert!(code.contains("const __WSBOOT_ORDER : i32 = - 5 ;"), "{code}");
        assert_eq!(code.matches(":: wsboot ::").count(), code.matches("my :: wsboot ::").count(), "{code}");
    }
}
