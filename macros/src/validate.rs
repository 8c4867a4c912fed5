//! Phase 2, meaning: checks the parsed arguments and item against the rules and
//! turns them into a [`Handler`], the only input of `expand`. Every rule that can
//! be checked without type information is checked here, each error pointing at
//! the offending token and saying what to write instead.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Expr, ExprArray, Item, Lit, LitStr, Path};
use wsboot_core::__runtime::{OptionValueError, check_allowed_origin, check_subprotocol};
use wsboot_core::RoutePattern;

use crate::errors::Errors;
use crate::options::{self, Kind, usage, value};
use crate::parse::{Args, Entry, OptionEntry};
use crate::target::{self, HANDLER, Target};

/// A checked `#[ws_handler]`: what `expand` generates code for.
pub(crate) struct Handler {
    /// The root the generated code names (`::wsboot` unless `crate = ...`).
    pub(crate) krate: Path,
    /// The path literal, already checked against the runtime's route rules.
    pub(crate) path: LitStr,
    /// What builds the handler.
    pub(crate) target: Target,
    pub(crate) options: Options,
}

/// The options, each given at most once.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) per_connection: bool,
    pub(crate) allowed_origins: Option<Vec<LitStr>>,
    pub(crate) subprotocols: Option<Vec<LitStr>>,
    pub(crate) interceptors: Vec<Expr>,
    pub(crate) decorators: Vec<Expr>,
    pub(crate) max_message_size: Option<Expr>,
    pub(crate) max_frame_size: Option<Expr>,
    pub(crate) deflate: bool,
}

const PATH_EXAMPLE: &str = "#[ws_handler(\"/myHandler\")]";

/// Checks everything; `None` when any error was recorded.
pub(crate) fn handler(args: Args, item: &Item, errors: &mut Errors) -> Option<Handler> {
    let mut entries = args.entries.into_iter().peekable();
    let path = path(&mut entries, errors);
    let mut options = Options::default();
    let mut krate = None;
    let mut seen = Vec::new();
    for entry in entries {
        match entry {
            Entry::Lit(Lit::Str(lit)) => errors.spanned(
                lit,
                "unexpected second path: a handler has exactly one path, the first argument; \
                 register another handler for another path",
            ),
            Entry::Lit(lit) => errors.spanned(lit, "unexpected literal: options are written `name` or `name = value`"),
            Entry::Option(option) => {
                if let Some(kind) = options::kind_of(&option, &HANDLER, &mut seen, errors) {
                    apply(kind, &option, &mut options, &mut krate, errors);
                }
            }
        }
    }
    let target = target::check(item, &HANDLER, errors);
    Some(Handler { krate: krate.unwrap_or_else(|| syn::parse_quote!(::wsboot)), path: path?, target: target?, options })
}

/// The first entry must be the path literal, valid by the runtime's rules.
fn path(entries: &mut std::iter::Peekable<impl Iterator<Item = Entry>>, errors: &mut Errors) -> Option<LitStr> {
    match entries.peek() {
        None => {
            errors.at(Span::call_site(), format!("expected a path: {PATH_EXAMPLE}"));
            None
        }
        Some(Entry::Option(option)) if options::is_option_of(&option.name.unraw().to_string(), &HANDLER) => {
            // Forgotten path: keep the option for the rest of the checks.
            errors.spanned(
                &option.name,
                format!("expected a path before the options: #[ws_handler(\"/myHandler\", {})]", option.name.unraw()),
            );
            None
        }
        Some(_) => match entries.next() {
            Some(Entry::Lit(Lit::Str(lit))) => check_route(lit, errors),
            Some(Entry::Lit(lit)) => {
                errors.spanned(lit, format!("the handler path must be a string literal: {PATH_EXAMPLE}"));
                None
            }
            Some(Entry::Option(option)) => {
                errors.spanned(
                    &option.name,
                    format!(
                        "expected a path string literal, found `{}`: {PATH_EXAMPLE}\n  \
                         note: the path is checked at compile time, so it must be written out",
                        option.name
                    ),
                );
                None
            }
            None => None,
        },
    }
}

fn check_route(lit: LitStr, errors: &mut Errors) -> Option<LitStr> {
    match RoutePattern::parse(&lit.value()) {
        Ok(_) => Some(lit),
        Err(error) => {
            errors.spanned(&lit, format!("{}\n  help: {}", error.message(), error.help()));
            None
        }
    }
}

fn apply(kind: Kind, option: &OptionEntry, options: &mut Options, krate: &mut Option<Path>, errors: &mut Errors) {
    match kind {
        Kind::PerConnection => {
            options.per_connection = options::flag(
                option,
                "write `per_connection` for a fresh handler per connection, or leave it out to share one handler",
                errors,
            );
        }
        Kind::Deflate => {
            options.deflate = options::flag(
                option,
                "write `deflate` to enable permessage-deflate, or leave it out to disable it",
                errors,
            );
        }
        Kind::AllowedOrigins => {
            options.allowed_origins = value(kind, option, errors)
                .and_then(|value| string_array(kind, option, value, check_allowed_origin, errors));
        }
        Kind::Subprotocols => {
            options.subprotocols = value(kind, option, errors)
                .and_then(|value| string_array(kind, option, value, check_subprotocol, errors));
        }
        Kind::Interceptors => {
            if let Some(value) = value(kind, option, errors) {
                match value {
                    Expr::Array(array) => options.interceptors = array.elems.iter().cloned().collect(),
                    other => errors.spanned(
                        other,
                        format!(
                            "`interceptors` takes an array of interceptors, applied in order: {}",
                            usage(Kind::Interceptors)
                        ),
                    ),
                }
            }
        }
        Kind::Decorators => {
            if let Some(value) = value(kind, option, errors) {
                match value {
                    Expr::Array(array) => options.decorators = array.elems.iter().cloned().collect(),
                    other => errors.spanned(
                        other,
                        format!(
                            "`decorators` takes an array of handler decorators, the last outermost: {}",
                            usage(Kind::Decorators)
                        ),
                    ),
                }
            }
        }
        Kind::MaxMessageSize => {
            options.max_message_size = value(kind, option, errors).and_then(|v| options::size(kind, v, errors));
        }
        Kind::MaxFrameSize => {
            options.max_frame_size = value(kind, option, errors).and_then(|v| options::size(kind, v, errors));
        }
        Kind::Crate => *krate = value(kind, option, errors).and_then(|value| options::krate(value, errors)),
        // A plugin's option: `options::kind_of` reported it.
        Kind::Order => {}
    }
}

/// `[ "a", "b" ]`: every element a string literal that passes `check`, the rule
/// the server applies to the same option at startup.
fn string_array(
    kind: Kind,
    option: &OptionEntry,
    value: &Expr,
    check: fn(&str) -> Result<(), OptionValueError>,
    errors: &mut Errors,
) -> Option<Vec<LitStr>> {
    let name = option.name.unraw();
    let Expr::Array(ExprArray { elems, .. }) = value else {
        let message = match value {
            Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), .. }) => {
                format!("`{name}` takes an array of string literals: write `{name} = [{}]`", lit.token())
            }
            _ => format!("`{name}` takes an array of string literals: {}", usage(kind)),
        };
        errors.spanned(value, message);
        return None;
    };
    let mut local = Errors::default();
    let mut strings = Vec::new();
    for element in elems {
        match element {
            Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), attrs }) if attrs.is_empty() => match check(&lit.value()) {
                Ok(()) => strings.push(lit.clone()),
                Err(error) => local.spanned(lit, format!("{}\n  help: {}", error.message(), error.help())),
            },
            other => local.spanned(
                other,
                format!("expected a string literal: every element of `{name}` is written out, as in {}", usage(kind)),
            ),
        }
    }
    errors.ok(local.finish(strings))
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::{ToTokens, quote};

    use super::*;
    use crate::parse;

    fn check(args: TokenStream, item: TokenStream) -> Result<Handler, Vec<String>> {
        let mut errors = Errors::default();
        let args = parse::args(args, &mut errors);
        let handler = handler(args, &parse::item(item), &mut errors);
        match errors.finish(handler) {
            Ok(handler) => Ok(handler.expect("no error recorded, so a handler")),
            Err(error) => Err(error.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    fn error(args: TokenStream, item: TokenStream) -> String {
        let errors = check(args, item).err().expect("an error");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        errors.into_iter().next().unwrap_or_default()
    }

    fn on_struct(args: TokenStream) -> String {
        error(
            args,
            quote!(
                struct Chat;
            ),
        )
    }

    #[test]
    fn every_option_is_read() {
        let handler = check(
            quote! {
                "/rooms/{room}", per_connection, allowed_origins = ["https://a.example", "https://*.example.com"],
                subprotocols = ["chat.v1", "chat.v2"], interceptors = [Auth::new(), audit()],
                max_message_size = 16_777_216, max_frame_size = LIMIT, deflate, crate = my::wsboot,
            },
            quote!(
                #[derive(Default)]
                pub struct Chat {
                    rooms: Vec<String>,
                }
            ),
        )
        .unwrap_or_else(|errors| panic!("{errors:#?}"));
        assert_eq!(handler.path.value(), "/rooms/{room}");
        assert_eq!(handler.target.ident(), "Chat");
        assert_eq!(handler.krate.to_token_stream().to_string(), "my :: wsboot");
        let options = &handler.options;
        assert!(options.per_connection && options.deflate);
        let values = |lits: &Option<Vec<LitStr>>| lits.iter().flatten().map(LitStr::value).collect::<Vec<_>>();
        assert_eq!(values(&options.allowed_origins), ["https://a.example", "https://*.example.com"]);
        assert_eq!(values(&options.subprotocols), ["chat.v1", "chat.v2"]);
        assert_eq!(options.interceptors.len(), 2);
        assert!(options.max_message_size.is_some() && options.max_frame_size.is_some());
    }

    #[test]
    fn defaults() {
        let handler = check(
            quote!("/"),
            quote!(
                struct Chat(u8);
            ),
        )
        .unwrap_or_else(|errors| panic!("{errors:#?}"));
        assert_eq!(handler.krate.to_token_stream().to_string(), ":: wsboot");
        let options = &handler.options;
        assert!(!options.per_connection && !options.deflate && options.interceptors.is_empty());
        assert!(options.allowed_origins.is_none() && options.subprotocols.is_none());
    }

    #[test]
    fn factory_fn_is_accepted() {
        let handler = check(
            quote!("/made"),
            quote!(
                pub(crate) fn made() -> impl WebSocketHandler {
                    Echo
                }
            ),
        )
        .unwrap_or_else(|errors| panic!("{errors:#?}"));
        assert!(matches!(&handler.target, Target::Fn { ident, .. } if ident == "made"));
    }

    #[test]
    fn raw_identifiers_name_options() {
        let handler = check(
            quote!("/", r#deflate),
            quote!(
                struct Chat;
            ),
        )
        .unwrap_or_else(|errors| panic!("{errors:#?}"));
        assert!(handler.options.deflate);
    }

    #[test]
    fn path_errors() {
        assert_eq!(on_struct(quote!()), "expected a path: #[ws_handler(\"/myHandler\")]");
        assert_eq!(on_struct(quote!(42)), "the handler path must be a string literal: #[ws_handler(\"/myHandler\")]");
        assert!(on_struct(quote!(PATH)).starts_with("expected a path string literal, found `PATH`"));
        assert_eq!(
            on_struct(quote!(per_connection)),
            "expected a path before the options: #[ws_handler(\"/myHandler\", per_connection)]"
        );
        assert_eq!(
            on_struct(quote!("myHandler")),
            "handler path `myHandler` must start with `/`\n  help: write \"/myHandler\""
        );
        let message = on_struct(quote!("/rooms/{}"));
        assert!(message.contains("has no name") && message.contains("help: "), "{message}");
        assert!(on_struct(quote!("/a", "/b")).starts_with("unexpected second path"));
        assert!(on_struct(quote!("/a", true)).starts_with("unexpected literal"));
    }

    #[test]
    fn option_name_errors() {
        let message = on_struct(quote!("/a", per_conection));
        assert!(message.starts_with("unknown option `per_conection`; did you mean `per_connection`?"), "{message}");
        for name in ["per_connection", "allowed_origins", "subprotocols", "interceptors", "decorators", "deflate"] {
            assert!(message.contains(name), "{message} lists {name}");
        }
        assert!(on_struct(quote!("/a", order = 1)).starts_with("`order` is an option of #[ws_plugin]"));
        assert!(!on_struct(quote!("/a", colour)).contains("did you mean"));
        assert_eq!(on_struct(quote!("/a", deflate, deflate)), "duplicate option `deflate`: keep only one");
        assert_eq!(
            on_struct(quote!("/a", max_frame_size = 1, max_frame_size = 2)),
            "duplicate option `max_frame_size`: keep only one"
        );
    }

    #[test]
    fn flags_take_no_value() {
        assert!(on_struct(quote!("/a", per_connection = true)).starts_with("`per_connection` is a bare flag: "));
        assert!(on_struct(quote!("/a", per_connection(false))).starts_with("`per_connection` is a bare flag: "));
        assert!(on_struct(quote!("/a", deflate = true)).starts_with("`deflate` is a bare flag: "));
    }

    #[test]
    fn valued_options_need_a_value() {
        assert_eq!(
            on_struct(quote!("/a", max_message_size)),
            "`max_message_size` needs a value: max_message_size = 16_777_216"
        );
        assert_eq!(on_struct(quote!("/a", crate)), "`crate` needs a value: crate = my_reexport::wsboot");
        assert_eq!(
            on_struct(quote!("/a", allowed_origins("https://a.example"))),
            "expected `=` after `allowed_origins`: allowed_origins = [\"https://app.example\"]"
        );
        assert!(on_struct(quote!("/a", crate = "wsboot")).starts_with("`crate` takes the path of the wsboot crate"));
        assert!(on_struct(quote!("/a", interceptors = Auth)).starts_with("`interceptors` takes an array"));
    }

    #[test]
    fn string_arrays() {
        assert_eq!(
            on_struct(quote!("/a", allowed_origins = "https://a.example")),
            "`allowed_origins` takes an array of string literals: write `allowed_origins = [\"https://a.example\"]`"
        );
        assert_eq!(
            on_struct(quote!("/a", subprotocols = PROTOCOLS)),
            "`subprotocols` takes an array of string literals: subprotocols = [\"chat.v1\"]"
        );
        let errors = check(
            quote!("/a", subprotocols = ["v1", V2, 3]),
            quote!(
                struct Chat;
            ),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(errors.len(), 2, "one error per bad element: {errors:#?}");
        assert!(errors[0].starts_with("expected a string literal"));
        assert!(on_struct(quote!("/a", subprotocols = ["chat v1"])).contains("is a token"));
        assert!(on_struct(quote!("/a", subprotocols = [""])).starts_with("an empty subprotocol"));
        let message = on_struct(quote!("/a", allowed_origins = ["https://a.example/app"]));
        assert!(message.ends_with("help: write \"https://a.example\""), "{message}");
        assert!(on_struct(quote!("/a", allowed_origins = [""])).starts_with("an empty allowed origin"));
        let message = on_struct(quote!("/a", allowed_origins = ["app.example"]));
        assert!(
            message
                .ends_with("has no scheme, so no `Origin` header can match it\n  help: write \"https://app.example\"")
        );
        assert!(
            check(
                quote!("/a", allowed_origins = ["*", "null"], subprotocols = []),
                quote!(
                    struct C;
                )
            )
            .is_ok()
        );
    }

    #[test]
    fn errors_accumulate_across_phases() {
        let errors = check(
            quote!("a", colour, deflate = yes),
            quote!(
                enum Chat {}
            ),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(errors.len(), 4, "{errors:#?}");
    }
}
