//! What `#[ws_handler]` and `#[ws_plugin]` may be put on, for both attributes:
//! a non-generic struct (built with `Default`) or a plain factory fn, checked
//! the same way (phase 2) and built the same way (phase 3). [`Attribute`] holds
//! the words that differ.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Generics, Ident, Item, LitStr, Path, Signature, Type};

use crate::errors::Errors;
use crate::inject::{self, Param};
use crate::options::Which;

/// The wording of one attribute, for its checks and its generated code.
pub(crate) struct Attribute {
    /// As written in messages: `#[ws_handler]`.
    pub(crate) name: &'static str,
    /// What the item makes: `handler`.
    pub(crate) noun: &'static str,
    /// The trait the item implements, at the crate root: `WebSocketHandler`.
    pub(crate) trait_name: &'static str,
    /// The attribute as written on a factory fn, in help: `#[ws_handler("/path")]`.
    pub(crate) on_fn: &'static str,
    /// Where async setup goes, for a factory fn written `async`.
    pub(crate) async_setup: &'static str,
    /// The options it takes (besides those both take).
    pub(crate) options: Which,
    /// Why the other attribute's options mean nothing here.
    pub(crate) without_other_options: &'static str,
}

pub(crate) const HANDLER: Attribute = Attribute {
    name: "#[ws_handler]",
    noun: "handler",
    trait_name: "WebSocketHandler",
    on_fn: "#[ws_handler(\"/path\")]",
    async_setup: "the handler's callbacks",
    options: Which::Handler,
    without_other_options: "a handler serves its own path, and handlers are not ordered",
};

pub(crate) const PLUGIN: Attribute = Attribute {
    name: "#[ws_plugin]",
    noun: "plugin",
    trait_name: "RegistryPlugin",
    on_fn: "#[ws_plugin]",
    async_setup: "the plugin's `on_start`",
    options: Which::Plugin,
    without_other_options: "a plugin is built once per server and has no path",
};

impl Attribute {
    /// The rule every wrong item breaks.
    pub(crate) fn item_rule(&self) -> String {
        format!("{} goes on a struct or on a fn returning `impl {}`", self.name, self.trait_name)
    }
}

/// What the attribute is on.
pub(crate) enum Target {
    /// A non-generic struct, built with `Default::default()`.
    Struct { ident: Ident },
    /// A free fn that returns the handler or plugin; its parameters are beans.
    Fn { ident: Ident, output: Box<Type>, params: Vec<Param> },
}

impl Target {
    pub(crate) fn ident(&self) -> &Ident {
        match self {
            Target::Struct { ident } | Target::Fn { ident, .. } => ident,
        }
    }
}

/// Phase 2: the annotated item must be a non-generic struct or a plain factory fn.
pub(crate) fn check(item: &Item, attribute: &Attribute, errors: &mut Errors) -> Option<Target> {
    let Attribute { noun, trait_name, on_fn, .. } = attribute;
    let factory_help = |ident: &Ident| {
        format!(
            "\n  help: register it through a factory fn: `{on_fn} fn make() -> impl {trait_name} {{ {ident}::default() }}`"
        )
    };
    let (what, tokens, help) = match item {
        Item::Struct(item) => {
            let ident = &item.ident;
            return generics_ok(
                &item.generics,
                || {
                    format!(
                        "a {noun} is one concrete type, but `{ident}` is generic\n  \
                         help: register a concrete wrapper (`#[derive(Default)] struct My{ident}({ident}<...>);`) \
                         or a factory fn: `{on_fn} fn make() -> impl {trait_name} {{ {ident}::<...>::default() }}`"
                    )
                },
                errors,
            )
            .then(|| Target::Struct { ident: ident.clone() });
        }
        Item::Fn(item) => return factory_fn(&item.sig, attribute, errors),
        Item::Enum(item) => ("an enum", join(&item.enum_token, &item.ident), factory_help(&item.ident)),
        Item::Union(item) => ("a union", join(&item.union_token, &item.ident), factory_help(&item.ident)),
        Item::Impl(item) => (
            "an impl block",
            join(&item.impl_token, &item.self_ty),
            "\n  help: put the attribute on the struct this impl is for".to_owned(),
        ),
        Item::Trait(item) => ("a trait", join(&item.trait_token, &item.ident), String::new()),
        Item::TraitAlias(item) => ("a trait alias", join(&item.trait_token, &item.ident), String::new()),
        Item::Const(item) => ("a const", join(&item.const_token, &item.ident), String::new()),
        Item::Static(item) => ("a static", join(&item.static_token, &item.ident), String::new()),
        Item::Mod(item) => ("a module", join(&item.mod_token, &item.ident), String::new()),
        Item::Type(item) => ("a type alias", join(&item.type_token, &item.ident), String::new()),
        Item::Use(item) => ("a use declaration", item.use_token.to_token_stream(), String::new()),
        Item::ExternCrate(item) => ("an extern crate", join(&item.extern_token, &item.crate_token), String::new()),
        Item::ForeignMod(item) => ("an extern block", item.abi.to_token_stream(), String::new()),
        Item::Macro(item) => ("a macro invocation", item.mac.path.to_token_stream(), String::new()),
        other => ("this item", other.to_token_stream(), String::new()),
    };
    errors.spanned(tokens, format!("{}, not on {what}{help}", attribute.item_rule()));
    None
}

/// The tokens of `a` then `b`, for an error spanning both.
fn join(a: &dyn ToTokens, b: &dyn ToTokens) -> TokenStream {
    let mut tokens = a.to_token_stream();
    b.to_tokens(&mut tokens);
    tokens
}

/// Records `message()` on the generics (or where clause) if there are any.
fn generics_ok(generics: &Generics, message: impl FnOnce() -> String, errors: &mut Errors) -> bool {
    let tokens = if !generics.params.is_empty() {
        generics.to_token_stream()
    } else if let Some(where_clause) = &generics.where_clause {
        where_clause.to_token_stream()
    } else {
        return true;
    };
    errors.spanned(tokens, message());
    false
}

/// `fn name(beans...) -> Type`: no receiver, generics, `async` or `unsafe`; the
/// parameters are checked by [`inject::params`]. Every problem of the
/// signature is reported at once.
fn factory_fn(sig: &Signature, attribute: &Attribute, errors: &mut Errors) -> Option<Target> {
    let Attribute { noun, trait_name, .. } = attribute;
    let ident = &sig.ident;
    let mut local = Errors::default();
    if let Some(asyncness) = &sig.asyncness {
        local.spanned(
            asyncness,
            format!(
                "a {noun} factory fn cannot be `async`: the server calls it to build the {noun}; \
                 remove `async` and do async setup in {}",
                attribute.async_setup
            ),
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        local.spanned(unsafety, format!("a {noun} factory fn cannot be `unsafe`: the server calls it from safe code"));
    }
    generics_ok(
        &sig.generics,
        || {
            format!(
                "a {noun} factory fn cannot be generic: a {noun} is one concrete type\n  \
                 help: pick the type inside the fn: `fn {ident}() -> impl {trait_name} {{ ... }}`"
            )
        },
        &mut local,
    );
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        local.spanned(
            receiver,
            format!(
                "{}, not on a method\n  help: write a free fn: `fn {ident}() -> impl {trait_name}`",
                attribute.item_rule()
            ),
        );
    }
    let params = inject::params(&sig.inputs, &sig.output, (*noun, *trait_name), &mut local);
    if let Some(variadic) = &sig.variadic {
        local.spanned(variadic, format!("a {noun} factory fn takes beans, not variadic arguments"));
    }
    let output = match &sig.output {
        syn::ReturnType::Type(_, ty) => Some(ty.clone()),
        syn::ReturnType::Default => {
            local.spanned(
                ident,
                format!(
                    "a {noun} factory fn returns the {noun}, but `{ident}` has no return type\n  \
                     help: write `fn {ident}() -> impl {trait_name}`"
                ),
            );
            None
        }
    };
    errors.ok(local.finish(()))?;
    Some(Target::Fn { ident: ident.clone(), output: output?, params })
}

/// Phase 3: `__wsboot_build()`, which makes one handler or plugin. It is also
/// the type-check shim: its `impl Trait` return type carries the user's span,
/// so a missing trait impl is reported on the struct name (or on the fn's
/// return type) with the trait's own "is not a ..." message, and only once: the
/// factory that calls it then type-checks whatever happens. A struct without
/// `Default` is reported on its name the same way.
pub(crate) fn build(krate: &Path, target: &Target, attribute: &Attribute) -> TokenStream {
    let Attribute { name, noun, .. } = attribute;
    // The trait's name carries the user's span too: rustc reports a missing
    // impl where the `impl Trait` return type's tokens are.
    let trait_at = |span| Ident::new(attribute.trait_name, span);
    match target {
        Target::Struct { ident } => {
            let trait_ident = trait_at(ident.span());
            let build = quote_spanned! {ident.span()=>
                fn __wsboot_build() -> impl #krate::#trait_ident {
                    <#ident as __WsbootDefault>::__wsboot_default()
                }
            };
            // `Default` through a local trait, only to say what to do when it is
            // missing: rustc reports the root obligation's message. In these
            // strings `{Self}` is filled in by rustc and `{{` is a literal brace.
            let message =
                LitStr::new(&format!("{name} cannot build `{{Self}}`: it does not implement `Default`"), ident.span());
            let note = LitStr::new(
                &format!(
                    "derive it with `#[derive(Default)]`, or put {name} on a factory fn that builds the {noun}: \
                     `fn make() -> impl {trait_ident} {{{{ ... }}}}`"
                ),
                ident.span(),
            );
            quote! {
                #[diagnostic::on_unimplemented(
                    message = #message,
                    label = "`{Self}` is not `Default`",
                    note = #note
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
        Target::Fn { ident, output, params } => {
            let trait_ident = trait_at(output.span());
            let declarations = params.iter().map(Param::declaration);
            let arguments = params.iter().map(Param::local);
            // The handler outlives the call: it captures no parameter's lifetime.
            let captures = if params.is_empty() { quote!() } else { quote!(+ use<>) };
            quote_spanned! {output.span()=>
                fn __wsboot_build(#(#declarations),*) -> impl #krate::#trait_ident #captures {
                    #ident(#(#arguments),*)
                }
            }
        }
    }
}

/// Phase 3: the signature of `__wsboot_factory`'s context parameter, and the
/// lookups of the factory fn's parameters in it (each `?` returns the error
/// naming the parameter and its type).
pub(crate) fn lookups(private: &TokenStream, target: &Target) -> (TokenStream, TokenStream) {
    match target {
        Target::Fn { params, .. } if !params.is_empty() => {
            let lookups = params.iter().map(|p| p.lookup(private));
            (quote!(context: &#private::AppContext), quote!(#(#lookups)*))
        }
        _ => (quote!(_context: &#private::AppContext), quote!()),
    }
}

/// Phase 3: `__wsboot_build(...)` with the looked-up values (cloned when
/// `per_session`, for a factory called once per session).
pub(crate) fn call(target: &Target, per_session: bool) -> TokenStream {
    let arguments = match target {
        Target::Fn { params, .. } => params.iter().map(|p| p.argument(per_session)).collect(),
        Target::Struct { .. } => Vec::new(),
    };
    quote!(__wsboot_build(#(#arguments),*))
}

/// Phase 3: where the item is, for startup errors that name it. `file!()` and
/// friends resolve at the user's struct or fn name.
pub(crate) fn location(private: &TokenStream, target: &Target) -> TokenStream {
    quote_spanned! {target.ident().span()=>
        #private::SourceLocation {
            file: ::core::file!(),
            line: ::core::line!(),
            column: ::core::column!(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::*;
    use crate::parse;

    /// Every error `check` records for `item` under `#[ws_handler]`.
    fn errors(item: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        let target = check(&parse::item(item), &HANDLER, &mut errors);
        match errors.finish(target) {
            Ok(_) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The one error `check` records for `item`.
    fn on_item(item: TokenStream) -> String {
        let errors = errors(item);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        errors.into_iter().next().unwrap_or_default()
    }

    #[test]
    fn item_kinds() {
        let rule = "#[ws_handler] goes on a struct or on a fn returning `impl WebSocketHandler`, not on";
        for (item, what) in [
            (
                quote!(
                    enum Chat {
                        A,
                    }
                ),
                "an enum",
            ),
            (quote!(union Chat { a: u8 }), "a union"),
            (quote!(impl Chat {}), "an impl block"),
            (
                quote!(
                    trait Chat {}
                ),
                "a trait",
            ),
            (
                quote!(
                    mod chat {}
                ),
                "a module",
            ),
            (
                quote!(
                    const CHAT: u8 = 1;
                ),
                "a const",
            ),
            (
                quote!(
                    static CHAT: u8 = 1;
                ),
                "a static",
            ),
            (
                quote!(
                    type Chat = u8;
                ),
                "a type alias",
            ),
            (
                quote!(
                    use chat::Chat;
                ),
                "a use declaration",
            ),
        ] {
            let message = on_item(item);
            assert!(message.starts_with(&format!("{rule} {what}")), "{message}");
        }
        assert!(
            on_item(quote!(
                enum Chat {
                    A,
                }
            ))
            .contains("help: register it through a factory fn")
        );
    }

    #[test]
    fn generic_structs_are_rejected() {
        for item in [
            quote!(
                struct Chat<T>(T);
            ),
            quote!(
                struct Chat<'a>(&'a str);
            ),
            quote!(
                struct Chat
                where
                    u8: Copy;
            ),
        ] {
            let message = on_item(item);
            assert!(message.starts_with("a handler is one concrete type, but `Chat` is generic"), "{message}");
            assert!(message.contains("help: "), "{message}");
        }
    }

    #[test]
    fn factory_fn_shape() {
        let cases = [
            (
                quote!(
                    fn make(config: &mut Config) -> Echo {
                        Echo
                    }
                ),
                "a bean is shared by every session",
            ),
            (
                quote!(
                    fn make<T>() -> impl WebSocketHandler {
                        Echo
                    }
                ),
                "a handler factory fn cannot be generic",
            ),
            (
                quote!(
                    async fn make() -> impl WebSocketHandler {
                        Echo
                    }
                ),
                "a handler factory fn cannot be `async`",
            ),
            (
                quote!(
                    unsafe fn make() -> impl WebSocketHandler {
                        Echo
                    }
                ),
                "a handler factory fn cannot be `unsafe`",
            ),
            (
                quote!(
                    fn make() {}
                ),
                "a handler factory fn returns the handler, but `make` has no return type",
            ),
            (
                quote!(
                    fn make(&self) -> impl WebSocketHandler {
                        Echo
                    }
                ),
                "#[ws_handler] goes on a struct or on a fn",
            ),
        ];
        for (item, expected) in cases {
            let message = on_item(item);
            assert!(message.starts_with(expected), "{message}");
        }
        let errors = errors(quote!(
            async fn make<T>(x: &mut T) {}
        ));
        assert_eq!(errors.len(), 4, "every problem of the fn at once: {errors:#?}");
    }
}
