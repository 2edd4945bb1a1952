use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use rand::rngs::SmallRng;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio::task::LocalSet;

use tokio::task::JoinError;
use tokio::time::{sleep, sleep_until, Duration, Instant, Sleep};

use crate::world::World;

use super::Result;

// To support re-creation, we need to store a factory of the future that
// represents the software. This is somewhat annoying in that it requires
// boxxing to avoid generics.
type Software<'a> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result>>> + 'a>;

/// Runtime kinds.
pub enum Kind<'a> {
    /// A runtime for executing test code.
    Client,

    /// A runtime that is running simulated host software.
    Host { software: Software<'a> },

    /// A runtime without any software. The network topology uses this for
    /// time tracking and message delivery.
    NoSoftware,
}

/// Runtime configuration.
#[derive(Clone, Default)]
pub struct Config {
    /// Whether io is enabled on the runtime.
    pub enable_io: bool,

    /// Rng used to seed the tokio runtime.
    ///
    /// Only used if the `tokio_unstable` cfg flag is set.
    #[cfg_attr(not(tokio_unstable), expect(dead_code))]
    pub rng: Option<SmallRng>,
}

/// Per host simulated runtime.
///
/// The tokio runtime is paused (see [`Builder::start_paused`]), which gives us
/// control over when and how to advance time. In particular, see [`Rt::tick`],
/// which lets the runtime do a bit more work.
pub struct Rt<'a> {
    pub kind: Kind<'a>,

    /// Handle to the Tokio runtime driving this simulated host. Each runtime
    /// may have a different sense of "now" which simulates clock skew.
    tokio: Runtime,

    /// Local task set used for running !Send tasks.
    local: LocalSet,

    /// A user readable name to identify the node.
    pub nodename: Arc<str>,

    /// Optional handle to a host's software. When software finishes, the handle is
    /// consumed to check for error, which is propagated up to fail the simulation.
    handle: Option<JoinHandle<Result>>,

    /// Runtime configuration.
    config: Config,
}

impl<'a> Rt<'a> {
    pub(crate) fn client<F>(nodename: Arc<str>, client: F, mut config: Config) -> Self
    where
        F: Future<Output = Result> + 'static,
    {
        let (tokio, local) = init(&mut config);

        let handle = with(&tokio, &local, || tokio::task::spawn_local(client));

        Self {
            kind: Kind::Client,
            tokio,
            local,
            nodename,
            handle: Some(handle),
            config,
        }
    }

    pub(crate) fn host<F, Fut>(nodename: Arc<str>, software: F, mut config: Config) -> Self
    where
        F: Fn() -> Fut + 'a,
        Fut: Future<Output = Result> + 'static,
    {
        let (tokio, local) = init(&mut config);

        let software: Software = Box::new(move || Box::pin(software()));
        let handle = with(&tokio, &local, || tokio::task::spawn_local(software()));

        Self {
            kind: Kind::Host { software },
            tokio,
            local,
            nodename,
            handle: Some(handle),
            config,
        }
    }

    pub(crate) fn no_software() -> Self {
        let mut config = Config::default();
        let (tokio, local) = init(&mut config);

        Self {
            kind: Kind::NoSoftware,
            tokio,
            local,
            nodename: String::new().into(),
            handle: None,
            config,
        }
    }

    pub(crate) fn is_client(&self) -> bool {
        matches!(self.kind, Kind::Client)
    }

    fn is_host(&self) -> bool {
        matches!(self.kind, Kind::Host { .. })
    }

    pub(crate) fn is_software_running(&self) -> bool {
        self.handle.is_some()
    }

    pub(crate) fn now(&self) -> Instant {
        let _guard = self.tokio.enter();
        Instant::now()
    }

    // This method is called by [`Sim::run`], which iterates through all the
    // runtimes and ticks each one. The magic of this method is described in the
    // documentation for [`LocalSet::run_until`], but it may not be entirely
    // obvious how things fit together.
    //
    // A [`LocalSet`] tracks the tasks to run, which may in turn spawn more
    // tasks. `run_until` drives a top level task to completion, but not its
    // children. If you look below, you may be confused. The task we run here
    // just sleeps and has no children! However, it's the _same `LocalSet`_ that
    // is used to run software on the host.
    //
    // In this way, every time `tick` is called, the following unfolds:
    //
    // 1. Time advances on the runtime
    // 2. We schedule a new task that simply sleeps
    // 3. Other tasks on the `LocalSet` get a chance to run
    // 4. The sleep finishes
    // 5. The runtime pauses
    //
    // Returns whether the software has finished successfully or the error
    // that caused failure. Subsequent calls do not return the error as it is
    // expected to fail the simulation.
    pub(crate) fn tick(&mut self, duration: Duration) -> Result<bool> {
        self.tokio.block_on(async {
            self.local
                .run_until(async {
                    sleep(duration).await;
                })
                .await
        });

        self.software_finished()
    }

    /// Like [`Rt::tick`] `max_ticks` times in a row, but in one go: tokio's
    /// paused clock moves straight to each next timer, so ticks in which
    /// nothing happens cost nothing. Stops at the end of the tick in which
    /// the software finished, or in which `World::skip` asks it to (a message
    /// was sent). Returns the ticks run and whether the software finished.
    ///
    /// The caller must make sure nothing outside this runtime could act
    /// within those ticks: no other host's software runs, and no message is in
    /// flight (see `Sim::run`).
    pub(crate) fn tick_skipping(&mut self, tick: Duration, max_ticks: u32) -> (u32, Result<bool>) {
        let Rt {
            tokio,
            local,
            handle,
            ..
        } = self;
        let skip = Skip {
            tick,
            max_ticks,
            software: handle.as_mut(),
            started: None,
            stopping: false,
            finished: None,
        };
        let (ticks, finished) = tokio.block_on(local.run_until(skip));
        let Some(result) = finished else {
            return (ticks, self.software_finished());
        };
        self.handle = None;
        let result = match result {
            // A crashed host's software is cancelled, which does not fail the
            // simulation.
            Err(je) if je.is_cancelled() => Ok(true),
            Err(je) => Err(je.into()),
            Ok(res) => res.map(|()| true),
        };
        (ticks, result)
    }

    /// Whether the software has finished successfully, or the error that
    /// caused failure (once; later calls do not return it again).
    fn software_finished(&mut self) -> Result<bool> {
        // pull for software completion
        match &self.handle {
            Some(handle) if handle.is_finished() => {
                // Consume handle to extract task result
                if let Some(h) = self.handle.take() {
                    match self.tokio.block_on(h) {
                        // If the host was crashed the JoinError is cancelled, which
                        // needs to be handled to not fail the simulation.
                        Err(je) if je.is_cancelled() => {}
                        res => res??,
                    }
                };
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Ok(true),
        }
    }

    pub(crate) fn crash(&mut self) {
        if !self.is_host() {
            panic!("can only crash host's software");
        }

        if self.handle.take().is_some() {
            self.cancel_tasks();
        };
    }

    pub(crate) fn bounce(&mut self) {
        if !self.is_host() {
            panic!("can only bounce host's software");
        }

        self.cancel_tasks();

        if let Kind::Host { software } = &self.kind {
            let handle = with(&self.tokio, &self.local, || {
                tokio::task::spawn_local(software())
            });
            self.handle.replace(handle);
        };
    }

    /// Cancel all tasks within the [`Rt`] by dropping the current tokio
    /// [`Runtime`].
    ///
    /// Dropping the runtime blocks the calling thread until all futures have
    /// completed, which is desired here to ensure host software completes and
    /// all resources are dropped.
    ///
    /// Both the [`Runtime`] and [`LocalSet`] are replaced with new instances.
    fn cancel_tasks(&mut self) {
        let (tokio, local) = init(&mut self.config);

        _ = mem::replace(&mut self.tokio, tokio);
        drop(mem::replace(&mut self.local, local));
    }
}

/// Ticks from `start` to the end of the tick `now` is in. An instant on a
/// boundary belongs to the tick it starts: a task a timer wakes then runs in
/// that tick when ticking one at a time (`Rt::tick` returns as soon as its own
/// sleep fires, before the `LocalSet` runs the tasks woken with it).
pub(crate) fn ticks_through(start: Instant, tick: Duration, now: Instant) -> u32 {
    let ticks = (now - start).as_nanos() / tick.as_nanos() + 1;
    u32::try_from(ticks).expect("a run of ticks is at most u32::MAX ticks")
}

/// The future a run of several ticks drives inside the host's `LocalSet`
/// (see [`Rt::tick_skipping`]).
///
/// The `LocalSet` polls it before its tasks whenever the runtime is woken
/// from outside the set: a timer firing, the software's `JoinHandle`, or
/// `World::skip`. It sleeps to the end of the last allowed tick; once the
/// software has finished or a stop is asked for, it moves that sleep to the
/// end of the current tick, which is where ticking one at a time would have
/// let `Sim` look.
struct Skip<'a> {
    tick: Duration,
    max_ticks: u32,
    software: Option<&'a mut JoinHandle<Result>>,
    /// This host's clock at the first poll, and the sleep that ends the run.
    started: Option<(Instant, Pin<Box<Sleep>>)>,
    /// The sleep has been moved to its final boundary.
    stopping: bool,
    /// The software's result, once taken from its handle.
    finished: Option<std::result::Result<Result, JoinError>>,
}

impl Future for Skip<'_> {
    /// Ticks run, and the software's result if it finished.
    type Output = (u32, Option<std::result::Result<Result, JoinError>>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let (tick, max_ticks) = (this.tick, this.max_ticks);
        let (start, sleep) = this.started.get_or_insert_with(|| {
            let now = Instant::now();
            (now, Box::pin(sleep_until(now + tick * max_ticks)))
        });
        let start = *start;
        if !this.stopping {
            let mut stop = World::current(|world| {
                world
                    .skip
                    .as_mut()
                    .and_then(|skip| skip.poll_stop(cx.waker()))
            });
            if let Some(software) = this.software.as_mut() {
                if let Poll::Ready(result) = Pin::new(&mut **software).poll(cx) {
                    this.finished = Some(result);
                    this.software = None;
                    let now = ticks_through(start, tick, Instant::now());
                    stop = Some(stop.map_or(now, |stop| stop.min(now)));
                }
            }
            if let Some(ticks) = stop {
                sleep.as_mut().reset(start + tick * ticks);
                this.stopping = true;
            }
        }
        ready!(sleep.as_mut().poll(cx));
        let ticks = (Instant::now() - start).as_nanos() / tick.as_nanos();
        let ticks = u32::try_from(ticks).expect("a run of ticks is at most u32::MAX ticks");
        Poll::Ready((ticks, this.finished.take()))
    }
}

fn init(config: &mut Config) -> (Runtime, LocalSet) {
    let mut tokio_builder = tokio::runtime::Builder::new_current_thread();

    #[cfg(tokio_unstable)]
    tokio_builder.unhandled_panic(tokio::runtime::UnhandledPanic::ShutdownRuntime);

    if config.enable_io {
        tokio_builder.enable_io();
    }

    #[cfg(tokio_unstable)]
    if let Some(rng) = &mut config.rng {
        let bytes: [u8; 32] = rand::Rng::random(rng);
        let seed = tokio::runtime::RngSeed::from_bytes(&bytes);
        tokio_builder.rng_seed(seed);
    }

    let tokio = tokio_builder
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();

    tokio.block_on(async {
        // Sleep to "round" `Instant::now()` to the closest `ms`
        tokio::time::sleep(Duration::from_millis(1)).await;
    });

    (tokio, new_local())
}

fn new_local() -> LocalSet {
    #[cfg(not(tokio_unstable))]
    let local = LocalSet::new();

    #[cfg(tokio_unstable)]
    let mut local = LocalSet::new();

    #[cfg(tokio_unstable)]
    local.unhandled_panic(tokio::runtime::UnhandledPanic::ShutdownRuntime);

    local
}

fn with<R>(tokio: &Runtime, local: &LocalSet, f: impl FnOnce() -> R) -> R {
    tokio.block_on(async { local.run_until(async { f() }).await })
}
