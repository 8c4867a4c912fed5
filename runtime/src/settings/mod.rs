//! [`ConfigSources`]: settings from outside the code — a TOML file, `WSBOOT_*`
//! environment variables, command-line flags — layered over the builder's.

mod history;
mod keys;
mod value;

pub use history::HistorySettings;

use std::path::{Path, PathBuf};

use wsboot_core::{ConfigProblem, Error, HandlerRegistry};

use crate::config::{HandlerSettings, ServerConfig};
use keys::Origin;
use value::Raw;
pub(crate) use value::{CLOSE_CODE_FORM, is_host_port, is_route_path, is_shutdown_code, is_url};

/// One source of settings.
#[derive(Debug, Clone)]
enum Layer {
    File(PathBuf),
    Toml { origin: String, text: String },
    ProcessEnv,
    Vars(Vec<(String, String)>),
    Set { key: String, value: String },
}

#[doc = include_str!("reference.md")]
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    layers: Vec<Layer>,
}

impl ConfigSources {
    /// No sources: the builder's settings stand.
    pub fn new() -> Self {
        ConfigSources::default()
    }

    /// What [`wsboot::run`](crate::run) reads: the TOML file at `config_file`
    /// (if any), then the process environment.
    pub fn standard(config_file: Option<PathBuf>) -> Self {
        let sources = ConfigSources::new();
        let sources = match config_file {
            Some(path) => sources.file(path),
            None => sources,
        };
        sources.env()
    }

    /// A TOML file, read when the sources are applied. A missing file is an
    /// error naming it. Relative file paths inside it (`tls.cert_file`) are
    /// relative to the file's directory.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.layers.push(Layer::File(path.into()));
        self
    }

    /// A TOML document given as text; `origin` names it in error messages.
    pub fn toml(mut self, origin: impl Into<String>, text: impl Into<String>) -> Self {
        self.layers.push(Layer::Toml { origin: origin.into(), text: text.into() });
        self
    }

    /// The process's `WSBOOT_*` environment variables, read when the sources
    /// are applied. Unknown `WSBOOT_*` variables are logged as warnings.
    pub fn env(mut self) -> Self {
        self.layers.push(Layer::ProcessEnv);
        self
    }

    /// These `WSBOOT_*` variables, as if they were the environment (tests,
    /// or variables gathered elsewhere). Pairs without the prefix are ignored.
    pub fn vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.layers.push(Layer::Vars(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect()));
        self
    }

    /// One setting by key, written as in an environment variable
    /// (`set("addr", "0.0.0.0:9001")`): what command-line flags use. An unknown
    /// key is an error when the sources are applied.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.layers.push(Layer::Set { key: key.into(), value: value.into() });
        self
    }

    /// Whether no source was added.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Applies every source over `config`, in the order they were added (later
    /// ones win). Reports every problem at once, each its own
    /// [`ConfigProblem`](wsboot_core::ConfigProblem) naming where the value came
    /// from, the key, the form expected and the value found.
    pub fn apply(&self, config: &mut ServerConfig) -> Result<(), Error> {
        let mut problems = Vec::new();
        for layer in &self.layers {
            match layer {
                Layer::File(path) => match std::fs::read_to_string(path) {
                    Ok(text) => apply_toml(config, &path.display().to_string(), &text, path.parent(), &mut problems),
                    Err(e) => problems.push(ConfigProblem::new(format!(
                        "cannot read the configuration file `{}`: {e}",
                        path.display()
                    ))),
                },
                Layer::Toml { origin, text } => apply_toml(config, origin, text, None, &mut problems),
                Layer::ProcessEnv => {
                    let vars: Vec<(String, String)> = std::env::vars_os()
                        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                        .collect();
                    apply_vars(config, &vars, &mut problems);
                }
                Layer::Vars(vars) => apply_vars(config, vars, &mut problems),
                Layer::Set { key, value } => match keys::find(key) {
                    Some(found) => set(config, found, Raw::Text(value), Origin { base_dir: None }, None, &mut problems),
                    None => problems.push(ConfigProblem::new(format!("unknown setting `{key}`{}", suggestion(key)))),
                },
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::config_with_summary("invalid configuration", problems)) }
    }
}

/// Applies the per-handler settings of `config` to the registrations at their
/// paths. Each path with no handler is a problem naming the paths there are.
pub(crate) fn apply_handler_settings(config: &ServerConfig, registry: &mut HandlerRegistry) -> Result<(), Error> {
    let mut unknown = Vec::new();
    for settings in &config.handlers {
        match registry.get_mut(&settings.path) {
            Some(registration) => settings.apply(registration, config),
            None => unknown.push(settings.path.clone()),
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    let known: Vec<String> = registry.iter().map(|r| format!("`{}`", r.path())).collect();
    let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
    Err(Error::config(unknown.iter().map(|path| {
        ConfigProblem::new(format!("settings for `{path}`, but no handler is registered there (handlers: {known})"))
    })))
}

/// `problem`, said to come from `at` (a file, a variable) when known.
fn located(problem: ConfigProblem, at: Option<&str>) -> ConfigProblem {
    match at {
        Some(at) => problem.with_location(at),
        None => problem,
    }
}

/// Reads `raw` into the setting `key`, or records why not.
fn set(
    config: &mut ServerConfig,
    key: &keys::Key,
    raw: Raw<'_>,
    origin: Origin<'_>,
    at: Option<&str>,
    problems: &mut Vec<ConfigProblem>,
) {
    if (key.set)(config, raw, origin).is_none() {
        let problem = ConfigProblem::new(format!("must be {}; found {}", key.form, raw.shown())).with_key(key.name);
        problems.push(located(problem, at));
    }
}

fn apply_toml(
    config: &mut ServerConfig,
    origin: &str,
    text: &str,
    base_dir: Option<&Path>,
    problems: &mut Vec<ConfigProblem>,
) {
    let table = match text.parse::<toml::Table>() {
        Ok(table) => table,
        Err(e) => {
            problems.push(ConfigProblem::new(format!("{origin} is not valid TOML: {}", e.to_string().trim_end())));
            return;
        }
    };
    walk(config, &table, "", Origin { base_dir }, Some(origin), problems);
}

/// Applies every entry of `table` (whose keys start with `prefix`).
fn walk(
    config: &mut ServerConfig,
    table: &toml::Table,
    prefix: &str,
    origin: Origin<'_>,
    at: Option<&str>,
    problems: &mut Vec<ConfigProblem>,
) {
    for (name, value) in table {
        let full = format!("{prefix}{name}");
        if full == "handlers" {
            match value {
                toml::Value::Table(handlers) => apply_handlers(config, handlers, at, problems),
                other => problems.push(located(
                    ConfigProblem::new(format!(
                        "must be a table of route paths, such as [handlers.\"/chat\"]; found {other}"
                    ))
                    .with_key("handlers"),
                    at,
                )),
            }
        } else if full == "history" {
            match value {
                toml::Value::Table(histories) => apply_histories(config, histories, at, problems),
                other => problems.push(located(
                    ConfigProblem::new(format!(
                        "must be a table of topic patterns, such as [history.\"chat:*\"]; found {other}"
                    ))
                    .with_key("history"),
                    at,
                )),
            }
        } else if let Some(key) = keys::find(&full) {
            set(config, key, Raw::Toml(value), origin, at, problems);
        } else if let (toml::Value::Table(inner), true) = (value, is_section(&full)) {
            walk(config, inner, &format!("{full}."), origin, at, problems);
        } else {
            problems.push(located(ConfigProblem::new(format!("unknown setting `{full}`{}", suggestion(&full))), at));
        }
    }
}

/// Whether some key lives under `section.`.
fn is_section(section: &str) -> bool {
    keys::KEYS.iter().any(|k| k.name.strip_prefix(section).is_some_and(|rest| rest.starts_with('.')))
}

fn apply_handlers(
    config: &mut ServerConfig,
    handlers: &toml::Table,
    at: Option<&str>,
    problems: &mut Vec<ConfigProblem>,
) {
    for (path, value) in handlers {
        let table_key = format!("handlers.\"{path}\"");
        let toml::Value::Table(entries) = value else {
            let message = format!("must be a table of handler settings; found {value}");
            problems.push(located(ConfigProblem::new(message).with_key(table_key), at));
            continue;
        };
        if !is_route_path(path) {
            let message = "names no route: a handler's path starts with `/`";
            problems.push(located(ConfigProblem::new(message).with_key(table_key), at));
            continue;
        }
        let index = match config.handlers.iter().position(|h| h.path == *path) {
            Some(index) => index,
            None => {
                config.handlers.push(HandlerSettings::new(path.clone()));
                config.handlers.len() - 1
            }
        };
        let settings = &mut config.handlers[index];
        for (name, raw) in entries {
            let key_name = format!("handlers.\"{path}\".{name}");
            match keys::find_handler_key(name) {
                Some(key) => {
                    if (key.set)(settings, Raw::Toml(raw)).is_none() {
                        let message = format!("must be {}; found {raw}", key.form);
                        problems.push(located(ConfigProblem::new(message).with_key(key_name), at));
                    }
                }
                None => {
                    let known = keys::HANDLER_KEYS.iter().map(|k| k.name);
                    let message = format!("unknown handler setting `{key_name}`{}", closest(name, known));
                    problems.push(located(ConfigProblem::new(message), at));
                }
            }
        }
    }
}

fn apply_histories(
    config: &mut ServerConfig,
    histories: &toml::Table,
    at: Option<&str>,
    problems: &mut Vec<ConfigProblem>,
) {
    for (pattern, value) in histories {
        let toml::Value::Table(entries) = value else {
            let message = format!("must be a table of history settings; found {value}");
            problems.push(located(ConfigProblem::new(message).with_key(format!("history.\"{pattern}\"")), at));
            continue;
        };
        let index = match config.histories.iter().position(|h| h.pattern == *pattern) {
            Some(index) => index,
            None => {
                config.histories.push(HistorySettings::new(pattern.clone()));
                config.histories.len() - 1
            }
        };
        let mut found = Vec::new();
        history::read_table(&mut config.histories[index], entries, &mut found);
        problems.extend(found.into_iter().map(|problem| located(problem, at)));
    }
}

fn apply_vars(config: &mut ServerConfig, vars: &[(String, String)], problems: &mut Vec<ConfigProblem>) {
    let mut sorted: Vec<&(String, String)> = vars.iter().filter(|(name, _)| name.starts_with("WSBOOT_")).collect();
    // Aliases first, so the canonical name wins when both are set.
    sorted.sort_by_key(|(name, _)| (!keys::ENV_ALIASES.iter().any(|(alias, _)| alias == name), name.clone()));
    for (name, text) in sorted {
        let key = keys::KEYS.iter().find(|k| keys::env_name(k.name) == *name).or_else(|| {
            let (_, key) = keys::ENV_ALIASES.iter().find(|(alias, _)| alias == name)?;
            keys::find(key)
        });
        match key {
            Some(key) => set(config, key, Raw::Text(text), Origin { base_dir: None }, Some(name), problems),
            None if keys::ENV_NOT_SETTINGS.contains(&name.as_str()) => {}
            None => {
                let known = keys::KEYS.iter().map(|k| keys::env_name(k.name));
                tracing::warn!(
                    "ignoring the environment variable {name}: not a wsboot setting{}",
                    closest(name, known)
                );
            }
        }
    }
}

/// ` (did you mean `x`?)` for the known key nearest to `unknown`, if any is near.
fn suggestion(unknown: &str) -> String {
    closest(unknown, keys::KEYS.iter().map(|k| k.name))
}

fn closest<S: AsRef<str>>(unknown: &str, known: impl Iterator<Item = S>) -> String {
    let best = known.map(|k| (edit_distance(unknown, k.as_ref()), k)).min_by_key(|(d, _)| *d);
    match best {
        Some((distance, key)) if distance <= 3.max(unknown.len() / 4) => format!(" (did you mean `{}`?)", key.as_ref()),
        _ => String::new(),
    }
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn load(sources: ConfigSources) -> Result<ServerConfig, String> {
        let mut config = ServerConfig::default();
        sources.apply(&mut config).map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn every_key_is_in_the_reference() {
        let reference = include_str!("reference.md");
        for key in keys::KEYS {
            assert!(reference.contains(&format!("`{}`", key.name)), "{} is not documented", key.name);
            assert!(reference.contains(&keys::env_name(key.name)), "{} is not documented", keys::env_name(key.name));
        }
        for key in keys::HANDLER_KEYS {
            assert!(reference.contains(&format!("`{}`", key.name)), "handler key {} is not documented", key.name);
        }
    }

    #[test]
    fn toml_sections_and_later_layers_win() {
        let config = load(
            ConfigSources::new()
                .toml(
                    "a.toml",
                    "addr = \"0.0.0.0:9000\"\n[limits]\nmax_message_size = \"64KiB\"\n[timeouts]\nidle = \"30s\"\n",
                )
                .vars([("WSBOOT_LIMITS_MAX_MESSAGE_SIZE", "1MiB"), ("PATH", "/bin")])
                .set("timeouts.idle", "off"),
        )
        .unwrap();
        assert_eq!(config.addr, "0.0.0.0:9000");
        assert_eq!(config.max_message_size, 1 << 20);
        assert_eq!(config.idle_timeout, None);
    }

    #[test]
    fn dotted_keys_and_inline_tables_are_the_same_keys() {
        let config =
            load(ConfigSources::new().toml("a.toml", "timeouts.close = \"2s\"\nmetrics = { path = \"/m\" }")).unwrap();
        assert_eq!(config.close_timeout, Duration::from_secs(2));
        assert_eq!(config.metrics_path, "/m");
    }

    #[test]
    fn errors_name_origin_key_form_and_value() {
        let error = load(ConfigSources::new().toml("app.toml", "[limits]\nmax_message_size = \"lots\"")).unwrap_err();
        assert!(
            error.contains("app.toml: `limits.max_message_size` must be a size in bytes") && error.contains("\"lots\""),
            "{error}"
        );
        let error = load(ConfigSources::new().vars([("WSBOOT_TIMEOUTS_CLOSE", "5")])).unwrap_err();
        assert!(error.contains("WSBOOT_TIMEOUTS_CLOSE: `timeouts.close` must be a duration"), "{error}");
        let error = load(ConfigSources::new().toml("app.toml", "[limits]\nmax_mesage_size = 1")).unwrap_err();
        assert!(error.contains("unknown setting `limits.max_mesage_size` (did you mean `limits.max_message_size`?)"));
        let error = load(ConfigSources::new().toml("app.toml", "[limits\n")).unwrap_err();
        assert!(error.contains("app.toml is not valid TOML"), "{error}");
        let error = load(ConfigSources::new().set("nope", "1")).unwrap_err();
        assert!(error.contains("unknown setting `nope`"), "{error}");
    }

    #[test]
    fn every_problem_is_kept_apart_with_its_key_and_location() {
        let error = ConfigSources::new()
            .toml("a.toml", "[limits]\nmax_frame_size = \"big\"\nmax_mesage_size = 1")
            .vars([("WSBOOT_HEALTH_ENABLED", "maybe")])
            .apply(&mut ServerConfig::default())
            .unwrap_err();
        let problems = error.problems();
        let parts: Vec<(Option<&str>, Option<&str>)> = problems.iter().map(|p| (p.location(), p.key())).collect();
        assert_eq!(
            parts,
            [
                (Some("a.toml"), Some("limits.max_frame_size")),
                (Some("a.toml"), None),
                (Some("WSBOOT_HEALTH_ENABLED"), Some("health.enabled"))
            ]
        );
        assert!(problems[0].message().starts_with("must be a size in bytes"), "{problems:#?}");
        assert!(problems[1].message().starts_with("unknown setting `limits.max_mesage_size`"), "{problems:#?}");
        let text = error.to_string();
        assert!(text.starts_with("invalid configuration: a.toml: `limits.max_frame_size` must be"), "{text}");
        assert_eq!(format!("{error:#}").lines().count(), 4, "a summary line, then one line per problem");
    }

    #[test]
    fn handlers_by_path() {
        let config = load(ConfigSources::new().toml(
            "a.toml",
            "[handlers.\"/chat/{room}\"]\nmax_message_size = \"8KiB\"\nallowed_origins = [\"https://a\"]\noverflow = \"drop_oldest\"",
        ))
        .unwrap();
        let chat = &config.handlers[0];
        assert_eq!(chat.path, "/chat/{room}");
        assert_eq!(chat.max_message_size, Some(8 << 10));
        assert_eq!(chat.allowed_origins.as_deref(), Some(&["https://a".to_owned()][..]));
        let error = load(ConfigSources::new().toml("a.toml", "[handlers.\"/x\"]\nmax_mesage_size = 1")).unwrap_err();
        assert!(error.contains("unknown handler setting `handlers.\"/x\".max_mesage_size` (did you mean"), "{error}");
    }

    #[test]
    fn tls_paths_are_relative_to_the_file() {
        let dir = std::env::temp_dir().join(format!("wsboot-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("wsboot.toml");
        std::fs::write(&file, "[tls]\ncert_file = \"cert.pem\"\nkey_file = \"/abs/key.pem\"\n").unwrap();
        let config = load(ConfigSources::new().file(&file)).unwrap();
        let tls = config.tls.unwrap();
        assert_eq!(tls.cert_chain_file(), Some(dir.join("cert.pem").as_path()));
        assert_eq!(tls.key_file(), Some(Path::new("/abs/key.pem")));
        std::fs::remove_dir_all(&dir).unwrap();
        let error = load(ConfigSources::new().file(dir.join("missing.toml"))).unwrap_err();
        assert!(error.contains("cannot read the configuration file") && error.contains("missing.toml"), "{error}");
    }

    #[test]
    fn the_redis_alias_sets_the_broker_url() {
        let config = load(ConfigSources::new().vars([("WSBOOT_REDIS_URL", "redis://a:1")])).unwrap();
        assert_eq!(config.broker_url.as_deref(), Some("redis://a:1"));
        let config = load(
            ConfigSources::new().vars([("WSBOOT_BROKER_URL", "redis://b:2"), ("WSBOOT_REDIS_URL", "redis://a:1")]),
        )
        .unwrap();
        assert_eq!(config.broker_url.as_deref(), Some("redis://b:2"));
    }
}
