//! `[history."PATTERN"]` tables: topic history from the configuration file.
//! A table for a pattern the app already enables (in code) changes its bounds
//! or, with `enabled = false`, turns it off; a table for a new pattern turns
//! history on for it, with the default bounds for keys it leaves out.

use std::time::Duration;

use wsboot_core::{ConfigProblem, TopicHistory};

use super::value::{self, Raw};

/// The settings of one `[history."PATTERN"]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistorySettings {
    /// The topic pattern, exactly as in the app (`*` matches any run of
    /// characters).
    pub pattern: String,
    /// `false` turns the pattern's history off. Key `enabled`.
    pub enabled: Option<bool>,
    /// Most publications kept per topic. Key `max_messages`.
    pub max_messages: Option<usize>,
    /// Most payload bytes kept per topic. Key `max_bytes`.
    pub max_bytes: Option<usize>,
    /// How long a publication is kept. Key `max_age`.
    pub max_age: Option<Duration>,
}

impl HistorySettings {
    /// Empty settings for `pattern`.
    pub fn new(pattern: impl Into<String>) -> Self {
        HistorySettings { pattern: pattern.into(), ..HistorySettings::default() }
    }

    /// Applies these settings to `histories` (the app's, in order).
    pub(crate) fn apply(&self, histories: &mut Vec<TopicHistory>) {
        let index = match histories.iter().position(|h| h.pattern() == self.pattern) {
            Some(index) => index,
            None => {
                histories.push(TopicHistory::new(self.pattern.clone()));
                histories.len() - 1
            }
        };
        if self.enabled == Some(false) {
            histories.remove(index);
            return;
        }
        let mut history = histories[index].clone();
        if let Some(count) = self.max_messages {
            history = history.max_messages(count);
        }
        if let Some(bytes) = self.max_bytes {
            history = history.max_bytes(bytes);
        }
        if let Some(age) = self.max_age {
            history = history.max_age(age);
        }
        histories[index] = history;
    }
}

const KEYS: &[&str] = &["enabled", "max_messages", "max_bytes", "max_age"];

/// Reads one table's entries into `settings`; a problem per bad entry.
pub(super) fn read_table(settings: &mut HistorySettings, entries: &toml::Table, problems: &mut Vec<ConfigProblem>) {
    for (name, raw) in entries {
        let key = format!("history.\"{}\".{name}", settings.pattern);
        let raw = Raw::Toml(raw);
        let (read, form) = match name.as_str() {
            "enabled" => (value::boolean(raw).map(|v| settings.enabled = Some(v)), "true or false"),
            "max_messages" => (
                value::count(raw).filter(|n| *n > 0).map(|v| settings.max_messages = Some(v)),
                "a whole number above 0",
            ),
            "max_bytes" => (
                value::size(raw).filter(|n| *n > 0).map(|v| settings.max_bytes = Some(v)),
                "a size above 0, such as \"1MiB\"",
            ),
            "max_age" => (
                value::duration(raw).filter(|d| !d.is_zero()).map(|v| settings.max_age = Some(v)),
                "a duration above 0, such as \"5m\" or \"30s\"",
            ),
            _ => {
                let known = KEYS.iter().copied();
                let message = format!("unknown history setting `{key}`{}", super::closest(name, known));
                problems.push(ConfigProblem::new(message));
                continue;
            }
        };
        if read.is_none() {
            problems.push(ConfigProblem::new(format!("must be {form}; found {}", raw.shown())).with_key(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConfigSources;
    use crate::config::ServerConfig;

    fn load(toml: &str) -> Result<ServerConfig, String> {
        let mut config = ServerConfig::default();
        ConfigSources::new().toml("a.toml", toml).apply(&mut config).map(|()| config).map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn tables_change_the_apps_histories_add_new_ones_or_turn_them_off() {
        let config = load(
            "[history.\"chat:*\"]\nmax_messages = 5000\nmax_age = \"10m\"\n\
             [history.\"news\"]\nmax_bytes = \"64KiB\"\n[history.\"old:*\"]\nenabled = false",
        )
        .unwrap();
        let mut histories = vec![TopicHistory::new("chat:*").max_bytes(7), TopicHistory::new("old:*")];
        for settings in &config.histories {
            settings.apply(&mut histories);
        }
        let patterns: Vec<_> = histories.iter().map(|h| h.pattern()).collect();
        assert_eq!(patterns, ["chat:*", "news"]);
        let chat = histories[0].history_limits();
        assert_eq!((chat.max_messages, chat.max_bytes, chat.max_age), (5000, 7, Duration::from_secs(600)));
        assert_eq!(histories[1].history_limits().max_bytes, 64 << 10);
        assert_eq!(histories[1].history_limits().max_messages, 1000, "the default where the file says nothing");
    }

    #[test]
    fn bad_entries_are_named_with_their_key() {
        let error = load("[history.\"chat:*\"]\nmax_mesages = 5\nmax_age = \"0s\"\nmax_bytes = -1").unwrap_err();
        assert!(
            error.contains("unknown history setting `history.\"chat:*\".max_mesages` (did you mean `max_messages`?)"),
            "{error}"
        );
        assert!(error.contains("`history.\"chat:*\".max_age` must be a duration above 0"), "{error}");
        assert!(error.contains("`history.\"chat:*\".max_bytes` must be a size above 0"), "{error}");
        assert!(load("history = 3").unwrap_err().contains("must be a table of topic patterns"));
    }
}
