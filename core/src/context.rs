//! [`AppContext`]: the values an application registers once (a database pool,
//! its configuration, a client), shared by type with every factory, plugin and
//! session of a server (Spring's `ApplicationContext`, axum's `State`).
//!
//! [`Beans`] collects them before the server starts; the server turns them into
//! one immutable [`AppContext`] with its [`Hub`] at startup, and
//! [`FromContext`] is how a factory parameter is looked up in it.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::broker::LocalBroker;
use crate::error::{Error, ErrorKind};
use crate::hub::Hub;
use crate::location::SourceLocation;
use crate::problem::ConfigProblem;

/// One registered value: an `Arc<T>` behind `Any`, with what errors name.
#[derive(Clone)]
struct Bean {
    type_id: TypeId,
    type_name: &'static str,
    /// An `Arc<T>`, so `T` may be unsized (`dyn Trait`).
    value: Arc<dyn Any + Send + Sync>,
    location: SourceLocation,
}

/// The values an application registers in code, before the server starts
/// (`ServerBuilder::bean`, `App::bean`). At most one value per type.
#[derive(Clone, Default)]
pub struct Beans {
    beans: Vec<Bean>,
}

impl Beans {
    /// No values yet.
    pub fn new() -> Self {
        Beans::default()
    }

    /// Registers `value`, shared as an `Arc<T>`.
    #[track_caller]
    pub fn add<T: Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        self.add_shared(Arc::new(value))
    }

    /// Registers a value that is already shared, or a trait object
    /// (`Arc<dyn TokenStore>`), looked up as `T`.
    #[track_caller]
    pub fn add_shared<T: ?Sized + Send + Sync + 'static>(&mut self, value: Arc<T>) -> &mut Self {
        self.beans.push(Bean {
            type_id: TypeId::of::<T>(),
            type_name: type_name::<T>(),
            value: Arc::new(value),
            location: SourceLocation::caller(),
        });
        self
    }

    /// Moves every value of `other` in, after these.
    pub fn merge(&mut self, other: Beans) {
        self.beans.extend(other.beans);
    }

    /// Number of values registered.
    pub fn len(&self) -> usize {
        self.beans.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.beans.is_empty()
    }
}

impl fmt::Debug for Beans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.beans.iter().map(|b| b.type_name)).finish()
    }
}

/// The application context of a running server: every value registered with
/// `.bean(...)`, one per type, and the server's [`Hub`]. Built once at startup,
/// immutable after; cheap to clone (one reference count).
///
/// Factories get its values by parameter type (`&T`, `Arc<T>`, `Hub`,
/// `AppContext`, see [`FromContext`]); handler callbacks reach it through
/// [`Session::context`](crate::Session::context), plugins through
/// [`ServerInfo::context`](crate::ServerInfo::context).
///
/// ```
/// use wsboot_core::{AppContext, Beans};
///
/// struct Greeting(&'static str);
///
/// let mut beans = Beans::new();
/// beans.add(Greeting("hello"));
/// let context = AppContext::from_beans(beans).unwrap();
/// assert_eq!(context.get::<Greeting>().unwrap().0, "hello");
/// let missing = context.require::<u32>().unwrap_err().to_string();
/// assert!(missing.contains("no bean of type `u32`"), "{missing}");
/// ```
#[derive(Clone)]
pub struct AppContext {
    inner: Arc<Inner>,
}

struct Inner {
    hub: Hub,
    beans: HashMap<TypeId, Bean>,
}

impl AppContext {
    /// A context of `beans` with a hub of its own (one node): for tests of
    /// factories and plugins. A server builds its context with its hub.
    pub fn from_beans(beans: Beans) -> Result<Self, Error> {
        AppContext::build(beans, Hub::new(Arc::new(LocalBroker::new())))
    }

    /// The context of a server: `beans`, and `hub` (also registered as a bean,
    /// so `&Hub` and `Arc<Hub>` work as parameters). Fails if two values have
    /// one type, naming both registrations.
    pub(crate) fn build(beans: Beans, hub: Hub) -> Result<Self, Error> {
        let mut map: HashMap<TypeId, Bean> = HashMap::new();
        let mut problems = Vec::new();
        for bean in beans.beans {
            if let Some(first) = map.get(&bean.type_id) {
                problems.push(ConfigProblem::new(format!(
                    "two beans of type `{}`: registered at {} and at {}; register one value per type \
                     (wrap one in a type of its own to have both)",
                    bean.type_name, first.location, bean.location
                )));
            } else {
                map.insert(bean.type_id, bean);
            }
        }
        if !problems.is_empty() {
            return Err(Error::config(problems));
        }
        let mut beans = Beans::new();
        beans.add(hub.clone());
        for bean in beans.beans {
            map.entry(bean.type_id).or_insert(bean);
        }
        Ok(AppContext { inner: Arc::new(Inner { hub, beans: map }) })
    }

    /// The value registered for `T`, if any.
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let bean = self.inner.beans.get(&TypeId::of::<T>())?;
        bean.value.downcast_ref::<Arc<T>>().cloned()
    }

    /// The value registered for `T`, or a configuration error naming the type
    /// and the types that are registered.
    pub fn require<T: ?Sized + Send + Sync + 'static>(&self) -> Result<Arc<T>, Error> {
        self.get::<T>().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "no bean of type `{}` is registered (registered: {}); register one with \
                     `App::bean` or `ServerBuilder::bean`",
                    type_name::<T>(),
                    self.type_names().iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    /// Whether a value is registered for the type `id`.
    pub(crate) fn contains_id(&self, id: TypeId) -> bool {
        self.inner.beans.contains_key(&id)
    }

    /// This context and one more bean (made by a `#[bean]` provider at startup).
    pub(crate) fn with_bean(
        &self,
        type_id: TypeId,
        type_name: &'static str,
        value: Arc<dyn Any + Send + Sync>,
        location: SourceLocation,
    ) -> Self {
        let mut beans = self.inner.beans.clone();
        beans.insert(type_id, Bean { type_id, type_name, value, location });
        AppContext { inner: Arc::new(Inner { hub: self.inner.hub.clone(), beans }) }
    }

    /// Whether a value is registered for `T`.
    pub fn contains<T: ?Sized + 'static>(&self) -> bool {
        self.inner.beans.contains_key(&TypeId::of::<T>())
    }

    /// The server's hub: publish to topics and users from anywhere.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The types registered, sorted.
    pub fn type_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.inner.beans.values().map(|b| b.type_name).collect();
        names.sort_unstable();
        names
    }
}

impl Default for AppContext {
    /// No values, and a hub of its own.
    fn default() -> Self {
        AppContext::from_beans(Beans::new()).expect("no beans, no duplicates")
    }
}

impl fmt::Debug for AppContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppContext").field("beans", &self.type_names()).finish()
    }
}

/// What a factory parameter can be: looked up in the [`AppContext`] once, when
/// the server starts (bevy's system parameters, axum's `FromRef`).
///
/// Implemented for `Arc<T>` (the bean of type `T`), `Option<Arc<T>>` (the bean
/// if registered), [`Hub`] and [`AppContext`]; a `&T` parameter borrows the
/// bean of type `T`. Implement it for a type of your own to derive it from the
/// beans, as axum's `FromRef` derives a sub-state:
///
/// ```
/// use std::sync::Arc;
/// use wsboot_core::{AppContext, Beans, Error, FromContext};
///
/// struct Settings { motd: String }
///
/// /// The message of the day, cut out of the settings.
/// #[derive(Clone)]
/// struct Motd(String);
///
/// impl FromContext for Motd {
///     fn from_context(context: &AppContext) -> Result<Self, Error> {
///         Ok(Motd(context.require::<Settings>()?.motd.clone()))
///     }
/// }
///
/// let mut beans = Beans::new();
/// beans.add(Settings { motd: "welcome".into() });
/// let context = AppContext::from_beans(beans).unwrap();
/// assert_eq!(Motd::from_context(&context).unwrap().0, "welcome");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a factory parameter",
    label = "not found in the application context by this type",
    note = "take a bean registered with `.bean(value)` as `&{Self}` or `Arc<{Self}>`; `Hub`, `AppContext` and `Option<Arc<T>>` work too, or implement `wsboot::FromContext` for `{Self}`"
)]
pub trait FromContext: Clone + Send + Sync + Sized + 'static {
    /// The value for a parameter of this type, or why there is none.
    fn from_context(context: &AppContext) -> Result<Self, Error>;
}

impl<T: ?Sized + Send + Sync + 'static> FromContext for Arc<T> {
    fn from_context(context: &AppContext) -> Result<Self, Error> {
        context.require::<T>()
    }
}

impl<T: ?Sized + Send + Sync + 'static> FromContext for Option<Arc<T>> {
    fn from_context(context: &AppContext) -> Result<Self, Error> {
        Ok(context.get::<T>())
    }
}

impl FromContext for Hub {
    fn from_context(context: &AppContext) -> Result<Self, Error> {
        Ok(context.hub().clone())
    }
}

impl FromContext for AppContext {
    fn from_context(context: &AppContext) -> Result<Self, Error> {
        Ok(context.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Store: Send + Sync {
        fn name(&self) -> &str;
    }

    struct Memory;

    impl Store for Memory {
        fn name(&self) -> &str {
            "memory"
        }
    }

    #[test]
    fn values_by_type_trait_objects_and_the_hub() {
        let mut beans = Beans::new();
        beans.add(7u32).add_shared::<dyn Store>(Arc::new(Memory));
        let context = AppContext::from_beans(beans).unwrap();
        assert_eq!(*context.get::<u32>().unwrap(), 7);
        assert_eq!(context.get::<dyn Store>().unwrap().name(), "memory");
        assert!(context.get::<u64>().is_none() && context.contains::<Hub>());
        assert_eq!(<Option<Arc<u64>>>::from_context(&context).unwrap(), None);
        let hub = Hub::from_context(&context).unwrap();
        assert!(Arc::ptr_eq(&hub.inner, &context.hub().inner));
    }

    #[test]
    fn two_values_of_one_type_name_both_places() {
        let mut beans = Beans::new();
        beans.add(1u32);
        beans.add(2u32);
        let error = AppContext::from_beans(beans).unwrap_err().to_string();
        assert!(error.contains("two beans of type `u32`"), "{error}");
        assert_eq!(error.matches("context.rs:").count(), 2, "{error}");
    }

    #[test]
    fn a_missing_type_is_named_with_what_is_there() {
        let error = Arc::<String>::from_context(&AppContext::default()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        let message = error.to_string();
        assert!(message.contains("no bean of type `alloc::string::String`"), "{message}");
        assert!(message.contains("registered: `wsboot_core::hub::Hub`"), "{message}");
    }
}
