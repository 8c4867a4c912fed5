//! Phase 3 of `#[ws_plugin]`: the link-time registration of a checked
//! [`Plugin`], in one `const _: () = { ... };` next to the untouched item,
//! naming the runtime only through `<crate>::__private` and the public
//! `<crate>::RegistryPlugin` trait.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::validate::{Plugin, Target};

/// The registration of `plugin`, to be emitted after the annotated item.
pub(crate) fn registration(plugin: &Plugin) -> TokenStream {
    let Plugin { krate, target, order } = plugin;
    let private = quote!(#krate::__private);
    let ident = target.ident();
    let type_name = ident.unraw().to_string();
    let build = build(plugin);
    // The `order` expression carries its own span, so a non-`i32` is reported on it.
    let order = match order {
        Some(order) => quote_spanned!(order.span()=> const __WSBOOT_ORDER: i32 = #order;),
        None => quote!(
            const __WSBOOT_ORDER: i32 = 0;
        ),
    };
    let location = quote_spanned! {ident.span()=>
        #private::SourceLocation {
            file: ::core::file!(),
            line: ::core::line!(),
            column: ::core::column!(),
        }
    };
    quote! {
        const _: () = {
            #build

            fn __wsboot_factory() -> #private::SharedPlugin {
                #private::shared_plugin(__wsboot_build())
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

/// `__wsboot_build()`: makes the plugin; its `impl RegistryPlugin` return type
/// carries the user's span, so a missing trait impl (or `Default`) is reported
/// on the struct name or the fn's return type.
fn build(plugin: &Plugin) -> TokenStream {
    let krate = &plugin.krate;
    match &plugin.target {
        Target::Struct { ident } => {
            let build = quote_spanned! {ident.span()=>
                fn __wsboot_build() -> impl #krate::RegistryPlugin {
                    <#ident as __WsbootDefault>::__wsboot_default()
                }
            };
            quote! {
                #[diagnostic::on_unimplemented(
                    message = "#[ws_plugin] cannot build `{Self}`: it does not implement `Default`",
                    label = "`{Self}` is not `Default`",
                    note = "derive it with `#[derive(Default)]`, or put #[ws_plugin] on a factory fn \
                            that builds the plugin: `fn make() -> impl RegistryPlugin {{ ... }}`"
                )]
                trait __WsbootDefault: ::core::marker::Sized {
                    fn __wsboot_default() -> Self;
                }

                impl<T: ::core::default::Default> __WsbootDefault for T {
                    fn __wsboot_default() -> Self {
                        <T as ::core::default::Default>::default()
                    }
                }

                #build
            }
        }
        Target::Fn { ident, output } => quote_spanned! {output.span()=>
            fn __wsboot_build() -> impl #krate::RegistryPlugin {
                #ident()
            }
        },
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
