//! Factory fn parameters: beans from the application context, looked up by
//! type when the server starts. Phase 2 checks each parameter ([`params`]);
//! phase 3 generates the lookups and the call ([`Param`]'s methods).
//!
//! A `&T` parameter borrows the bean of type `T` (looked up with
//! `__private::inject_ref::<T>`); any other type goes through
//! `wsboot::FromContext` (`Arc<T>`, `Hub`, `AppContext`, ...), checked by the
//! compiler on the parameter's type.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::token::Comma;
use syn::{FnArg, Ident, ReturnType, Type, TypeParamBound};

use crate::errors::Errors;

/// One checked parameter.
pub(crate) struct Param {
    /// As written, for startup errors: `tokens: &TokenStore`.
    text: String,
    /// The type, with a reference's lifetime dropped.
    ty: Type,
    /// For `&T`: `T`, the bean's type.
    borrowed: Option<Type>,
    /// The local the looked-up value is kept in.
    local: Ident,
}

/// Phase 2: every typed parameter of a factory fn (the receiver is reported
/// by the caller). `&mut T` and `impl Trait` are errors; so is a borrowed bean
/// with an `impl Trait` return type that may capture the borrow.
/// `noun` and `trait_name` word the messages: "handler", `WebSocketHandler`.
pub(crate) fn params(
    inputs: &Punctuated<FnArg, Comma>,
    output: &ReturnType,
    (noun, trait_name): (&str, &str),
    errors: &mut Errors,
) -> Vec<Param> {
    let mut params = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        let FnArg::Typed(typed) = input else { continue };
        let text = tidy(&format!("{}: {}", typed.pat.to_token_stream(), typed.ty.to_token_stream()));
        let local = format_ident!("__wsboot_arg{index}");
        match &*typed.ty {
            Type::Reference(reference) if reference.mutability.is_some() => errors.spanned(
                &typed.ty,
                format!(
                    "a bean is shared by every session, so a {noun} factory takes it as `&T` or `Arc<T>`, not `&mut T`\n  \
                     help: write `&{}` and keep what changes behind a `Mutex` inside the bean",
                    tidy(&reference.elem.to_token_stream().to_string())
                ),
            ),
            Type::Reference(reference) => {
                let elem = (*reference.elem).clone();
                params.push(Param { text, ty: syn::parse_quote!(&#elem), borrowed: Some(elem), local });
            }
            Type::ImplTrait(_) => errors.spanned(
                &typed.ty,
                format!(
                    "a {noun} factory parameter is looked up by its type, so it names one: \
                     `&MyType`, `Arc<MyType>`, `Arc<dyn MyTrait>`, `Hub` or `AppContext`"
                ),
            ),
            ty => params.push(Param { text, ty: ty.clone(), borrowed: None, local }),
        }
    }
    if params.iter().any(|p| p.borrowed.is_some()) {
        check_captures(output, noun, trait_name, errors);
    }
    params
}

/// `-> impl Trait` may capture a `&T` parameter's lifetime (always, in Rust
/// 2024), and the server keeps the result after the call: ask for `use<>`.
fn check_captures(output: &ReturnType, noun: &str, trait_name: &str, errors: &mut Errors) {
    let ReturnType::Type(_, ty) = output else { return };
    let Type::ImplTrait(impl_trait) = &**ty else { return };
    if impl_trait.bounds.iter().any(|bound| matches!(bound, TypeParamBound::PreciseCapture(_))) {
        return;
    }
    errors.spanned(
        ty,
        format!(
            "the server keeps the {noun} after this call, so it cannot borrow a `&T` parameter\n  \
             help: write `-> impl {trait_name} + use<>` (or return the concrete type), and clone from the bean what the {noun} keeps"
        ),
    );
}

/// `T` in `Wrapper<T>` (by the last path segment: `Arc`, `std::sync::Arc`).
pub(crate) fn generic_argument<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else { return None };
    match arguments.args.first()? {
        syn::GenericArgument::Type(inner) if arguments.args.len() == 1 => Some(inner),
        _ => None,
    }
}

/// Token text made readable: `& TokenStore` → `&TokenStore`.
fn tidy(text: &str) -> String {
    let mut tidy = text.to_owned();
    for (from, to) in [(" :: ", "::"), (":: ", "::"), ("& ", "&"), (" <", "<"), ("< ", "<"), (" >", ">"), (" ,", ",")] {
        tidy = tidy.replace(from, to);
    }
    tidy
}

impl Param {
    /// The local (and shim parameter) holding the value.
    pub(crate) fn local(&self) -> &Ident {
        &self.local
    }

    /// The shim's parameter: `__wsboot_arg0: &TokenStore`.
    pub(crate) fn declaration(&self) -> TokenStream {
        let Param { ty, local, .. } = self;
        quote!(#local: #ty)
    }

    /// `let __wsboot_arg0 = <lookup>?;`, spanned at the type, so a type that
    /// is not `FromContext` is reported on it.
    pub(crate) fn lookup(&self, private: &TokenStream) -> TokenStream {
        let Param { text, ty, borrowed, local } = self;
        match borrowed {
            Some(bean) => quote_spanned! {bean.span()=>
                let #local = #private::inject_ref::<#bean>(context, #text)?;
            },
            None => quote_spanned! {ty.span()=>
                let #local = #private::inject::<#ty>(context, #text)?;
            },
        }
    }

    /// The bean type this parameter needs built first, if it names one: `T`
    /// for `&T`, `Arc<T>` and `Option<Arc<T>>` (for `#[bean]` providers' order).
    pub(crate) fn dependency(&self) -> Option<&Type> {
        if let Some(bean) = &self.borrowed {
            return Some(bean);
        }
        let inner = generic_argument(&self.ty, "Option").unwrap_or(&self.ty);
        generic_argument(inner, "Arc")
    }

    /// The argument passed to the shim: the bean borrowed, or the value moved
    /// (`clone` for a per-connection factory, which calls the shim again for
    /// each session).
    pub(crate) fn argument(&self, clone: bool) -> TokenStream {
        let local = &self.local;
        match (&self.borrowed, clone) {
            (Some(_), _) => quote!(&*#local),
            (None, true) => quote!(::core::clone::Clone::clone(&#local)),
            (None, false) => quote!(#local),
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;
    use crate::target::HANDLER;

    fn check(item: TokenStream) -> (Vec<Param>, Vec<String>) {
        let item: syn::ItemFn = syn::parse2(item).expect("a fn");
        let mut errors = Errors::default();
        let words = (HANDLER.noun, HANDLER.trait_name);
        let params = params(&item.sig.inputs, &item.sig.output, words, &mut errors);
        let messages = match errors.finish(()) {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        };
        (params, messages)
    }

    #[test]
    fn beans_by_reference_and_by_value() {
        let (params, errors) = check(quote! {
            fn notify(tokens: &'static TokenStore, hub: Hub, _: Arc<dyn Store>) -> Notify { Notify }
        });
        assert!(errors.is_empty(), "{errors:?}");
        let texts: Vec<&str> = params.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, ["tokens: &'static TokenStore", "hub: Hub", "_: Arc<dyn Store>"]);
        assert_eq!(params[0].declaration().to_string(), "__wsboot_arg0 : & TokenStore");
        let private = quote!(::wsboot::__private);
        assert!(params[0].lookup(&private).to_string().contains("inject_ref :: < TokenStore >"));
        assert!(params[1].lookup(&private).to_string().contains("inject :: < Hub >"));
        assert_eq!(params[1].argument(true).to_string(), ":: core :: clone :: Clone :: clone (& __wsboot_arg1)");
        assert_eq!(params[0].argument(true).to_string(), "& * __wsboot_arg0");
    }

    #[test]
    fn what_cannot_be_looked_up() {
        let (_, errors) = check(quote! {
            fn make(tokens: &mut TokenStore, store: impl Store) -> Notify { Notify }
        });
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("not `&mut T`") && errors[0].contains("write `&TokenStore`"), "{errors:?}");
        assert!(errors[1].contains("looked up by its type"), "{errors:?}");
        let (_, errors) = check(quote! {
            fn make(tokens: &TokenStore) -> impl WebSocketHandler { Notify }
        });
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("`-> impl WebSocketHandler + use<>`"), "{errors:?}");
        let (_, errors) = check(quote! {
            fn make(tokens: &TokenStore) -> impl WebSocketHandler + use<> { Notify }
        });
        assert!(errors.is_empty(), "{errors:?}");
    }
}
