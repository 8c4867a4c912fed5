//! The command line of an application: the options it takes ([`AppOption`]),
//! what was given ([`AppArgs`]) and wsboot's own reading of it
//! ([`AppOptions`]), with the `--help` text made from the same table.

use super::{CommandLineError, CommandLineErrorKind};
use crate::config::DEFAULT_ADDR;
use crate::settings::is_host_port;

/// One command-line option: `--name`, `--name VALUE` (at most once) or a
/// repeatable `--name VALUE`. Values may also be written `--name=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOption {
    name: &'static str,
    value_name: Option<&'static str>,
    help: &'static str,
    repeatable: bool,
}

impl AppOption {
    /// `--name`, a switch.
    pub fn flag(name: &'static str, help: &'static str) -> Self {
        AppOption { name, value_name: None, help, repeatable: false }
    }

    /// `--name VALUE`, at most once. `value_name` shows the form in `--help`,
    /// e.g. `HOST:PORT`.
    pub fn value(name: &'static str, value_name: &'static str, help: &'static str) -> Self {
        AppOption { name, value_name: Some(value_name), help, repeatable: false }
    }

    /// `--name VALUE`, any number of times.
    pub fn repeated(name: &'static str, value_name: &'static str, help: &'static str) -> Self {
        AppOption { name, value_name: Some(value_name), help, repeatable: true }
    }

    /// The name, without the leading `--`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn usage(&self) -> String {
        match self.value_name {
            Some(value) => format!("--{} {value}", self.name),
            None => format!("--{}", self.name),
        }
    }
}

/// wsboot's own options, listed first in `--help`.
pub(super) fn builtin_options() -> Vec<AppOption> {
    vec![
        AppOption::value("addr", "HOST:PORT", "address to listen on (env WSBOOT_ADDR; default 127.0.0.1:8080)"),
        AppOption::value("config", "FILE", "read settings from this TOML file (env WSBOOT_CONFIG)"),
        AppOption::flag(
            "deflate",
            "compress with permessage-deflate (RFC 7692) wherever clients offer it, on every handler that does not \
             turn it off (setting deflate.enabled)",
        ),
        AppOption::flag(
            "print-routes",
            "print every route (handler, source, origins, subprotocols, interceptors, decorators, plugins) and exit",
        ),
    ]
}

/// The command line as parsed: what was given for each option, wsboot's and
/// the application's alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppArgs {
    given: Vec<(&'static str, Vec<String>)>,
}

impl AppArgs {
    /// Every value given for option `name` (without `--`), in order.
    pub fn values(&self, name: &str) -> &[String] {
        self.given.iter().find(|(n, _)| *n == name).map_or(&[], |(_, values)| values.as_slice())
    }

    /// The value of option `name`, if given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values(name).last().map(String::as_str)
    }

    /// Whether the switch (or option) `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.given.iter().any(|(n, _)| *n == name)
    }

    fn push(&mut self, name: &'static str, value: Option<String>) {
        let values = match self.given.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values,
            None => {
                self.given.push((name, Vec::new()));
                &mut self.given.last_mut().expect("just pushed").1
            }
        };
        values.extend(value);
    }
}

/// The command line of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppOptions {
    /// Where to listen.
    pub addr: String,
    /// `--print-routes`: list the routes and exit instead of serving.
    pub print_routes: bool,
    /// `--config FILE`: the TOML file of settings.
    pub config: Option<std::path::PathBuf>,
    /// Everything given, the application's own options included.
    pub args: AppArgs,
}

impl AppOptions {
    /// Parses wsboot's own options from `args` (without the program name),
    /// falling back to `WSBOOT_ADDR` (passed as `env_addr`) and then
    /// `127.0.0.1:8080` for the address. `Err` says why there are no options:
    /// `--help` was asked for ([`CommandLineErrorKind::Help`]), or which
    /// argument is wrong; it displays what to print.
    pub fn parse(args: impl IntoIterator<Item = String>, env_addr: Option<String>) -> Result<Self, CommandLineError> {
        AppOptions::parse_with(&[], None, args, env_addr)
    }

    /// Like [`parse`](Self::parse), also accepting the application's options.
    pub fn parse_with(
        app_options: &[AppOption],
        about: Option<&str>,
        args: impl IntoIterator<Item = String>,
        env_addr: Option<String>,
    ) -> Result<Self, CommandLineError> {
        let options: Vec<AppOption> = builtin_options().into_iter().chain(app_options.iter().cloned()).collect();
        let fail = |kind, argument: &str, message: String| {
            Err(CommandLineError::new(kind, argument, message, usage(&options, about)))
        };
        let mut parsed = AppArgs::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                return fail(CommandLineErrorKind::Help, &arg, String::new());
            }
            let Some(written) = arg.strip_prefix("--") else {
                return fail(CommandLineErrorKind::UnknownArgument, &arg, format!("unexpected argument `{arg}`"));
            };
            let (name, inline) = match written.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (written, None),
            };
            let flag = format!("--{name}");
            let Some(option) = options.iter().find(|o| o.name == name) else {
                return fail(CommandLineErrorKind::UnknownArgument, &flag, format!("unknown argument `{flag}`"));
            };
            if !option.repeatable && parsed.flag(option.name) {
                return fail(CommandLineErrorKind::Repeated, &flag, format!("`{flag}` given twice: give it once"));
            }
            let value = match (option.value_name, inline) {
                (None, Some(_)) => {
                    let message = format!("`{flag}` takes no value: write `{flag}`");
                    return fail(CommandLineErrorKind::UnexpectedValue, &flag, message);
                }
                (None, None) => None,
                (Some(_), Some(value)) => Some(value),
                (Some(_), None) => match args.next() {
                    Some(value) if !value.starts_with("--") => Some(value),
                    _ => {
                        let message = format!("`{flag}` needs a value: {}", option.usage());
                        return fail(CommandLineErrorKind::MissingValue, &flag, message);
                    }
                },
            };
            parsed.push(option.name, value);
        }
        let addr = parsed.value("addr").map(str::to_owned).or(env_addr).unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        // The rule the `addr` setting follows, so what parses here also starts.
        if !is_host_port(&addr) {
            let message = format!("invalid address `{addr}`: expected HOST:PORT, e.g. {DEFAULT_ADDR}");
            return fail(CommandLineErrorKind::InvalidAddr, "--addr", message);
        }
        let config = parsed.value("config").map(std::path::PathBuf::from);
        Ok(AppOptions { addr, print_routes: parsed.flag("print-routes"), config, args: parsed })
    }
}

fn usage(options: &[AppOption], about: Option<&str>) -> String {
    let program = std::env::args()
        .next()
        .and_then(|path| std::path::Path::new(&path).file_name().map(|name| name.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "app".to_owned());
    let about = about.unwrap_or("Serves every #[ws_handler] of this program.");
    let mut rows: Vec<(String, String)> = options
        .iter()
        .map(|o| (o.usage(), if o.repeatable { format!("{} (repeatable)", o.help) } else { o.help.to_owned() }))
        .collect();
    rows.push(("-h, --help".to_owned(), "print this help".to_owned()));
    let width = rows.iter().map(|(usage, _)| usage.len()).max().unwrap_or(0);
    let rows: Vec<String> = rows.iter().map(|(usage, help)| format!("  {usage:width$}  {help}")).collect();
    format!(
        "usage: {program} [OPTIONS]\n\n{about}\n\noptions:\n{}\n\n\
         Every setting can also come from the --config file or a WSBOOT_* variable\n\
         (e.g. WSBOOT_LIMITS_MAX_MESSAGE_SIZE=64KiB); flags win over variables, variables\n\
         over the file. Logging follows RUST_LOG (default: info).",
        rows.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: Option<&str>) -> Result<AppOptions, String> {
        AppOptions::parse(args.iter().map(|s| s.to_string()), env.map(str::to_owned)).map_err(|e| e.to_string())
    }

    fn parse_app(args: &[&str]) -> Result<AppOptions, String> {
        let options = [
            AppOption::repeated("token", "NAME:TOKEN", "accept TOKEN for NAME"),
            AppOption::flag("verbose", "say more"),
        ];
        AppOptions::parse_with(&options, Some("Test app."), args.iter().map(|s| s.to_string()), None)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn addr_from_flag_env_or_default() {
        assert_eq!(parse(&["--addr", "0.0.0.0:1"], Some("1.1.1.1:2")).unwrap().addr, "0.0.0.0:1");
        assert_eq!(parse(&["--addr=127.0.0.1:9"], None).unwrap().addr, "127.0.0.1:9");
        assert_eq!(parse(&[], Some("1.1.1.1:2")).unwrap().addr, "1.1.1.1:2");
        assert_eq!(parse(&[], None).unwrap().addr, "127.0.0.1:8080");
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        assert!(parse(&["--addr"], None).unwrap_err().contains("needs a value"));
        assert!(parse(&["--port", "1"], None).unwrap_err().contains("unknown argument `--port`"));
        assert!(parse(&["--addr", "nonsense"], None).unwrap_err().contains("expected HOST:PORT"));
        assert!(parse(&["--help"], None).unwrap_err().starts_with("usage:"));
        assert!(parse(&["serve"], None).unwrap_err().contains("unexpected argument `serve`"));
        assert!(parse(&["--addr", "a:1", "--addr", "b:2"], None).unwrap_err().contains("given twice"));
        assert!(parse(&["--print-routes=yes"], None).unwrap_err().contains("takes no value"));
    }

    #[test]
    fn print_routes_is_a_switch() {
        assert!(parse(&["--print-routes"], None).unwrap().print_routes);
        assert!(!parse(&[], None).unwrap().print_routes);
    }

    #[test]
    fn application_options_are_parsed_and_documented() {
        let options = parse_app(&["--token", "alice:s3cret", "--verbose", "--token=bob:hunter2"]).unwrap();
        assert_eq!(options.args.values("token"), ["alice:s3cret", "bob:hunter2"]);
        assert!(options.args.flag("verbose"));
        assert_eq!(options.args.value("addr"), None);
        assert!(parse_app(&[]).unwrap().args.values("token").is_empty());
        assert!(parse_app(&["--token"]).unwrap_err().contains("`--token` needs a value: --token NAME:TOKEN"));
        let help = parse_app(&["-h"]).unwrap_err();
        assert!(help.contains("Test app."), "{help}");
        assert!(help.contains("--token NAME:TOKEN") && help.contains("(repeatable)"), "{help}");
        assert!(help.contains("--print-routes") && help.contains("--addr HOST:PORT"), "{help}");
    }

    #[test]
    fn errors_say_which_argument_and_what_kind() {
        let error = |args: &[&str]| AppOptions::parse(args.iter().map(|s| s.to_string()), None).unwrap_err();
        let help = error(&["-h"]);
        assert_eq!((help.kind(), help.exit_code()), (CommandLineErrorKind::Help, 0));
        assert_eq!(help.to_string(), help.usage());
        for (args, kind, argument) in [
            (&["--port", "1"][..], CommandLineErrorKind::UnknownArgument, "--port"),
            (&["serve"][..], CommandLineErrorKind::UnknownArgument, "serve"),
            (&["--deflate", "--deflate"][..], CommandLineErrorKind::Repeated, "--deflate"),
            (&["--print-routes=yes"][..], CommandLineErrorKind::UnexpectedValue, "--print-routes"),
            (&["--addr"][..], CommandLineErrorKind::MissingValue, "--addr"),
            (&["--addr", "a.example:http"][..], CommandLineErrorKind::InvalidAddr, "--addr"),
        ] {
            let error = error(args);
            assert_eq!((error.kind(), error.argument(), error.exit_code()), (kind, argument, 2), "{args:?}");
        }
        assert!(error(&["--port"]).to_string().ends_with(error(&["--port"]).usage()), "unknown: the usage follows");
        assert!(!error(&["--addr"]).to_string().contains("usage:"));
    }

    #[test]
    fn the_address_follows_the_addr_setting_rule() {
        for addr in ["0.0.0.0:1", "[::1]:8080", "localhost:9000", "app.example:443"] {
            assert!(parse(&["--addr", addr], None).is_ok(), "{addr}");
        }
        for addr in ["8080", "localhost", "a.example:http", "host:99999", ":80"] {
            assert!(parse(&["--addr", addr], None).unwrap_err().contains("expected HOST:PORT"), "{addr}");
        }
        assert!(builtin_options()[0].help.contains(DEFAULT_ADDR), "`--help` gives the real default");
    }
}
