//! `#[bean]`: a provider fn whose result joins the application context when
//! the server starts, built from the beans its parameters take (Spring's
//! `@Bean` method with parameters). The same phases as the other attributes:
//! [`check`] the arguments and the fn, then [`expand`] to a link-time
//! registration naming only `<crate>::__private`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, Item, Path, ReturnType, Type};

use crate::errors::Errors;
use crate::inject::{self, Param};
use crate::options;
use crate::parse::{Args, Entry, OptionValue};

/// A checked `#[bean]` fn.
pub(crate) struct Bean {
    krate: Path,
    ident: Ident,
    /// The type looked up: the return type, or `T` for `-> Arc<T>`.
    bean: Type,
    /// Whether the fn returns `Arc<T>` (registered as `T`, not re-wrapped).
    shared: bool,
    params: Vec<Param>,
}

const EXAMPLE: &str = "#[bean] fn pool(config: &Config) -> Pool";

/// `#[bean]`'s phases, run by the same driver as `#[ws_handler]`'s.
pub(crate) fn bean_impl(args: TokenStream, item: TokenStream) -> TokenStream {
    crate::attribute_impl(args, item, check, expand)
}

/// Phase 2: only `crate = path`; a free, non-generic, non-async fn returning a
/// named type.
fn check(args: Args, item: &Item, errors: &mut Errors) -> Option<Bean> {
    let mut krate = None;
    for entry in args.entries {
        match entry {
            Entry::Option(option) if option.name.unraw() == "crate" => match &option.value {
                OptionValue::Assign { value, .. } => krate = options::krate(value, errors),
                _ => errors.spanned(&option.name, "`crate` needs a value: crate = my_reexport::wsboot"),
            },
            Entry::Option(option) => errors.spanned(
                &option.name,
                format!("#[bean] takes no option `{}`: write `#[bean]` (or `#[bean(crate = path)]`)", option.name),
            ),
            Entry::Lit(lit) => errors.spanned(lit, "#[bean] takes no arguments: the bean is found by its type"),
        }
    }
    let Item::Fn(item) = item else {
        errors.spanned(item, format!("#[bean] goes on a fn that returns the bean: `{EXAMPLE}`"));
        return None;
    };
    let sig = &item.sig;
    if let Some(asyncness) = &sig.asyncness {
        errors.spanned(asyncness, "a bean provider cannot be `async`: it runs once at startup, before serving");
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(unsafety, "a bean provider cannot be `unsafe`: the server calls it from safe code");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.spanned(&sig.generics, "a bean provider cannot be generic: a bean is one concrete type");
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        errors.spanned(receiver, format!("#[bean] goes on a free fn, not on a method: `{EXAMPLE}`"));
    }
    let params = inject::params(&sig.inputs, &sig.output, ("bean", "Send + Sync"), errors);
    let (bean, shared) = match &sig.output {
        ReturnType::Default => {
            errors.spanned(&sig.ident, format!("a bean provider returns the bean: `{EXAMPLE}`"));
            return None;
        }
        ReturnType::Type(_, ty) => match &**ty {
            Type::ImplTrait(_) => {
                errors.spanned(
                    ty,
                    "a bean is looked up by its type, so a provider returns a named one: \
                     the concrete type, or `Arc<dyn MyTrait>` for a trait object",
                );
                return None;
            }
            ty => match inject::generic_argument(ty, "Arc") {
                Some(inner) => (inner.clone(), true),
                None => (ty.clone(), false),
            },
        },
    };
    Some(Bean {
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::wsboot)),
        ident: sig.ident.clone(),
        bean,
        shared,
        params,
    })
}

/// Phase 3: the link-time registration of a checked provider.
fn expand(bean: &Bean) -> TokenStream {
    let Bean { krate, ident, bean: ty, shared, params } = bean;
    let private = quote!(#krate::__private);
    let name = ident.unraw().to_string();
    let context = if params.is_empty() { quote!(_context) } else { quote!(context) };
    let lookups = params.iter().map(|p| p.lookup(&private));
    let arguments = params.iter().map(|p| p.argument(false));
    // Spanned at the return type: a bean that is not `Send + Sync + 'static`
    // is reported there.
    let provided = if *shared {
        quote_spanned!(ty.span()=> #private::ProvidedBean::shared::<#ty>)
    } else {
        quote_spanned!(ty.span()=> #private::ProvidedBean::new::<#ty>)
    };
    let takes = params
        .iter()
        .filter_map(Param::dependency)
        .map(|dependency| quote!((#private::type_id::<#dependency>, #private::type_name::<#dependency>)));
    let location = quote_spanned! {ident.span()=>
        #private::SourceLocation { file: ::core::file!(), line: ::core::line!(), column: ::core::column!() }
    };
    quote! {
        const _: () = {
            fn __wsboot_provide(
                #context: &#private::AppContext,
            ) -> ::core::result::Result<#private::ProvidedBean, #private::Error> {
                #(#lookups)*
                ::core::result::Result::Ok(#provided(#ident(#(#arguments),*)))
            }

            #private::inventory::submit! {
                #private::BeanDescriptor {
                    provider: ::core::concat!(::core::module_path!(), "::", #name),
                    makes: (#private::type_id::<#ty>, #private::type_name::<#ty>),
                    takes: &[#(#takes),*],
                    build: __wsboot_provide,
                    location: #location,
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: TokenStream, item: TokenStream) -> String {
        bean_impl(args, item).to_string()
    }

    #[test]
    fn a_provider_registers_what_it_makes_and_takes() {
        let code = run(
            quote!(),
            quote!(
                fn pool(config: &Config, hub: Hub) -> Arc<dyn Pool> {
                    todo!()
                }
            ),
        );
        for expected in [
            "makes : (:: wsboot :: __private :: type_id :: < dyn Pool > , :: wsboot :: __private :: type_name :: < dyn Pool >)",
            "takes : & [(:: wsboot :: __private :: type_id :: < Config > , :: wsboot :: __private :: type_name :: < Config >)]",
            ":: wsboot :: __private :: ProvidedBean :: shared :: < dyn Pool > (pool (& * __wsboot_arg0 , __wsboot_arg1))",
            "provider : :: core :: concat ! (:: core :: module_path ! () , \"::\" , \"pool\")",
        ] {
            assert!(code.contains(expected), "{expected}\nnot in\n{code}");
        }
        assert!(!code.contains("compile_error"), "{code}");
    }

    #[test]
    fn what_is_not_a_provider() {
        let code = run(
            quote!(order = 1),
            quote!(
                async fn pool<T>() -> impl Pool {
                    todo!()
                }
            ),
        );
        for expected in ["takes no option `order`", "cannot be `async`", "cannot be generic", "looked up by its type"] {
            assert!(code.contains(expected), "{expected} in {code}");
        }
        assert!(
            run(
                quote!(),
                quote!(
                    struct Pool;
                )
            )
            .contains("goes on a fn that returns the bean")
        );
    }
}
