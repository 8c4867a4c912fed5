//! `#[message_mapping("/chat.{room}")]` and `#[subscribe_mapping("/init")]`:
//! an `async fn` becomes a STOMP application handler, registered at link time
//! through `inventory`, its arguments extracted from the inbound message
//! (destination variables by name, everything else by type) and its return
//! value turned into the reply.
//!
//! Options after the pattern: `send_to = "/topic/…"` (where the reply goes
//! instead of the default), `send_to_user = "/queue/…"` (the sender's user
//! destination), `crate = path` (where `wsboot::stomp` is; default
//! `::wsboot::stomp`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::{ParseStream, Parser};
use syn::{FnArg, ItemFn, LitStr, Pat, Token};

use crate::errors::Errors;

/// Which attribute.
#[derive(Clone, Copy)]
pub(crate) enum Mapping {
    Send,
    Subscribe,
}

impl Mapping {
    fn attribute(self) -> &'static str {
        match self {
            Mapping::Send => "message_mapping",
            Mapping::Subscribe => "subscribe_mapping",
        }
    }
}

struct Args {
    pattern: LitStr,
    send_to: Option<LitStr>,
    send_to_user: Option<LitStr>,
    krate: Option<syn::Path>,
}

fn parse_args(mapping: Mapping, input: ParseStream<'_>) -> syn::Result<Args> {
    let name = mapping.attribute();
    let pattern: LitStr = input.parse().map_err(|e| {
        syn::Error::new(e.span(), format!("expected the destination pattern first: #[{name}(\"/chat.{{room}}\")]"))
    })?;
    let mut args = Args { pattern, send_to: None, send_to_user: None, krate: None };
    while !input.is_empty() {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        if input.peek(Token![crate]) {
            let token: Token![crate] = input.parse()?;
            input.parse::<Token![=]>()?;
            if args.krate.replace(input.parse()?).is_some() {
                return Err(syn::Error::new(token.span, "duplicate option `crate`: keep only one"));
            }
            continue;
        }
        let key: syn::Ident = input.parse()?;
        input
            .parse::<Token![=]>()
            .map_err(|e| syn::Error::new(e.span(), format!("write `{key} = \"/destination\"`")))?;
        let value: LitStr = input.parse()?;
        let slot = match key.to_string().as_str() {
            "send_to" => &mut args.send_to,
            "send_to_user" => &mut args.send_to_user,
            other => {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown option `{other}`: #[{name}] takes `send_to = \"/topic/…\"`, `send_to_user = \"/queue/…\"` or `crate = path`"
                    ),
                ));
            }
        };
        if slot.replace(value).is_some() {
            return Err(syn::Error::new(key.span(), format!("duplicate option `{key}`: keep only one")));
        }
    }
    if let (Some(_), Some(user)) = (&args.send_to, &args.send_to_user) {
        return Err(syn::Error::new(user.span(), "`send_to` and `send_to_user` exclude each other: keep one"));
    }
    Ok(args)
}

/// The variable names of `pattern`, or why it is not a pattern.
fn variables(pattern: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut rest = pattern;
    if !pattern.starts_with('/') {
        return Err(format!("a destination pattern starts with `/`: write \"/{pattern}\""));
    }
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').ok_or("a `{` is not closed: write `{name}`")? + open;
        let name = &rest[open + 1..close];
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(format!("`{{{name}}}` is not a variable name: use letters, digits and `_`"));
        }
        names.push(name.to_owned());
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err("a `}` without its `{`".to_owned());
    }
    Ok(names)
}

pub(crate) fn expand(mapping: Mapping, args: TokenStream, item: TokenStream) -> TokenStream {
    match expand_checked(mapping, args, item.clone()) {
        Ok(tokens) => tokens,
        Err(error) => {
            let error = error.to_compile_error();
            quote!(#item #error)
        }
    }
}

fn expand_checked(mapping: Mapping, args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let name = mapping.attribute();
    let args = (|input: ParseStream<'_>| parse_args(mapping, input)).parse2(args)?;
    let function: ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("#[{name}] goes on an `async fn` (a free function, not a struct or a method)"),
        )
    })?;
    let mut errors = Errors::default();
    let names = match variables(&args.pattern.value()) {
        Ok(names) => names,
        Err(problem) => {
            errors.spanned(&args.pattern, problem);
            Vec::new()
        }
    };
    let signature = &function.sig;
    if signature.asyncness.is_none() {
        errors.spanned(
            signature.fn_token,
            format!("#[{name}] needs an `async fn`: write `async fn {}(…)`", signature.ident),
        );
    }
    if !signature.generics.params.is_empty() {
        errors.spanned(&signature.generics, format!("#[{name}] functions cannot be generic: name the types"));
    }
    let mut extractions = Vec::new();
    let mut call_args = Vec::new();
    for (index, input) in signature.inputs.iter().enumerate() {
        let FnArg::Typed(typed) = input else {
            errors.spanned(input, format!("#[{name}] goes on a free `async fn`, not a method: remove `self`"));
            continue;
        };
        let Pat::Ident(ident) = &*typed.pat else {
            errors.spanned(&typed.pat, "write each argument as `name: Type`");
            continue;
        };
        let ty = &typed.ty;
        let local = format_ident!("__arg{}", index);
        let variable = ident.ident.to_string();
        let extraction = if names.contains(&variable) {
            quote!(let #local: #ty = __private::var(&__inbound, #variable)?;)
        } else {
            quote!(let #local: #ty = <#ty as __stomp::FromInbound>::from_inbound(&__inbound)?;)
        };
        extractions.push(extraction);
        call_args.push(local);
    }
    errors.finish(())?;

    let krate = args.krate.map_or_else(|| quote!(::wsboot::stomp), |path| quote!(#path));
    let function_name = &signature.ident;
    let wrapper = format_ident!("__wsboot_stomp_{}", function_name);
    let pattern = &args.pattern;
    let kind = match mapping {
        Mapping::Send => quote!(Send),
        Mapping::Subscribe => quote!(Subscribe),
    };
    let option = |value: &Option<LitStr>| match value {
        Some(literal) => quote!(::core::option::Option::Some(#literal)),
        None => quote!(::core::option::Option::None),
    };
    let (send_to, send_to_user) = (option(&args.send_to), option(&args.send_to_user));
    let location = format!("#[{name}] on `{function_name}`");
    Ok(quote! {
        #function

        #[doc(hidden)]
        #[allow(non_snake_case)]
        fn #wrapper(__inbound: #krate::Inbound) -> #krate::__private::BoxFuture<'static, #krate::HandlerResult> {
            use #krate as __stomp;
            use #krate::__private;
            ::std::boxed::Box::pin(async move {
                #(#extractions)*
                let __result = __stomp::IntoReply::into_reply(#function_name(#(#call_args),*).await);
                __private::target(__result, #send_to, #send_to_user)
            })
        }

        #krate::__private::inventory::submit! {
            #krate::__private::AnnotatedMapping {
                kind: #krate::__private::MappingKind::#kind,
                pattern: #pattern,
                handler: #wrapper,
                location: ::core::concat!(#location, " at ", ::core::file!(), ":", ::core::line!()),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(args: TokenStream, item: TokenStream) -> String {
        expand_checked(Mapping::Send, args, item).unwrap_err().to_string()
    }

    #[test]
    fn variables_and_bad_patterns() {
        assert_eq!(variables("/chat.{room}").unwrap(), ["room"]);
        assert!(variables("chat").unwrap_err().contains("starts with `/`"));
        assert!(variables("/a{").unwrap_err().contains("not closed"));
        assert!(variables("/a}").unwrap_err().contains("without its"));
    }

    #[test]
    fn mistakes_are_named() {
        let item = quote!(
            async fn f() {}
        );
        assert!(error(quote!(), item.clone()).contains("expected the destination pattern first"));
        assert!(error(quote!("/a", to = "/b"), item.clone()).contains("unknown option `to`"));
        assert!(error(quote!("/a", send_to = "/b", send_to_user = "/c"), item.clone()).contains("exclude each other"));
        assert!(
            error(
                quote!("/a"),
                quote!(
                    fn f() {}
                )
            )
            .contains("needs an `async fn`")
        );
        assert!(
            error(
                quote!("/a"),
                quote!(
                    struct S;
                )
            )
            .contains("goes on an `async fn`")
        );
        assert!(
            error(
                quote!("/a"),
                quote!(
                    async fn f((a, b): (u8, u8)) {}
                )
            )
            .contains("`name: Type`")
        );
        let ok = expand_checked(
            Mapping::Send,
            quote!("/chat.{room}", send_to = "/topic/x"),
            quote!(
                async fn chat(room: String) {}
            ),
        );
        assert!(ok.unwrap().to_string().contains("__wsboot_stomp_chat"));
    }
}
