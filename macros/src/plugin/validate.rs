//! Phase 2 of `#[ws_plugin]`: checks the parsed options and item and turns them
//! into a [`Plugin`], the only input of `expand`. Each error points at the
//! offending token and says what to write instead.

use syn::{Expr, Item, Lit, Path};

use crate::errors::Errors;
use crate::options::{self, Kind};
use crate::parse::{Args, Entry};
use crate::target::{self, PLUGIN, Target};

/// A checked `#[ws_plugin]`.
pub(crate) struct Plugin {
    /// The root the generated code names (`::wsboot` unless `crate = ...`).
    pub(crate) krate: Path,
    pub(crate) target: Target,
    /// The `order` expression (an `i32`), if given.
    pub(crate) order: Option<Expr>,
}

/// Checks everything; `None` when any error was recorded.
pub(crate) fn plugin(args: Args, item: &Item, errors: &mut Errors) -> Option<Plugin> {
    let mut krate = None;
    let mut order = None;
    let mut seen = Vec::new();
    for entry in args.entries {
        let option = match entry {
            Entry::Lit(Lit::Str(lit)) => {
                errors.spanned(
                    lit,
                    "a plugin has no path: write `#[ws_plugin]`, and register handlers (at their paths) \
                     from the plugin's `configure`",
                );
                continue;
            }
            Entry::Lit(lit) => {
                errors.spanned(lit, "unexpected literal: options are written `name = value`, e.g. `order = -10`");
                continue;
            }
            Entry::Option(option) => option,
        };
        let Some(kind) = options::kind_of(&option, &PLUGIN, &mut seen, errors) else { continue };
        let Some(value) = options::value(kind, &option, errors) else { continue };
        match kind {
            Kind::Order => order = check_order(value, errors),
            Kind::Crate => krate = options::krate(value, errors),
            // `#[ws_handler]`'s options: `options::kind_of` reported them.
            _ => {}
        }
    }
    let target = target::check(item, &PLUGIN, errors)?;
    Some(Plugin { krate: krate.unwrap_or_else(|| syn::parse_quote!(::wsboot)), target, order })
}

/// `order` is an `i32`: a literal checked here, or a constant expression that
/// the compiler checks where it is used.
fn check_order(value: &Expr, errors: &mut Errors) -> Option<Expr> {
    let literal = match value {
        Expr::Lit(syn::ExprLit { lit, .. }) => Some((lit, false)),
        Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) => match &**expr {
            Expr::Lit(syn::ExprLit { lit, .. }) => Some((lit, true)),
            _ => None,
        },
        _ => None,
    };
    let Some((lit, negative)) = literal else { return Some(value.clone()) };
    let in_range = match lit {
        Lit::Int(int) => int.base10_parse::<i64>().ok().filter(|n| {
            let n = if negative { -n } else { *n };
            i32::try_from(n).is_ok()
        }),
        _ => {
            errors.spanned(
                value,
                "`order` takes a whole number (an `i32`): lower runs first, the default is 0, e.g. `order = -10`",
            );
            return None;
        }
    };
    if in_range.is_none() {
        errors.spanned(value, "`order` must fit in an `i32`");
        return None;
    }
    Some(value.clone())
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::{ToTokens, quote};

    use super::*;
    use crate::parse;

    fn check(args: TokenStream, item: TokenStream) -> Result<Plugin, Vec<String>> {
        let mut errors = Errors::default();
        let args = parse::args(args, &mut errors);
        let plugin = plugin(args, &parse::item(item), &mut errors);
        match errors.finish(plugin) {
            Ok(plugin) => Ok(plugin.expect("no error means a plugin")),
            Err(error) => Err(error.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    fn on_struct(args: TokenStream) -> Vec<String> {
        check(
            args,
            quote!(
                struct Audit;
            ),
        )
        .err()
        .unwrap_or_default()
    }

    #[test]
    fn accepts_order_and_crate() {
        let plugin = check(
            quote!(order = -10, crate = my::wsboot),
            quote!(
                struct Audit;
            ),
        )
        .unwrap_or_else(|errors| panic!("valid: {errors:?}"));
        assert!(plugin.order.is_some());
        assert_eq!(plugin.krate.to_token_stream().to_string(), "my :: wsboot");
        let plugin = check(
            quote!(order = ORDER),
            quote!(
                fn audit() -> impl RegistryPlugin {
                    Audit
                }
            ),
        )
        .unwrap_or_else(|errors| panic!("a const order is left to the compiler: {errors:?}"));
        assert!(matches!(plugin.target, Target::Fn { .. }));
    }

    #[test]
    fn handler_options_are_named_as_such() {
        let errors = on_struct(quote!(per_connection));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("`per_connection` is an option of #[ws_handler], not of #[ws_plugin]"),
            "{errors:?}"
        );
        assert!(errors[0].contains("add_per_connection_handler"), "{errors:?}");
        assert!(on_struct(quote!(allowed_origins = ["*"]))[0].contains("registration.allowed_origins("));
    }

    #[test]
    fn unknown_duplicate_and_malformed_options() {
        assert!(on_struct(quote!(ordr = 1))[0].starts_with("unknown option `ordr`; did you mean `order`?"));
        assert!(on_struct(quote!(priority = 1))[0].starts_with("unknown option `priority`\n"));
        assert_eq!(on_struct(quote!(order = 1, order = 2)), ["duplicate option `order`: keep only one"]);
        assert!(on_struct(quote!(order))[0].starts_with("`order` needs a value"));
        assert!(on_struct(quote!(order = "first"))[0].starts_with("`order` takes a whole number"));
        assert!(on_struct(quote!(order = 3_000_000_000))[0].starts_with("`order` must fit in an `i32`"));
        assert!(on_struct(quote!(order = -1)).is_empty());
        assert!(on_struct(quote!("/auth"))[0].starts_with("a plugin has no path"));
    }

    #[test]
    fn items_and_factory_fns() {
        let enum_error = check(
            quote!(),
            quote!(
                enum Audit {
                    A,
                }
            ),
        )
        .err()
        .unwrap_or_default();
        assert!(enum_error[0].starts_with(&format!("{}, not on an enum", PLUGIN.item_rule())), "{enum_error:?}");
        let generic = check(
            quote!(),
            quote!(
                struct Audit<T>(T);
            ),
        )
        .err()
        .unwrap_or_default();
        assert!(generic[0].starts_with("a plugin is one concrete type"), "{generic:?}");
        let errors = check(
            quote!(),
            quote!(
                async fn make<T>(x: &mut T) {}
            ),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(errors.len(), 4, "every problem of the fn at once: {errors:#?}");
    }
}
