//! The typed message router: a service says which message types it handles and how, and the
//! router derives the rest — the queue's bindings, decoding with field paths, the rejection of
//! a body that does not decode or a type nobody routed, the batch's order.
//!
//! ```text
//! pub fn routes() -> Routes<Dunning> {
//!     Routes::new()
//!         .on::<ClaimOpened>()
//!         .on::<PaymentApplied>()
//!         .on::<DayOpened>()
//! }
//! runtime.consume(None, routes().serve(Arc::new(Dunning { .. })));
//! ```
//!
//! A service implements [`Consume`] once (what a batch locks, the per-batch state, what happens
//! after the batch) and [`On<T>`] once per message type it handles: the handler proper, and
//! optionally the key the message locks and a check that rejects it before anything is written.
//! For a type whose consecutive messages are stored together (invoicing's invoices, one
//! multi-row insert per run) it implements [`OnRun<T>`] and registers with [`Routes::on_run`].
//!
//! For each batch of new messages the router
//! 1. passes every message through the deployment's [`Screen`]s on its envelope (e.g. "unexpected
//!    source"), decodes it into its type (a failure is a [`Rejection`] with the field path), asks
//!    [`On::admit`] (e.g. "not a configured municipality") and the deployment's [`Admission`]s;
//! 2. calls [`Consume::begin`] once with the keys of every admitted message ([`Planned`]), so the
//!    service can lock them all in one order before any write — two replicas' batches on the same
//!    debtors then cannot deadlock;
//! 3. hands each admitted message, in delivery order, to its handler;
//! 4. calls [`Consume::finish`] with what was handled (e.g. recompute the changed debtors).
//!
//! The inbox, the outbox, dead letters and the ack after commit stay the consumer's
//! ([`crate::consumer`]); the router is the [`BatchHandler`] the consumer runs.

use crate::consumer::{BatchHandler, Effects, HandlerError, Inbound, Outcome, Subscription};
use crate::rejection::Rejection;
use restance_contracts::{Message, Subject};
use restance_kernel::Catalog;
use sea_orm::DatabaseTransaction;
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use tracing::Instrument as _;

/// What a service is, as a consumer: its name, what a batch locks, the batch's own state.
pub trait Consume: Send + Sync + Sized + 'static {
    /// The service name (`dunning`): the queue `<exchange>.<service>` and the rejection reasons.
    const SERVICE: &'static str;

    /// What a message is about, for the locks a batch takes first (e.g. `(municipality,
    /// debtor_id)`); `()` when the service locks nothing.
    type Key: Ord + Clone + Send + Sync + fmt::Debug + 'static;

    /// State the handlers of one batch share (the locks taken, a working set, "a new day was
    /// opened"); it may borrow the batch's transaction.
    type Batch<'t>: Send
    where
        Self: 't;

    /// The key a message locks, from whom it is about ([`Subject`]); none by default. A
    /// handler may answer otherwise for its type ([`On::key`]).
    fn key_of(&self, about: &dyn Subject) -> Option<Self::Key> {
        let _ = about;
        None
    }

    /// Rejects a message before the batch takes any lock, from whom it is about (e.g. a
    /// municipality this deployment does not serve); admits by default.
    fn admit_of(&self, about: &dyn Subject) -> Result<(), Rejection> {
        let _ = about;
        Ok(())
    }

    /// Before any handler: lock (or preload) what the batch's admitted messages name.
    fn begin<'t>(
        &'t self,
        tx: &'t DatabaseTransaction,
        planned: &Planned<'_, Self::Key>,
    ) -> impl Future<Output = Result<Self::Batch<'t>, HandlerError>> + Send;

    /// After every handler of the batch, still in its transaction: `handled` lists every
    /// message of the batch (rejected before its handler too) with its type, key and how it
    /// ended, in delivery order.
    fn finish<'t>(
        &'t self,
        tx: &'t DatabaseTransaction,
        batch: Self::Batch<'t>,
        handled: &[Handled<'_, Self::Key>],
        effects: &mut Effects,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send {
        let _ = (tx, batch, handled, effects);
        async { Ok(()) }
    }
}

/// `(municipality, debtor_id)` of a message about one debtor: the key most services lock
/// ([`Consume::key_of`]).
pub fn debtor_key(about: &dyn Subject) -> Option<(String, String)> {
    Some((
        about.municipality()?.to_owned(),
        about.debtor_id()?.to_owned(),
    ))
}

/// Refuses a message that names a municipality `catalog` does not configure — a message for
/// another deployment, or a typo upstream ([`Consume::admit_of`]).
pub fn configured_municipality(catalog: &Catalog, about: &dyn Subject) -> Result<(), Rejection> {
    match about.municipality() {
        Some(m) if catalog.municipality(m).is_none() => Err(Rejection::new(format!(
            "data.municipality: {m} is not a configured municipality"
        ))),
        _ => Ok(()),
    }
}

/// What one handler call sees: the batch's transaction, its shared state, the events to emit,
/// and the message's envelope (its `source` and `id`).
pub struct Cx<'c, 't, S: Consume> {
    /// The batch's transaction: every write goes here, and commits with the inbox entries.
    pub tx: &'t DatabaseTransaction,
    /// The batch's state, from [`Consume::begin`].
    pub batch: &'c mut S::Batch<'t>,
    /// Events to publish if the transaction commits (the outbox).
    pub effects: &'c mut Effects,
    /// The message being handled, as received (envelope metadata; `data` already decoded).
    pub inbound: &'c Inbound,
}

impl<S: Consume> fmt::Debug for Cx<'_, '_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cx")
            .field("message_type", &self.inbound.message_type())
            .field("id", &self.inbound.envelope.id)
            .finish_non_exhaustive()
    }
}

/// A service's handler for message type `T`.
pub trait On<T: Message + Subject>: Consume {
    /// The key `msg` locks ([`Consume::Key`]); by default [`Consume::key_of`].
    fn key(&self, msg: &T) -> Option<Self::Key> {
        self.key_of(msg)
    }

    /// Rejects a message before the batch takes any lock; by default [`Consume::admit_of`].
    fn admit(&self, msg: &T) -> Result<(), Rejection> {
        self.admit_of(msg)
    }

    /// Handles one message in the batch's transaction.
    fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        msg: T,
    ) -> impl Future<Output = Result<Outcome, HandlerError>> + Send;
}

/// A service's handler for runs of consecutive messages of type `T`, stored together.
pub trait OnRun<T: Message + Subject>: Consume {
    /// The key `msg` locks ([`Consume::Key`]); by default [`Consume::key_of`].
    fn key(&self, msg: &T) -> Option<Self::Key> {
        self.key_of(msg)
    }

    /// Rejects a message before the batch takes any lock; by default [`Consume::admit_of`].
    fn admit(&self, msg: &T) -> Result<(), Rejection> {
        self.admit_of(msg)
    }

    /// Handles consecutive admitted messages of the batch; one outcome each, in order.
    fn on_run<'t>(
        &self,
        tx: &'t DatabaseTransaction,
        batch: &mut Self::Batch<'t>,
        effects: &mut Effects,
        run: Vec<(&Inbound, T)>,
    ) -> impl Future<Output = Result<Vec<Outcome>, HandlerError>> + Send;
}

/// The admitted messages of a batch, before any handler runs: their types and keys, and each
/// decoded message for a service that must look closer ([`PlannedMessage::get`]).
#[derive(Debug)]
pub struct Planned<'b, K> {
    messages: Vec<PlannedMessage<'b, K>>,
}

impl<K: Ord + Clone> Planned<'_, K> {
    /// Every admitted message, in delivery order.
    pub fn messages(&self) -> &[PlannedMessage<'_, K>] {
        &self.messages
    }

    /// The distinct keys, in key order (the order to lock them in).
    pub fn keys(&self) -> Vec<K> {
        let set: std::collections::BTreeSet<&K> = self
            .messages
            .iter()
            .filter_map(|m| m.key.as_ref())
            .collect();
        set.into_iter().cloned().collect()
    }

    /// The distinct keys of the messages of the given types, in key order.
    pub fn keys_of(&self, types: &[&str]) -> Vec<K> {
        let set: std::collections::BTreeSet<&K> = self
            .messages
            .iter()
            .filter(|m| types.contains(&m.message_type))
            .filter_map(|m| m.key.as_ref())
            .collect();
        set.into_iter().cloned().collect()
    }

    /// True when a message of type `T` is in the batch.
    pub fn contains<T: Message>(&self) -> bool {
        self.messages.iter().any(|m| m.message_type == T::TYPE)
    }
}

/// One admitted message of a batch.
pub struct PlannedMessage<'b, K> {
    /// Its type.
    pub message_type: &'static str,
    /// The message as received (envelope metadata such as its `source`).
    pub inbound: &'b Inbound,
    /// The key its handler declared.
    pub key: Option<K>,
    value: Value,
}

impl<K> PlannedMessage<'_, K> {
    /// The decoded message, if it is a `T`.
    pub fn get<T: Message + 'static>(&self) -> Option<&T> {
        self.value.as_any().downcast_ref::<T>()
    }

    /// Whom the message is about.
    pub fn about(&self) -> &dyn Subject {
        &*self.value
    }
}

impl<K: fmt::Debug> fmt::Debug for PlannedMessage<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlannedMessage")
            .field("message_type", &self.message_type)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// One message of the batch and how it ended, for [`Consume::finish`].
#[derive(Debug, Clone)]
pub struct Handled<'b, K> {
    /// Its type, as received.
    pub message_type: &'b str,
    /// The key its handler declared (none when it did not decode).
    pub key: Option<K>,
    /// Its outcome was [`Outcome::Done`].
    pub done: bool,
    /// Its outcome was [`Outcome::Rejected`] (by the router or its handler).
    pub rejected: bool,
}

impl<'b, K> Handled<'b, K> {
    fn new(message_type: &'b str, key: Option<K>, outcome: &Outcome) -> Self {
        Self {
            message_type,
            key,
            done: matches!(outcome, Outcome::Done),
            rejected: matches!(outcome, Outcome::Rejected(_)),
        }
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A decoded message, its type erased: what it is about stays readable.
trait Payload: Subject + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<T: Subject + Send + Sync + 'static> Payload for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

type Value = Box<dyn Payload>;

/// How a registered type is decoded and admitted, its concrete type erased.
trait Decoder<S: Consume>: Send + Sync {
    fn message_type(&self) -> &'static str;
    fn decode(&self, svc: &S, msg: &Inbound) -> Result<(Option<S::Key>, Value), Rejection>;
}

/// A type handled one message at a time ([`On<T>`]).
trait OneRoute<S: Consume>: Decoder<S> {
    fn handle<'a, 'c: 'a, 't: 'c>(
        &'a self,
        svc: &'a S,
        cx: &'a mut Cx<'c, 't, S>,
        value: Value,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>>;
}

/// A type handled in runs of consecutive messages ([`OnRun<T>`]).
trait RunRoute<S: Consume>: Decoder<S> {
    fn handle_run<'a, 't: 'a>(
        &'a self,
        svc: &'a S,
        tx: &'t DatabaseTransaction,
        batch: &'a mut S::Batch<'t>,
        effects: &'a mut Effects,
        run: Vec<(&'a Inbound, Value)>,
    ) -> BoxFuture<'a, Result<Vec<Outcome>, HandlerError>>;
}

/// One registered message type.
enum Route<S: Consume> {
    One(Box<dyn OneRoute<S>>),
    Run(Box<dyn RunRoute<S>>),
}

impl<S: Consume> Route<S> {
    fn decoder(&self) -> &dyn Decoder<S> {
        match self {
            Route::One(r) => r.as_ref(),
            Route::Run(r) => r.as_ref(),
        }
    }

    fn message_type(&self) -> &'static str {
        self.decoder().message_type()
    }
}

struct Single<T>(PhantomData<fn() -> T>);
struct Run<T>(PhantomData<fn() -> T>);

/// The decoded message back in its type. The router stores each route's value under that
/// route, so a mismatch is a bug in the router: the batch is retried, nothing panics.
fn take<T: 'static>(value: Value) -> Result<T, HandlerError> {
    value
        .into_any()
        .downcast::<T>()
        .map(|v| *v)
        .map_err(|_| bookkeeping("a routed value of another type"))
}

impl<S, T> Decoder<S> for Single<T>
where
    S: On<T>,
    T: Message + Subject + Send + Sync + 'static,
{
    fn message_type(&self) -> &'static str {
        T::TYPE
    }

    fn decode(&self, svc: &S, msg: &Inbound) -> Result<(Option<S::Key>, Value), Rejection> {
        let value: T = msg.decode()?;
        On::admit(svc, &value)?;
        Ok((On::key(svc, &value), Box::new(value)))
    }
}

impl<S, T> OneRoute<S> for Single<T>
where
    S: On<T>,
    T: Message + Subject + Send + Sync + 'static,
{
    fn handle<'a, 'c: 'a, 't: 'c>(
        &'a self,
        svc: &'a S,
        cx: &'a mut Cx<'c, 't, S>,
        value: Value,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async move { svc.on(cx, take::<T>(value)?).await })
    }
}

impl<S, T> Decoder<S> for Run<T>
where
    S: OnRun<T>,
    T: Message + Subject + Send + Sync + 'static,
{
    fn message_type(&self) -> &'static str {
        T::TYPE
    }

    fn decode(&self, svc: &S, msg: &Inbound) -> Result<(Option<S::Key>, Value), Rejection> {
        let value: T = msg.decode()?;
        OnRun::admit(svc, &value)?;
        Ok((OnRun::key(svc, &value), Box::new(value)))
    }
}

impl<S, T> RunRoute<S> for Run<T>
where
    S: OnRun<T>,
    T: Message + Subject + Send + Sync + 'static,
{
    fn handle_run<'a, 't: 'a>(
        &'a self,
        svc: &'a S,
        tx: &'t DatabaseTransaction,
        batch: &'a mut S::Batch<'t>,
        effects: &'a mut Effects,
        run: Vec<(&'a Inbound, Value)>,
    ) -> BoxFuture<'a, Result<Vec<Outcome>, HandlerError>> {
        Box::pin(async move {
            let run = run
                .into_iter()
                .map(|(m, v)| Ok((m, take::<T>(v)?)))
                .collect::<Result<Vec<(&Inbound, T)>, HandlerError>>()?;
            svc.on_run(tx, batch, effects, run).await
        })
    }
}

/// A service's message types and which handler each goes to: the queue's bindings. Built once
/// per service (`handlers::routes()`), then [`Routes::serve`]d by the service's state.
pub struct Routes<S: Consume> {
    routes: BTreeMap<&'static str, Route<S>>,
}

impl<S: Consume> fmt::Debug for Routes<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Routes")
            .field("service", &S::SERVICE)
            .field("types", &self.routes.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<S: Consume> Default for Routes<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Consume> Routes<S> {
    /// No routes yet.
    pub fn new() -> Self {
        Self {
            routes: BTreeMap::new(),
        }
    }

    /// Routes `T` to the service's [`On<T>`] handler, one message at a time.
    ///
    /// # Panics
    /// When `T` is routed twice: a wiring mistake, found by the service's first test.
    #[must_use]
    pub fn on<T>(self) -> Self
    where
        S: On<T>,
        T: Message + Subject + Send + Sync + 'static,
    {
        self.add(Route::One(Box::new(Single::<T>(PhantomData))))
    }

    /// Routes `T` to the service's [`OnRun<T>`] handler, consecutive messages together.
    ///
    /// # Panics
    /// When `T` is routed twice.
    #[must_use]
    pub fn on_run<T>(self) -> Self
    where
        S: OnRun<T>,
        T: Message + Subject + Send + Sync + 'static,
    {
        self.add(Route::Run(Box::new(Run::<T>(PhantomData))))
    }

    fn add(mut self, route: Route<S>) -> Self {
        let t = route.message_type();
        assert!(
            self.routes.insert(t, route).is_none(),
            "{}: {t} is routed twice",
            S::SERVICE
        );
        self
    }

    /// The message types routed, i.e. the queue's bindings, in name order.
    pub fn message_types(&self) -> Vec<String> {
        self.routes.keys().map(|t| (*t).to_owned()).collect()
    }

    /// The queue `<exchange>.<service>[.<purpose>]` bound to every routed type.
    pub fn subscription(&self, purpose: Option<&str>) -> Subscription {
        Subscription {
            service: S::SERVICE.to_owned(),
            purpose: purpose.map(str::to_owned),
            message_types: self.message_types(),
        }
    }

    /// The [`BatchHandler`] of the queue: these routes to `service`'s handlers.
    pub fn serve(self, service: Arc<S>) -> Router<S> {
        Router {
            service,
            routes: self,
            screens: Vec::new(),
            admissions: Vec::new(),
        }
    }
}

/// A rule every message of a service passes before its body is decoded, on what the envelope
/// says (e.g. who may send its type): it admits the message or rejects it with a reason. The
/// runtime installs the deployment's screens (the senders allowed per type) on every router.
pub type Screen = Arc<dyn Fn(&Inbound) -> Result<(), Rejection> + Send + Sync>;

/// A rule every decoded message of a service passes before the service sees it, whatever the
/// service: given the message as delivered and its decoded value (downcast it to the type the
/// rule is about), it admits the message or rejects it with a reason. The runtime installs the
/// deployment's rules (e.g. how far ahead a business day may be opened) on every router.
pub type Admission = Arc<dyn Fn(&Inbound, &dyn Any) -> Result<(), Rejection> + Send + Sync>;

/// A service's routes served by its state: the [`BatchHandler`] of its queue.
pub struct Router<S: Consume> {
    service: Arc<S>,
    routes: Routes<S>,
    screens: Vec<Screen>,
    admissions: Vec<Admission>,
}

impl<S: Consume> fmt::Debug for Router<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

impl<S: Consume> Router<S> {
    /// The routes.
    pub fn routes(&self) -> &Routes<S> {
        &self.routes
    }

    /// The queue `<exchange>.<service>[.<purpose>]` bound to every routed type.
    pub fn subscription(&self, purpose: Option<&str>) -> Subscription {
        self.routes.subscription(purpose)
    }

    /// The service the router hands messages to.
    pub fn service(&self) -> &Arc<S> {
        &self.service
    }

    /// Adds a rule every message of a routed type passes before it is decoded ([`Screen`]): a
    /// message it rejects is never decoded, admitted or handled.
    pub fn screening(mut self, rule: Screen) -> Self {
        self.screens.push(rule);
        self
    }

    /// Adds a rule every decoded message passes after the service's own admission and before
    /// any lock ([`Admission`]).
    pub fn admitting(mut self, rule: Admission) -> Self {
        self.admissions.push(rule);
        self
    }
}

/// A batch message after decoding: admitted with its route, or rejected.
enum Step<'r, S: Consume> {
    Rejected(Rejection),
    Admitted(&'r Route<S>),
}

/// The router's own bookkeeping went wrong (never expected): the batch is retried.
fn bookkeeping(what: &str) -> HandlerError {
    HandlerError::Other(format!("message router: {what}"))
}

impl<S: Consume> BatchHandler for Router<S> {
    async fn handle(
        &self,
        tx: &DatabaseTransaction,
        batch: &[Inbound],
        effects: &mut Effects,
    ) -> Result<Vec<Outcome>, HandlerError> {
        let svc = &*self.service;
        // 1. Decode and admit everything first, so that the service can lock before any write.
        let mut steps: Vec<Step<'_, S>> = Vec::with_capacity(batch.len());
        let mut planned = Planned {
            messages: Vec::with_capacity(batch.len()),
        };
        for msg in batch {
            let Some(route) = self.routes.routes.get(msg.message_type()) else {
                steps.push(Step::Rejected(Rejection::new(format!(
                    "{} does not handle {}",
                    S::SERVICE,
                    msg.message_type()
                ))));
                continue;
            };
            if let Err(rejection) = self.screens.iter().try_for_each(|screen| screen(msg)) {
                steps.push(Step::Rejected(rejection));
                continue;
            }
            let decoded = route.decoder().decode(svc, msg).and_then(|(key, value)| {
                for rule in &self.admissions {
                    rule(msg, (*value).as_any())?;
                }
                Ok((key, value))
            });
            match decoded {
                Ok((key, value)) => {
                    steps.push(Step::Admitted(route));
                    planned.messages.push(PlannedMessage {
                        message_type: route.message_type(),
                        inbound: msg,
                        key,
                        value,
                    });
                }
                Err(rejection) => steps.push(Step::Rejected(rejection)),
            }
        }
        // 2. Locks, preloads.
        let mut state = svc.begin(tx, &planned).await?;

        // 3. The handlers, in delivery order; runs of consecutive messages together.
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(batch.len());
        let mut handled: Vec<Handled<'_, S::Key>> = Vec::with_capacity(batch.len());
        let mut admitted = planned.messages.into_iter();
        let mut i = 0;
        while i < batch.len() {
            let route = match &steps[i] {
                Step::Rejected(r) => {
                    let outcome = Outcome::Rejected(r.clone());
                    handled.push(Handled::new(batch[i].message_type(), None, &outcome));
                    outcomes.push(outcome);
                    i += 1;
                    continue;
                }
                Step::Admitted(route) => *route,
            };
            if let Route::Run(route) = route {
                let mut run = Vec::new();
                let mut keys = Vec::new();
                while i < batch.len()
                    && matches!(&steps[i], Step::Admitted(r) if r.message_type() == route.message_type())
                {
                    let Some(p) = admitted.next() else {
                        return Err(bookkeeping("fewer decoded messages than admitted"));
                    };
                    keys.push(p.key);
                    run.push((&batch[i], p.value));
                    i += 1;
                }
                let n = run.len();
                // A run is one call for many messages: it runs in its first message's span;
                // what it emits for one message carries that one's trace ([`Effects::emit_for`]).
                let span = run
                    .first()
                    .map_or_else(tracing::Span::none, |(m, _)| m.span.clone());
                let results = route
                    .handle_run(svc, tx, &mut state, effects, run)
                    .instrument(span)
                    .await?;
                if results.len() != n {
                    return Err(HandlerError::Other(format!(
                        "{}: the {} handler returned {} outcomes for {n} messages",
                        S::SERVICE,
                        route.message_type(),
                        results.len()
                    )));
                }
                for (key, outcome) in keys.into_iter().zip(results) {
                    handled.push(Handled::new(route.message_type(), key, &outcome));
                    outcomes.push(outcome);
                }
                continue;
            }
            let (Route::One(route), Some(p)) = (route, admitted.next()) else {
                return Err(bookkeeping("fewer decoded messages than admitted"));
            };
            let mut cx = Cx {
                tx,
                batch: &mut state,
                effects,
                inbound: &batch[i],
            };
            let span = batch[i].span.clone();
            let outcome = route.handle(svc, &mut cx, p.value).instrument(span).await?;
            handled.push(Handled::new(route.message_type(), p.key, &outcome));
            outcomes.push(outcome);
            i += 1;
        }
        // 4. After the batch.
        svc.finish(tx, state, &handled, effects).await?;
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests;
