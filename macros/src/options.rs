//! The one table of attribute options: every option of `#[ws_handler]` and
//! `#[ws_plugin]`, how it is written, which attribute takes it and what to do
//! instead on the other. Both validators look names up here, so an unknown,
//! misplaced, repeated or malformed option reads the same on either attribute.

use quote::quote;
use syn::ext::IdentExt;
use syn::{Expr, Path};
use wsboot_core::__runtime::parse_size;

use crate::errors::Errors;
use crate::parse::{OptionEntry, OptionValue};
use crate::target::{Attribute, HANDLER, PLUGIN};

/// Which attribute an option belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Which {
    Handler,
    Plugin,
    Both,
}

/// Every option, whichever attribute takes it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    PerConnection,
    AllowedOrigins,
    Subprotocols,
    Interceptors,
    Decorators,
    MaxMessageSize,
    MaxFrameSize,
    Deflate,
    Order,
    Crate,
}

/// One row of the table.
struct Spec {
    name: &'static str,
    kind: Kind,
    /// How it is written, in messages and in the list of known options.
    usage: &'static str,
    which: Which,
    /// For an option written on the attribute that does not take it: how to get
    /// the same effect there.
    instead: &'static str,
}

/// The table, in the order the known options are listed.
const OPTIONS: [Spec; 10] = [
    Spec {
        name: "per_connection",
        kind: Kind::PerConnection,
        usage: "per_connection",
        which: Which::Handler,
        instead: "for a handler built afresh per session, write `#[ws_handler(\"/path\", per_connection)]`, or call \
                  `registry.add_per_connection_handler(\"/path\", make)` in the plugin's `configure`",
    },
    Spec {
        name: "allowed_origins",
        kind: Kind::AllowedOrigins,
        usage: "allowed_origins = [\"https://app.example\"]",
        which: Which::Handler,
        instead: "call `registration.allowed_origins([\"https://app.example\"])` in `configure`",
    },
    Spec {
        name: "subprotocols",
        kind: Kind::Subprotocols,
        usage: "subprotocols = [\"chat.v1\"]",
        which: Which::Handler,
        instead: "call `registration.subprotocols([\"chat.v1\"])` in `configure`",
    },
    Spec {
        name: "interceptors",
        kind: Kind::Interceptors,
        usage: "interceptors = [TokenAuth::new()]",
        which: Which::Handler,
        instead: "call `registration.interceptor(TokenAuth::new())` in `configure`",
    },
    Spec {
        name: "decorators",
        kind: Kind::Decorators,
        usage: "decorators = [Audit::new()]",
        which: Which::Handler,
        instead: "call `registration.decorator(Audit::new())` in `configure`",
    },
    Spec {
        name: "max_message_size",
        kind: Kind::MaxMessageSize,
        usage: "max_message_size = 16_777_216",
        which: Which::Handler,
        instead: "call `registration.max_message_size(65_536)` in `configure`",
    },
    Spec {
        name: "max_frame_size",
        kind: Kind::MaxFrameSize,
        usage: "max_frame_size = 65_536",
        which: Which::Handler,
        instead: "call `registration.max_frame_size(65_536)` in `configure`",
    },
    Spec {
        name: "deflate",
        kind: Kind::Deflate,
        usage: "deflate",
        which: Which::Handler,
        instead: "call `registration.deflate(true)` in `configure`",
    },
    Spec {
        name: "order",
        kind: Kind::Order,
        usage: "order = -10",
        which: Which::Plugin,
        instead: "leave it out: `order` says when a #[ws_plugin] runs among the others",
    },
    Spec { name: "crate", kind: Kind::Crate, usage: "crate = my_reexport::wsboot", which: Which::Both, instead: "" },
];

impl Which {
    fn takes(self, attribute: &Attribute) -> bool {
        self == Which::Both || self == attribute.options
    }
}

/// The options `attribute` takes, in table order.
fn known(attribute: &Attribute) -> impl Iterator<Item = &'static Spec> {
    OPTIONS.iter().filter(|spec| spec.which.takes(attribute))
}

/// Whether `name` is an option of `attribute`.
pub(crate) fn is_option_of(name: &str, attribute: &Attribute) -> bool {
    known(attribute).any(|spec| spec.name == name)
}

/// How option `kind` is written.
pub(crate) fn usage(kind: Kind) -> &'static str {
    OPTIONS.iter().find(|spec| spec.kind == kind).map_or("", |spec| spec.usage)
}

/// The kind of `option` on `attribute`, or an error on its name when it is
/// unknown, belongs to the other attribute, or repeats one in `seen`.
pub(crate) fn kind_of(
    option: &OptionEntry,
    attribute: &Attribute,
    seen: &mut Vec<Kind>,
    errors: &mut Errors,
) -> Option<Kind> {
    let written = option.name.unraw().to_string();
    let Some(spec) = OPTIONS.iter().find(|spec| spec.name == written) else {
        errors.spanned(&option.name, unknown(&written, attribute));
        return None;
    };
    if !spec.which.takes(attribute) {
        let owner = if spec.which == Which::Plugin { &PLUGIN } else { &HANDLER };
        errors.spanned(
            &option.name,
            format!(
                "`{written}` is an option of {}, not of {}: {}\n  help: {}",
                owner.name, attribute.name, attribute.without_other_options, spec.instead
            ),
        );
        return None;
    }
    if seen.contains(&spec.kind) {
        errors.spanned(&option.name, format!("duplicate option `{written}`: keep only one"));
        return None;
    }
    seen.push(spec.kind);
    Some(spec.kind)
}

fn unknown(written: &str, attribute: &Attribute) -> String {
    let suggestion = known(attribute)
        .map(|spec| (edit_distance(spec.name, written), spec.name))
        .filter(|(distance, known)| *distance <= known.len() / 3 + 1)
        .min()
        .map(|(_, known)| format!("; did you mean `{known}`?"))
        .unwrap_or_default();
    let usages: Vec<&str> = known(attribute).map(|spec| spec.usage).collect();
    format!("unknown option `{written}`{suggestion}\n  known options: {}", usages.join(", "))
}

/// A bare flag: `true` when written alone, an error when given a value.
pub(crate) fn flag(option: &OptionEntry, what_to_write: &str, errors: &mut Errors) -> bool {
    let name = option.name.unraw();
    let extra = match &option.value {
        OptionValue::Flag => return true,
        OptionValue::Assign { eq, value } => quote!(#eq #value),
        OptionValue::Malformed(tokens) => tokens.clone(),
    };
    errors.spanned(extra, format!("`{name}` is a bare flag: {what_to_write}"));
    false
}

/// The value of a `name = value` option, or an error showing that form.
pub(crate) fn value<'a>(kind: Kind, option: &'a OptionEntry, errors: &mut Errors) -> Option<&'a Expr> {
    let name = option.name.unraw();
    match &option.value {
        OptionValue::Assign { value, .. } => Some(value),
        OptionValue::Flag => {
            errors.spanned(&option.name, format!("`{name}` needs a value: {}", usage(kind)));
            None
        }
        OptionValue::Malformed(tokens) => {
            errors.spanned(tokens, format!("expected `=` after `{name}`: {}", usage(kind)));
            None
        }
    }
}

/// The value of `crate = path`: a plain path.
pub(crate) fn krate(value: &Expr, errors: &mut Errors) -> Option<Path> {
    match value {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => Some(path.path.clone()),
        other => {
            errors.spanned(other, format!("`crate` takes the path of the wsboot crate: {}", usage(Kind::Crate)));
            None
        }
    }
}

/// Levenshtein distance, for "did you mean" on misspelt option names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The value of a size option (`max_message_size`, `max_frame_size`): an
/// expression of type `usize` as written, or a string with a unit, `"64KiB"`,
/// turned into its number of bytes here, so that the attribute takes what the
/// TOML file takes.
pub(crate) fn size(kind: Kind, value: &Expr, errors: &mut Errors) -> Option<Expr> {
    let Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. }) = value else {
        return Some(value.clone());
    };
    let Some(bytes) = parse_size(&text.value()) else {
        let name = usage(kind).split(' ').next().unwrap_or_default();
        errors.spanned(
            text,
            format!(
                "`{name}` takes a number of bytes or a size with a unit: `{name} = 65_536` or `{name} = \"64KiB\"` (units B, KiB, MiB, GiB, kB, MB, GB)"
            ),
        );
        return None;
    };
    let bytes = syn::LitInt::new(&format!("{bytes}usize"), text.span());
    Some(syn::parse_quote!(#bytes))
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::*;
    use crate::parse::{self, Entry};

    /// The errors `kind_of` records for each option in `args`, on `attribute`.
    fn errors(args: TokenStream, attribute: &Attribute) -> Vec<String> {
        let mut errors = Errors::default();
        let mut seen = Vec::new();
        for entry in parse::args(args, &mut errors).entries {
            if let Entry::Option(option) = entry {
                kind_of(&option, attribute, &mut seen, &mut errors);
            }
        }
        errors.finish(()).err().map(|e| e.into_iter().map(|e| e.to_string()).collect()).unwrap_or_default()
    }

    #[test]
    fn each_attribute_lists_its_own_options() {
        let handler: Vec<&str> = known(&HANDLER).map(|spec| spec.name).collect();
        assert_eq!(
            handler,
            [
                "per_connection",
                "allowed_origins",
                "subprotocols",
                "interceptors",
                "decorators",
                "max_message_size",
                "max_frame_size",
                "deflate",
                "crate"
            ]
        );
        assert_eq!(known(&PLUGIN).map(|spec| spec.name).collect::<Vec<_>>(), ["order", "crate"]);
        assert!(is_option_of("crate", &HANDLER) && is_option_of("crate", &PLUGIN));
        assert!(!is_option_of("order", &HANDLER));
    }

    #[test]
    fn every_handler_option_is_misplaced_on_a_plugin_and_back() {
        for spec in known(&HANDLER).filter(|spec| spec.which == Which::Handler) {
            let name = syn::Ident::new(spec.name, proc_macro2::Span::call_site());
            let message = errors(quote!(#name), &PLUGIN);
            assert_eq!(message.len(), 1, "{message:?}");
            assert!(
                message[0].starts_with(&format!("`{}` is an option of #[ws_handler], not of #[ws_plugin]", spec.name)),
                "{message:?}"
            );
            assert!(message[0].contains("help: "), "{message:?}");
        }
        let message = errors(quote!(order = 1), &HANDLER);
        assert!(message[0].starts_with("`order` is an option of #[ws_plugin], not of #[ws_handler]"), "{message:?}");
    }

    #[test]
    fn unknown_and_duplicate_options() {
        let message = &errors(quote!(per_conection), &HANDLER)[0];
        assert!(message.starts_with("unknown option `per_conection`; did you mean `per_connection`?"), "{message}");
        assert!(errors(quote!(ordr), &PLUGIN)[0].starts_with("unknown option `ordr`; did you mean `order`?"));
        assert!(!errors(quote!(colour), &HANDLER)[0].contains("did you mean"));
        assert_eq!(errors(quote!(deflate, deflate), &HANDLER), ["duplicate option `deflate`: keep only one"]);
        assert_eq!(errors(quote!(crate = a, crate = b), &PLUGIN), ["duplicate option `crate`: keep only one"]);
    }

    #[test]
    fn sizes_take_the_units_of_the_settings_file() {
        assert_eq!(parse_size("64KiB"), Some(64 << 10));
        assert_eq!(parse_size("16MiB"), Some(16 << 20));
        assert_eq!(parse_size("2 kB"), Some(2_000));
        assert_eq!(parse_size("1_024"), Some(1024));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("64 KB/s"), None);
        assert_eq!(parse_size("99999999999GiB"), None, "overflows");

        let mut errors = Errors::default();
        let literal = size(Kind::MaxMessageSize, &syn::parse_quote!("64KiB"), &mut errors).unwrap();
        assert_eq!(quote!(#literal).to_string(), "65536usize");
        let expression = size(Kind::MaxFrameSize, &syn::parse_quote!(LIMIT * 2), &mut errors).unwrap();
        assert_eq!(quote!(#expression).to_string(), "LIMIT * 2");
        assert!(size(Kind::MaxMessageSize, &syn::parse_quote!("64 kilobytes"), &mut errors).is_none());
        let message = errors.finish(()).unwrap_err().into_iter().next().unwrap().to_string();
        assert!(message.starts_with("`max_message_size` takes a number of bytes or a size with a unit"), "{message}");
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("deflate", "deflate"), 0);
        assert_eq!(edit_distance("deflate", "deflat"), 1);
        assert_eq!(edit_distance("per_connection", "per_conection"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
