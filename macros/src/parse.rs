//! Phase 1, syntax: the attribute arguments and the annotated item become plain
//! data. Nothing is judged here beyond what the grammar needs; `validate` decides
//! what the data means and whether it is allowed.
//!
//! The argument grammar is `entry (, entry)* ,?` where an entry is a literal (the
//! path) or an option `name`, `name = expr`. Parsing recovers at the next
//! top-level comma after a malformed entry, so one expansion reports every
//! mistake.

use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, Ident, Item, Lit, Token};

use crate::errors::Errors;

/// The comma-separated entries of `#[ws_handler(...)]`, in the order written.
pub(crate) struct Args {
    pub(crate) entries: Vec<Entry>,
}

/// One comma-separated entry.
pub(crate) enum Entry {
    /// A literal: the path when it comes first, a mistake anywhere else.
    Lit(Lit),
    /// An option: `name`, `name = value`, or `name` followed by something else.
    Option(OptionEntry),
}

/// `name`, `name = value` or a malformed `name ...`.
pub(crate) struct OptionEntry {
    /// The option name; `crate` is accepted although it is a keyword.
    pub(crate) name: Ident,
    pub(crate) value: OptionValue,
}

/// What follows an option name.
pub(crate) enum OptionValue {
    /// Nothing: a bare flag such as `per_connection`.
    Flag,
    /// `= value`.
    Assign { eq: Token![=], value: Expr },
    /// Anything else, e.g. `(true)` or `: 5`, kept so the error can point at it.
    Malformed(TokenStream),
}

/// Parses the attribute arguments, recording every syntax error in `errors` and
/// keeping the entries that did parse.
pub(crate) fn args(tokens: TokenStream, errors: &mut Errors) -> Args {
    let parser = |input: ParseStream<'_>| {
        let mut entries = Vec::new();
        while !input.is_empty() {
            if input.peek(Token![,]) {
                let comma: Token![,] = input.parse()?;
                errors.spanned(comma, "unexpected `,`: expected an option");
                continue;
            }
            match entry(input) {
                Ok(entry) => entries.push(entry),
                Err(error) => {
                    errors.push(error);
                    skip_to_comma(input)?;
                }
            }
            if input.is_empty() {
                break;
            }
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            } else if starts_entry(input) {
                // `per_connection deflate`: only the comma is missing.
                errors.push(input.error("expected `,` between options"));
            } else {
                errors.push(input.error("expected `,` between options"));
                skip_to_comma(input)?;
                if !input.is_empty() {
                    input.parse::<Token![,]>()?;
                }
            }
        }
        Ok(Args { entries })
    };
    // The closure only fails on a token stream that cannot be walked at all,
    // which `proc_macro` never hands us; report it anyway rather than panic.
    match parser.parse2(tokens) {
        Ok(args) => args,
        Err(error) => {
            errors.push(error);
            Args { entries: Vec::new() }
        }
    }
}

fn entry(input: ParseStream<'_>) -> syn::Result<Entry> {
    if input.peek(Lit) {
        return Ok(Entry::Lit(input.parse()?));
    }
    if !input.peek(Ident::peek_any) {
        return Err(input.error("expected an option name, e.g. `per_connection` or `max_message_size = 65536`"));
    }
    let name = Ident::parse_any(input)?;
    let value = if input.is_empty() || input.peek(Token![,]) || starts_entry(input) {
        OptionValue::Flag
    } else if input.peek(Token![=]) {
        let eq = input.parse()?;
        OptionValue::Assign { eq, value: input.parse()? }
    } else {
        OptionValue::Malformed(tokens_to_comma(input)?)
    };
    Ok(Entry::Option(OptionEntry { name, value }))
}

/// Whether the next token begins another entry (a literal or a name).
fn starts_entry(input: ParseStream<'_>) -> bool {
    input.peek(Lit) || input.peek(Ident::peek_any)
}

/// Consumes token trees up to (not including) the next top-level `,`.
fn tokens_to_comma(input: ParseStream<'_>) -> syn::Result<TokenStream> {
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        tokens.extend([input.parse::<TokenTree>()?]);
    }
    Ok(tokens)
}

fn skip_to_comma(input: ParseStream<'_>) -> syn::Result<()> {
    tokens_to_comma(input).map(drop)
}

/// Parses the annotated item. Anything `syn` does not know, or cannot parse as
/// an item, comes back as `Item::Verbatim`, which `validate` rejects like any
/// other unsupported item.
pub(crate) fn item(tokens: TokenStream) -> Item {
    syn::parse2(tokens.clone()).unwrap_or(Item::Verbatim(tokens))
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse(tokens: TokenStream) -> (Args, Vec<String>) {
        let mut errors = Errors::default();
        let args = args(tokens, &mut errors);
        let messages = match errors.finish(()) {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        };
        (args, messages)
    }

    fn names(args: &Args) -> Vec<String> {
        args.entries
            .iter()
            .map(|entry| match entry {
                Entry::Lit(_) => "<lit>".to_owned(),
                Entry::Option(option) => match &option.value {
                    OptionValue::Flag => option.name.to_string(),
                    OptionValue::Assign { .. } => format!("{}=", option.name),
                    OptionValue::Malformed(_) => format!("{}?", option.name),
                },
            })
            .collect()
    }

    #[test]
    fn every_form_parses() {
        let (args, errors) = parse(quote! {
            "/chat", per_connection, allowed_origins = ["https://a.example"], subprotocols = ["v1", "v2"],
            interceptors = [Auth::new(), other()], max_message_size = 1 << 20,
            max_frame_size = LIMIT, deflate, crate = my::wsboot,
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            names(&args),
            [
                "<lit>",
                "per_connection",
                "allowed_origins=",
                "subprotocols=",
                "interceptors=",
                "max_message_size=",
                "max_frame_size=",
                "deflate",
                "crate="
            ]
        );
    }

    #[test]
    fn empty_arguments_are_no_entries() {
        let (args, errors) = parse(quote!());
        assert!(args.entries.is_empty() && errors.is_empty());
    }

    #[test]
    fn malformed_option_is_kept_for_the_validator() {
        let (args, errors) = parse(quote!("/a", per_connection(true), deflate));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(names(&args), ["<lit>", "per_connection?", "deflate"]);
    }

    #[test]
    fn recovers_after_a_syntax_error() {
        let (args, errors) = parse(quote!("/a", max_message_size = , deflate, @ per_connection, , crate));
        assert_eq!(names(&args), ["<lit>", "deflate", "crate"]);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[1].starts_with("expected an option name"), "{errors:?}");
        assert!(errors[2].starts_with("unexpected `,`"), "{errors:?}");
    }

    #[test]
    fn missing_comma_is_reported() {
        let (args, errors) = parse(quote!("/a" deflate max_frame_size = 1, per_connection));
        assert_eq!(names(&args), ["<lit>", "deflate", "max_frame_size=", "per_connection"]);
        assert_eq!(errors, ["expected `,` between options", "expected `,` between options"]);
    }
}
