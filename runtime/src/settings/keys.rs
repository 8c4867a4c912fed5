//! Every configuration key: its name, the form its value takes, and where it
//! goes in a [`ServerConfig`] (or a [`HandlerSettings`]). TOML files, environment
//! variables and flags all go through this one table, so they accept the same
//! values and fail with the same messages.

use std::path::{Path, PathBuf};

use super::value::{self, Raw};
use crate::config::{HandlerSettings, ServerConfig, default_shutdown_status};
use crate::tls::TlsConfig;

/// Where a value came from, for what depends on it (relative file paths).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    /// The directory of the configuration file the value is in; `None` for the
    /// environment and flags (relative to the working directory).
    pub(crate) base_dir: Option<&'a Path>,
}

impl Origin<'_> {
    fn path(&self, raw: Raw<'_>) -> Option<PathBuf> {
        let path = PathBuf::from(value::string(raw)?);
        Some(match self.base_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path,
        })
    }
}

/// One server setting.
pub(crate) struct Key {
    /// Dotted name, as in a TOML file (`limits.max_message_size`).
    pub(crate) name: &'static str,
    /// The form its value must take, for error messages.
    pub(crate) form: &'static str,
    /// Reads `raw` into `config`; `None` when it is not of the form.
    pub(crate) set: fn(&mut ServerConfig, Raw<'_>, Origin<'_>) -> Option<()>,
}

/// One per-handler setting (`[handlers."/path"]`).
pub(crate) struct HandlerKey {
    pub(crate) name: &'static str,
    pub(crate) form: &'static str,
    pub(crate) set: fn(&mut HandlerSettings, Raw<'_>) -> Option<()>,
}

const SIZE: &str = "a size in bytes: a whole number, or a string such as \"64KiB\" or \"16MiB\"";
const COUNT: &str = "a whole number";
const OPTIONAL_COUNT: &str = "a whole number, or \"off\"";
const DURATION: &str = "a duration: a string such as \"500ms\", \"10s\" or \"2m\"";
const OPTIONAL_DURATION: &str = "a duration such as \"500ms\", \"10s\" or \"2m\", or \"off\"";
const BOOL: &str = "true or false";
const PATH: &str = "a path starting with `/`, such as \"/metrics\"";
const FILE: &str = "a file path";
const ADDR: &str = "HOST:PORT, such as \"0.0.0.0:8080\"";
const OPTIONAL_ADDR: &str = "HOST:PORT, such as \"127.0.0.1:9090\", or \"off\"";
const URL: &str = "a URL such as \"redis://127.0.0.1:6379\"";
const STRINGS: &str = "a list of strings (in a variable: comma-separated)";
const OVERFLOW: &str = "one of \"terminate\", \"drop_oldest\", \"drop_newest\"";

/// The environment variable of a key: `WSBOOT_` and the key in capitals, dots
/// as underscores (`limits.max_message_size` → `WSBOOT_LIMITS_MAX_MESSAGE_SIZE`).
pub(crate) fn env_name(key: &str) -> String {
    format!("WSBOOT_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// Older or shorter names some variables also go by.
pub(crate) const ENV_ALIASES: &[(&str, &str)] = &[("WSBOOT_REDIS_URL", "broker.url")];

/// Variables with the `WSBOOT_` prefix that are not settings.
pub(crate) const ENV_NOT_SETTINGS: &[&str] = &["WSBOOT_CONFIG"];

pub(crate) fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

pub(crate) fn find_handler_key(name: &str) -> Option<&'static HandlerKey> {
    HANDLER_KEYS.iter().find(|k| k.name == name)
}

/// Stores a value read in the setting's form; `None` (not of the form) leaves it.
fn put<T>(slot: &mut T, value: Option<T>) -> Option<()> {
    *slot = value?;
    Some(())
}

fn tls(config: &mut ServerConfig) -> &mut TlsConfig {
    config.tls.get_or_insert_with(TlsConfig::empty)
}

/// Every server setting. The reference in `reference.md` lists the same keys.
pub(crate) static KEYS: &[Key] = &[
    Key {
        name: "addr",
        form: ADDR,
        set: |c, v, _| put(&mut c.addr, value::string(v).filter(|a| value::is_host_port(a))),
    },
    Key { name: "limits.max_message_size", form: SIZE, set: |c, v, _| put(&mut c.max_message_size, value::size(v)) },
    Key { name: "limits.max_frame_size", form: SIZE, set: |c, v, _| put(&mut c.max_frame_size, value::size(v)) },
    Key {
        name: "limits.queue_max_messages",
        form: COUNT,
        set: |c, v, _| put(&mut c.queue.max_messages, value::count(v)),
    },
    Key { name: "limits.queue_max_bytes", form: SIZE, set: |c, v, _| put(&mut c.queue.max_bytes, value::size(v)) },
    Key { name: "limits.read_buffer_size", form: SIZE, set: |c, v, _| put(&mut c.read_buffer_size, value::size(v)) },
    Key {
        name: "limits.max_connections",
        form: OPTIONAL_COUNT,
        set: |c, v, _| put(&mut c.max_connections, value::optional(v, value::count)),
    },
    Key {
        name: "limits.max_request_head_size",
        form: SIZE,
        set: |c, v, _| put(&mut c.max_request_head_size, value::size(v)),
    },
    Key { name: "limits.max_headers", form: COUNT, set: |c, v, _| put(&mut c.max_headers, value::count(v)) },
    Key {
        name: "timeouts.handshake",
        form: DURATION,
        set: |c, v, _| put(&mut c.handshake_timeout, value::duration(v)),
    },
    Key { name: "timeouts.close", form: DURATION, set: |c, v, _| put(&mut c.close_timeout, value::duration(v)) },
    Key { name: "timeouts.write", form: DURATION, set: |c, v, _| put(&mut c.write_timeout, value::duration(v)) },
    Key {
        name: "timeouts.ping_interval",
        form: OPTIONAL_DURATION,
        set: |c, v, _| put(&mut c.ping_interval, value::optional(v, value::duration)),
    },
    Key { name: "timeouts.pong", form: DURATION, set: |c, v, _| put(&mut c.pong_timeout, value::duration(v)) },
    Key {
        name: "timeouts.idle",
        form: OPTIONAL_DURATION,
        set: |c, v, _| put(&mut c.idle_timeout, value::optional(v, value::duration)),
    },
    Key {
        name: "timeouts.max_lifetime",
        form: OPTIONAL_DURATION,
        set: |c, v, _| put(&mut c.max_lifetime, value::optional(v, value::duration)),
    },
    Key { name: "shutdown.timeout", form: DURATION, set: |c, v, _| put(&mut c.shutdown_timeout, value::duration(v)) },
    Key {
        name: "shutdown.close_code",
        form: value::CLOSE_CODE_FORM,
        set: |c, v, _| put(&mut c.shutdown_status, value::close_code(v).map(default_shutdown_status)),
    },
    Key { name: "shutdown.drain_period", form: DURATION, set: |c, v, _| put(&mut c.drain_period, value::duration(v)) },
    Key { name: "shutdown.drain_batch", form: COUNT, set: |c, v, _| put(&mut c.drain_batch, value::count(v)) },
    Key {
        name: "tls.cert_file",
        form: FILE,
        set: |c, v, o| {
            let path = o.path(v)?;
            tls(c).set_cert_file(path);
            Some(())
        },
    },
    Key {
        name: "tls.key_file",
        form: FILE,
        set: |c, v, o| {
            let path = o.path(v)?;
            tls(c).set_key_file(path);
            Some(())
        },
    },
    Key { name: "http2.enabled", form: BOOL, set: |c, v, _| put(&mut c.http2_enabled, value::boolean(v)) },
    Key { name: "metrics.enabled", form: BOOL, set: |c, v, _| put(&mut c.metrics_enabled, value::boolean(v)) },
    Key {
        name: "metrics.path",
        form: PATH,
        set: |c, v, _| put(&mut c.metrics_path, value::string(v).filter(|p| value::is_route_path(p))),
    },
    Key { name: "health.enabled", form: BOOL, set: |c, v, _| put(&mut c.health_enabled, value::boolean(v)) },
    Key {
        name: "health.path",
        form: PATH,
        set: |c, v, _| put(&mut c.health_path, value::string(v).filter(|p| value::is_route_path(p))),
    },
    Key { name: "health.ready_enabled", form: BOOL, set: |c, v, _| put(&mut c.ready_enabled, value::boolean(v)) },
    Key {
        name: "health.ready_path",
        form: PATH,
        set: |c, v, _| put(&mut c.ready_path, value::string(v).filter(|p| value::is_route_path(p))),
    },
    Key {
        name: "management.addr",
        form: OPTIONAL_ADDR,
        set: |c, v, _| {
            put(&mut c.management_addr, value::optional(v, |v| value::string(v).filter(|a| value::is_host_port(a))))
        },
    },
    Key {
        name: "broker.url",
        form: URL,
        set: |c, v, _| put(&mut c.broker_url, value::string(v).filter(|u| value::is_url(u)).map(Some)),
    },
    Key { name: "deflate.enabled", form: BOOL, set: |c, v, _| put(&mut c.deflate.enabled, value::boolean(v)) },
    Key {
        name: "deflate.level",
        form: "a compression level from 0 to 9",
        set: |c, v, _| put(&mut c.deflate.level, value::count(v).filter(|l| *l <= 9).map(|l| l as u32)),
    },
    Key { name: "deflate.threshold", form: SIZE, set: |c, v, _| put(&mut c.deflate.threshold, value::size(v)) },
    Key {
        name: "deflate.context_takeover",
        form: BOOL,
        set: |c, v, _| put(&mut c.deflate.context_takeover, value::boolean(v)),
    },
    Key {
        name: "deflate.max_window_bits",
        form: "a window size in bits from 9 to 15",
        set: |c, v, _| {
            put(&mut c.deflate.max_window_bits, value::count(v).filter(|b| (9..=15).contains(b)).map(|b| b as u8))
        },
    },
];

/// Every per-handler setting.
pub(crate) static HANDLER_KEYS: &[HandlerKey] = &[
    HandlerKey {
        name: "max_message_size",
        form: SIZE,
        set: |h, v| put(&mut h.max_message_size, value::size(v).map(Some)),
    },
    HandlerKey { name: "max_frame_size", form: SIZE, set: |h, v| put(&mut h.max_frame_size, value::size(v).map(Some)) },
    HandlerKey {
        name: "allowed_origins",
        form: STRINGS,
        set: |h, v| put(&mut h.allowed_origins, value::strings(v).map(Some)),
    },
    HandlerKey {
        name: "subprotocols",
        form: STRINGS,
        set: |h, v| put(&mut h.subprotocols, value::strings(v).map(Some)),
    },
    HandlerKey { name: "deflate", form: BOOL, set: |h, v| put(&mut h.deflate, value::boolean(v).map(Some)) },
    HandlerKey { name: "overflow", form: OVERFLOW, set: |h, v| put(&mut h.overflow, value::overflow(v).map(Some)) },
    HandlerKey {
        name: "send_time_limit",
        form: DURATION,
        set: |h, v| put(&mut h.send_time_limit, value::duration(v).map(Some)),
    },
    HandlerKey {
        name: "queue_max_messages",
        form: COUNT,
        set: |h, v| put(&mut h.queue_max_messages, value::count(v).map(Some)),
    },
    HandlerKey {
        name: "queue_max_bytes",
        form: SIZE,
        set: |h, v| put(&mut h.queue_max_bytes, value::size(v).map(Some)),
    },
];
