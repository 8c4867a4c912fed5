//! Phase 2 of `#[ws_plugin]`: checks the parsed options and item and turns them
//! into a [`Plugin`], the only input of `expand`. Each error points at the
//! offending token and says what to write instead.

use syn::ext::IdentExt;
use syn::{Expr, Item, Lit, Path};

use crate::errors::Errors;
use crate::parse::{Args, Entry, OptionValue};
use crate::target::{self, PLUGIN, Target};
use crate::validate::edit_distance;

/// A checked `#[ws_plugin]`.
pub(crate) struct Plugin {
    /// The root the generated code names (`::wsboot` unless `crate = ...`).
    pub(crate) krate: Path,
    pub(crate) target: Target,
    /// The `order` expression (an `i32`), if given.
    pub(crate) order: Option<Expr>,
}

/// The options of `#[ws_plugin]` and how each is written.
const KNOWN: [(&str, &str); 2] = [("order", "order = -10"), ("crate", "crate = my_reexport::wsboot")];

/// Options of `#[ws_handler]`, which mean nothing on a plugin.
const HANDLER_OPTIONS: [&str; 7] = [
    "per_connection",
    "allowed_origins",
    "subprotocols",
    "interceptors",
    "max_message_size",
    "max_frame_size",
    "deflate",
];

/// Checks everything; `None` when any error was recorded.
pub(crate) fn plugin(args: Args, item: &Item, errors: &mut Errors) -> Option<Plugin> {
    let mut krate = None;
    let mut order = None;
    let mut seen: Vec<String> = Vec::new();
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
        let name = option.name.unraw().to_string();
        if HANDLER_OPTIONS.contains(&name.as_str()) {
            errors.spanned(&option.name, handler_option(&name));
            continue;
        }
        if !KNOWN.iter().any(|(known, _)| *known == name) {
            errors.spanned(&option.name, unknown(&name));
            continue;
        }
        if seen.contains(&name) {
            errors.spanned(&option.name, format!("duplicate option `{name}`: keep only one"));
            continue;
        }
        seen.push(name.clone());
        let usage = KNOWN.iter().find(|(known, _)| *known == name).map_or("", |(_, usage)| usage);
        let value = match &option.value {
            OptionValue::Assign { value, .. } => value,
            OptionValue::Flag => {
                errors.spanned(&option.name, format!("`{name}` needs a value: {usage}"));
                continue;
            }
            OptionValue::Malformed(tokens) => {
                errors.spanned(tokens, format!("expected `=` after `{name}`: {usage}"));
                continue;
            }
        };
        match name.as_str() {
            "order" => order = check_order(value, errors),
            _ => {
                krate = match value {
                    Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => Some(path.path.clone()),
                    other => {
                        errors.spanned(other, format!("`crate` takes the path of the wsboot crate: {usage}"));
                        None
                    }
                }
            }
        }
    }
    let target = target::check(item, &PLUGIN, errors)?;
    Some(Plugin { krate: krate.unwrap_or_else(|| syn::parse_quote!(::wsboot)), target, order })
}

/// The error for a `#[ws_handler]` option written on a plugin.
fn handler_option(name: &str) -> String {
    let help = match name {
        "per_connection" => {
            "for a handler built afresh per session, write `#[ws_handler(\"/path\", per_connection)]`, or call \
             `registry.add_per_connection_handler(\"/path\", make)` in the plugin's `configure`"
        }
        "allowed_origins" => "call `registration.allowed_origins([\"https://app.example\"])` in `configure`",
        "subprotocols" => "call `registration.subprotocols([\"chat.v1\"])` in `configure`",
        "interceptors" => "call `registration.interceptor(TokenAuth::new())` in `configure`",
        "max_message_size" => "call `registration.max_message_size(65_536)` in `configure`",
        "max_frame_size" => "call `registration.max_frame_size(65_536)` in `configure`",
        _ => "call `registration.deflate(true)` in `configure`",
    };
    format!(
        "`{name}` is an option of #[ws_handler], not of #[ws_plugin]: a plugin is built once per server and \
         has no path\n  help: {help}"
    )
}

fn unknown(written: &str) -> String {
    let suggestion = KNOWN
        .iter()
        .map(|(known, _)| (edit_distance(known, written), *known))
        .filter(|(distance, known)| *distance <= known.len() / 3 + 1)
        .min()
        .map(|(_, known)| format!("; did you mean `{known}`?"))
        .unwrap_or_default();
    let usages: Vec<&str> = KNOWN.iter().map(|(_, usage)| *usage).collect();
    format!("unknown option `{written}`{suggestion}\n  known options: {}", usages.join(", "))
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
                async fn make<T>(x: T) {}
            ),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(errors.len(), 4, "every problem of the fn at once: {errors:#?}");
    }
}
