//! Phase 3, code: turns a checked [`Handler`] into the registration.
//!
//! Everything generated sits in one `const _: () = { ... };` next to the
//! untouched item and names the runtime only through `<crate>::__private`
//! (`runtime/src/private.rs` lists those paths) plus the public
//! `<crate>::WebSocketHandler` trait for the type-check shim. `<crate>` is
//! `::wsboot` unless the attribute says `crate = ...`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::target::{self, HANDLER};
use crate::validate::{Handler, Options};

/// The registration of `handler`, to be emitted after the annotated item.
pub(crate) fn registration(handler: &Handler) -> TokenStream {
    let Handler { krate, path, target, options } = handler;
    let private = quote!(#krate::__private);
    let ident = target.ident();
    let type_name = ident.unraw().to_string();
    let build = target::build(krate, target, &HANDLER);
    let configure = configure(&private, options);
    let per_connection = options.per_connection;
    let location = target::location(&private, target);
    let (context, lookups) = target::lookups(&private, target);
    let make = if per_connection {
        let call = target::call(target, true);
        quote!(#private::per_connection_factory(move || #call))
    } else {
        let call = target::call(target, false);
        quote!(#private::shared_factory(#call))
    };
    quote! {
        const _: () = {
            #build

            fn __wsboot_factory(
                #context,
            ) -> ::core::result::Result<#private::HandlerFactory, #private::Error> {
                #lookups
                ::core::result::Result::Ok(#make)
            }

            #configure

            #private::inventory::submit! {
                #private::HandlerDescriptor {
                    path: #path,
                    type_name: ::core::concat!(::core::module_path!(), "::", #type_name),
                    factory: __wsboot_factory,
                    per_connection: #per_connection,
                    configure: __wsboot_configure,
                    location: #location,
                }
            }
        };
    }
}

/// `__wsboot_configure(registration)`: the options, applied through the same
/// `HandlerRegistration` methods a programmatic registration calls.
fn configure(private: &TokenStream, options: &Options) -> TokenStream {
    let mut calls = Vec::new();
    if let Some(origins) = &options.allowed_origins {
        let count = origins.len();
        calls.push(quote! {
            let origins: [&'static str; #count] = [#(#origins),*];
            registration.allowed_origins(origins);
        });
    }
    if let Some(protocols) = &options.subprotocols {
        let count = protocols.len();
        calls.push(quote! {
            let protocols: [&'static str; #count] = [#(#protocols),*];
            registration.subprotocols(protocols);
        });
    }
    // Calls that take a user expression carry its span, so a type error (not an
    // interceptor, not a `usize`) is reported on that expression alone.
    for interceptor in &options.interceptors {
        calls.push(quote_spanned!(interceptor.span()=> registration.interceptor(#interceptor);));
    }
    for decorator in &options.decorators {
        calls.push(quote_spanned!(decorator.span()=> registration.decorator(#decorator);));
    }
    if let Some(bytes) = &options.max_message_size {
        calls.push(quote_spanned!(bytes.span()=> registration.max_message_size(#bytes);));
    }
    if let Some(bytes) = &options.max_frame_size {
        calls.push(quote_spanned!(bytes.span()=> registration.max_frame_size(#bytes);));
    }
    if options.deflate {
        calls.push(quote!(registration.deflate(true);));
    }
    let parameter = if calls.is_empty() { quote!(_registration) } else { quote!(registration) };
    quote! {
        fn __wsboot_configure(#parameter: &mut #private::HandlerRegistration) {
            #(#calls)*
        }
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::*;
    use crate::errors::Errors;
    use crate::{parse, validate};

    fn expand(args: TokenStream, item: TokenStream) -> String {
        let mut errors = Errors::default();
        let args = parse::args(args, &mut errors);
        let handler = validate::handler(args, &parse::item(item), &mut errors);
        let handler = errors.finish(handler).ok().flatten().expect("a valid handler");
        registration(&handler).to_string()
    }

    #[test]
    fn struct_registration() {
        let code = expand(
            quote!("/chat"),
            quote!(
                struct Chat;
            ),
        );
        assert!(code.starts_with("const _ : () = {"), "{code}");
        for expected in [
            "fn __wsboot_build () -> impl :: wsboot :: WebSocketHandler { < Chat as __WsbootDefault > :: __wsboot_default () }",
            ":: wsboot :: __private :: shared_factory (__wsboot_build ())",
            "fn __wsboot_factory (_context : & :: wsboot :: __private :: AppContext ,)",
            "fn __wsboot_configure (_registration : & mut :: wsboot :: __private :: HandlerRegistration) { }",
            ":: wsboot :: __private :: inventory :: submit !",
            "path : \"/chat\"",
            "type_name : :: core :: concat ! (:: core :: module_path ! () , \"::\" , \"Chat\")",
            "per_connection : false",
            "file : :: core :: file ! ()",
        ] {
            assert!(code.contains(expected), "{expected}\nnot in\n{code}");
        }
    }

    #[test]
    fn fn_registration_calls_the_fn() {
        let code = expand(
            quote!("/made", per_connection),
            quote!(
                fn made() -> impl WebSocketHandler {
                    Echo
                }
            ),
        );
        assert!(code.contains("fn __wsboot_build () -> impl :: wsboot :: WebSocketHandler { made () }"), "{code}");
        assert!(code.contains("per_connection_factory (move || __wsboot_build ())"), "{code}");
        assert!(code.contains("per_connection : true"), "{code}");
        assert!(code.contains("\"::\" , \"made\""), "{code}");
    }

    #[test]
    fn factory_parameters_are_looked_up_then_passed() {
        let code = expand(
            quote!("/notify/{user}", per_connection),
            quote!(
                fn notify(tokens: &TokenStore, hub: Hub) -> Notify {
                    Notify
                }
            ),
        );
        for expected in [
            "fn __wsboot_build (__wsboot_arg0 : & TokenStore , __wsboot_arg1 : Hub) -> impl :: wsboot :: WebSocketHandler + use < > { notify (__wsboot_arg0 , __wsboot_arg1) }",
            "let __wsboot_arg0 = :: wsboot :: __private :: inject_ref :: < TokenStore > (context , \"tokens: &TokenStore\") ? ;",
            "let __wsboot_arg1 = :: wsboot :: __private :: inject :: < Hub > (context , \"hub: Hub\") ? ;",
            "move || __wsboot_build (& * __wsboot_arg0 , :: core :: clone :: Clone :: clone (& __wsboot_arg1))",
        ] {
            assert!(code.contains(expected), "{expected}\nnot in\n{code}");
        }
    }

    #[test]
    fn options_become_registration_calls_in_order() {
        let code = expand(
            quote! {
                "/a", deflate, max_frame_size = 4096, max_message_size = LIMIT, interceptors = [First, second()],
                subprotocols = ["v1", "v2"], allowed_origins = [],
            },
            quote!(
                struct A;
            ),
        );
        let calls = [
            "let origins : [& 'static str ; 0usize] = [] ; registration . allowed_origins (origins) ;",
            "let protocols : [& 'static str ; 2usize] = [\"v1\" , \"v2\"] ; registration . subprotocols (protocols) ;",
            "registration . interceptor (First) ;",
            "registration . interceptor (second ()) ;",
            "registration . max_message_size (LIMIT) ;",
            "registration . max_frame_size (4096) ;",
            "registration . deflate (true) ;",
        ];
        let positions: Vec<usize> =
            calls.iter().map(|call| code.find(call).unwrap_or_else(|| panic!("{call}\nnot in\n{code}"))).collect();
        assert!(positions.is_sorted(), "{code}");
    }

    #[test]
    fn crate_override_roots_every_path() {
        let code = expand(
            quote!("/a", crate = my::wsboot),
            quote!(
                struct A;
            ),
        );
        assert_eq!(code.matches(":: wsboot ::").count(), code.matches("my :: wsboot ::").count(), "{code}");
        assert!(code.contains("my :: wsboot :: __private :: HandlerDescriptor"), "{code}");
        assert!(code.contains("impl my :: wsboot :: WebSocketHandler"), "{code}");
    }
}
