//! [`TokenStore`]: who each bearer token belongs to.

use std::collections::HashMap;

/// The users admitted, by token: a bean, built from `--token NAME:SECRET`
/// options and injected by parameter type.
#[derive(Debug, Default)]
pub struct TokenStore {
    users: HashMap<String, String>,
}

impl TokenStore {
    /// Parses `NAME:SECRET` pairs. Fails on a pair without a name or a
    /// secret, on a secret given twice, and when there is no pair at all
    /// (a service nobody can use).
    pub fn parse<S: AsRef<str>>(pairs: &[S]) -> Result<TokenStore, String> {
        let mut users = HashMap::new();
        for pair in pairs {
            let pair = pair.as_ref();
            let (name, secret) = pair
                .split_once(':')
                .filter(|(name, secret)| !name.is_empty() && !secret.is_empty())
                .ok_or_else(|| format!("--token takes NAME:SECRET, not `{pair}`"))?;
            if users.insert(secret.to_owned(), name.to_owned()).is_some() {
                return Err(format!("the secret of `{name}` is given twice: each token must be unique"));
            }
        }
        if users.is_empty() {
            return Err("no tokens: give at least one --token NAME:SECRET (e.g. --token alice:s3cret)".to_owned());
        }
        Ok(TokenStore { users })
    }

    /// The user that `token` belongs to.
    pub fn user(&self, token: &str) -> Option<&str> {
        self.users.get(token).map(String::as_str)
    }

    /// Whether `name` is a user of the service.
    pub fn has_user(&self, name: &str) -> bool {
        self.users.values().any(|user| user == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_and_refuses_malformed_ones() {
        let store = TokenStore::parse(&["alice:s3cret", "bob:a:b"]).unwrap();
        assert_eq!(store.user("s3cret"), Some("alice"));
        assert_eq!(store.user("a:b"), Some("bob"), "a secret may contain `:`");
        assert!(store.has_user("bob") && !store.has_user("s3cret"));
        assert!(TokenStore::parse(&["alice"]).unwrap_err().contains("NAME:SECRET"));
        assert!(TokenStore::parse(&[":x"]).is_err());
        assert!(TokenStore::parse(&["a:x", "b:x"]).unwrap_err().contains("twice"));
        assert!(TokenStore::parse::<&str>(&[]).unwrap_err().contains("no tokens"));
    }
}
