//! Lua scripts run by their SHA1 digest (`EVALSHA`), loaded (`SCRIPT LOAD`)
//! on first use and again whenever Redis has forgotten them (a restart,
//! `SCRIPT FLUSH`). The history and presence scripts are such scripts: each
//! runs atomically in Redis.

use std::sync::OnceLock;

use redis::FromRedisValue;
use redis::aio::ConnectionManager;

/// A Lua script run by its SHA1 digest, which Redis reports when loading it.
#[derive(Debug)]
pub(crate) struct Script {
    source: &'static str,
    sha: OnceLock<String>,
}

impl Script {
    /// A script of `source`, loaded into Redis on first use.
    pub(crate) const fn new(source: &'static str) -> Self {
        Script { source, sha: OnceLock::new() }
    }

    /// Runs the script on the keys `keys` with `args`.
    pub(crate) async fn run<T: FromRedisValue>(
        &self,
        connection: &mut ConnectionManager,
        keys: &[String],
        args: &[&[u8]],
    ) -> redis::RedisResult<T> {
        let sha = match self.sha.get() {
            Some(sha) => sha.clone(),
            None => self.load(connection).await?,
        };
        match evalsha(&sha, keys, args).query_async(connection).await {
            Err(error) if error.code() == Some("NOSCRIPT") => {
                let sha = self.load(connection).await?;
                evalsha(&sha, keys, args).query_async(connection).await
            }
            result => result,
        }
    }

    async fn load(&self, connection: &mut ConnectionManager) -> redis::RedisResult<String> {
        let sha: String = redis::cmd("SCRIPT").arg("LOAD").arg(self.source).query_async(connection).await?;
        // The digest of a given source is the same on every Redis.
        Ok(self.sha.get_or_init(|| sha).clone())
    }
}

fn evalsha(sha: &str, keys: &[String], args: &[&[u8]]) -> redis::Cmd {
    let mut command = redis::cmd("EVALSHA");
    command.arg(sha).arg(keys.len()).arg(keys);
    for arg in args {
        command.arg(*arg);
    }
    command
}
