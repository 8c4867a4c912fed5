//! Beans built at startup from other beans: `#[bean]` provider fns (Spring's
//! `@Bean` methods that take other beans as parameters). Once the values
//! registered in code are in the context, every provider runs once, after the
//! providers of the beans it takes; providers that need each other are a
//! startup error that lists the cycle.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use crate::context::AppContext;
use crate::error::Error;
use crate::location::SourceLocation;
use crate::problem::ConfigProblem;

/// A bean type as the macro names it: its `TypeId` and its name.
pub type BeanType = (fn() -> TypeId, fn() -> &'static str);

/// What `#[bean]` registers at link time: plain, const-constructible data.
/// Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct BeanDescriptor {
    /// The provider fn's path, e.g. `app::pool`.
    pub provider: &'static str,
    /// The type it makes.
    pub makes: BeanType,
    /// The bean types its parameters take (built first when a provider makes them).
    pub takes: &'static [BeanType],
    /// Looks the parameters up, calls the provider.
    pub build: fn(&AppContext) -> Result<ProvidedBean, Error>,
    pub location: SourceLocation,
}

inventory::collect!(BeanDescriptor);

/// The value a provider made, before it joins the context. Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct ProvidedBean(pub(crate) Arc<dyn Any + Send + Sync>);

impl ProvidedBean {
    /// `value`, shared as an `Arc<T>`.
    pub fn new<T: Send + Sync + 'static>(value: T) -> Self {
        ProvidedBean::shared(Arc::new(value))
    }

    /// A value already shared, or a trait object, looked up as `T`.
    pub fn shared<T: ?Sized + Send + Sync + 'static>(value: Arc<T>) -> Self {
        ProvidedBean(Arc::new(value))
    }
}

/// `context` with every `#[bean]` of the program added, each built after the
/// providers of what it takes. Fails if two providers make one type, a
/// provider makes a type registered in code, providers form a cycle, or a
/// provider's parameter has no bean.
pub(crate) fn provide(mut context: AppContext) -> Result<AppContext, Error> {
    let mut providers: Vec<&BeanDescriptor> = inventory::iter::<BeanDescriptor>.into_iter().collect();
    providers.sort_by_key(|p| (p.provider, p.location.file, p.location.line));
    let mut makers: HashMap<TypeId, usize> = HashMap::new();
    let mut problems = Vec::new();
    for (index, provider) in providers.iter().enumerate() {
        let (id, name) = ((provider.makes.0)(), (provider.makes.1)());
        if let Some(&first) = makers.get(&id) {
            let first = providers[first];
            problems.push(format!(
                "two bean providers make `{name}`: {} and {}; keep one",
                described(first),
                described(provider)
            ));
        } else if context.contains_id(id) {
            problems.push(format!(
                "bean provider {} makes `{name}`, which is also registered in code; keep one",
                described(provider)
            ));
        } else {
            makers.insert(id, index);
        }
    }
    if !problems.is_empty() {
        return Err(Error::config(problems.into_iter().map(ConfigProblem::new)));
    }
    for index in order(&providers, &makers)? {
        let provider = providers[index];
        match (provider.build)(&context) {
            Ok(bean) => {
                let (id, name) = ((provider.makes.0)(), (provider.makes.1)());
                context = context.with_bean(id, name, bean.0, provider.location);
            }
            Err(error) => problems.push(format!("bean provider {}: {error}", described(provider))),
        }
    }
    if problems.is_empty() { Ok(context) } else { Err(Error::config(problems.into_iter().map(ConfigProblem::new))) }
}

fn described(provider: &BeanDescriptor) -> String {
    format!("`{}` (#[bean] at {})", provider.provider, provider.location)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    New,
    Visiting,
    Done,
}

/// The providers, each after those making what it takes (depth first); a
/// provider met again while its own dependencies are visited closes a cycle.
fn order(providers: &[&BeanDescriptor], makers: &HashMap<TypeId, usize>) -> Result<Vec<usize>, Error> {
    let mut marks = vec![Mark::New; providers.len()];
    let mut order = Vec::with_capacity(providers.len());
    let mut path = Vec::new();
    for start in 0..providers.len() {
        if let Err(cycle) = visit(start, providers, makers, &mut marks, &mut path, &mut order) {
            return Err(Error::config([ConfigProblem::new(cycle_message(&cycle, providers))]));
        }
    }
    Ok(order)
}

fn visit(
    index: usize,
    providers: &[&BeanDescriptor],
    makers: &HashMap<TypeId, usize>,
    marks: &mut [Mark],
    path: &mut Vec<usize>,
    order: &mut Vec<usize>,
) -> Result<(), Vec<usize>> {
    match marks[index] {
        Mark::Done => return Ok(()),
        Mark::Visiting => {
            let from = path.iter().position(|&p| p == index).unwrap_or(0);
            let mut cycle = path[from..].to_vec();
            cycle.push(index);
            return Err(cycle);
        }
        Mark::New => {}
    }
    marks[index] = Mark::Visiting;
    path.push(index);
    for taken in providers[index].takes {
        if let Some(&maker) = makers.get(&(taken.0)()) {
            visit(maker, providers, makers, marks, path, order)?;
        }
    }
    path.pop();
    marks[index] = Mark::Done;
    order.push(index);
    Ok(())
}

/// "`a::pool` takes `a::Config`, made by `a::config`, which takes `a::Pool`,
/// made by `a::pool`".
fn cycle_message(cycle: &[usize], providers: &[&BeanDescriptor]) -> String {
    let mut message = format!("bean providers form a cycle: `{}`", providers[cycle[0]].provider);
    for pair in cycle.windows(2) {
        let maker = providers[pair[1]];
        message.push_str(&format!(" takes `{}`, made by `{}`, which", (maker.makes.1)(), maker.provider));
    }
    message.truncate(message.len() - ", which".len());
    message.push_str("; build one of them in code and register it with `.bean(...)`");
    message
}
