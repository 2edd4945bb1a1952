//! Tasks on a simulated host: spawned so that a panic is kept, not lost in a `JoinHandle`
//! nobody awaits. Both the server and the client spawn through here; `sim` fails the run on a
//! kept panic. A run can also stop every such task a simulated delay from now (`stop_after`).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::Instant;

thread_local! {
    /// The first panic of a task spawned with [`spawn`] on this thread.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// From this instant on, no task spawned with [`spawn`] on this thread is polled.
    static STOP_AT: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Spawns a local task whose panic is kept (see [`take_panic`]) rather than lost in a
/// `JoinHandle` nobody awaits: the simulation then fails the run instead of hanging.
///
/// Combinators, not an `async` block: a block that captures `fut` and awaits a future made
/// of it stores it twice, and every task on a simulated host would be twice its size.
pub(crate) fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) {
    use futures_util::FutureExt;
    tokio::task::spawn_local(
        std::panic::AssertUnwindSafe(Stoppable { fut })
            .catch_unwind()
            .map(keep_panic),
    );
}

/// `after` from now on the current runtime's clock (in a simulation, turmoil's paused tokio
/// clock, never the wall clock), tasks spawned with [`spawn`] on this thread are no longer
/// polled: a task woken then stays pending, as if its runtime had stopped, until the runtime
/// drops it. `None` lifts the stop. The simulation's end: turmoil runs a whole run as one tick,
/// and ticking one tick at a time would have stopped the runtime at the end of the tick in
/// which the fleet finished (`sim`).
pub(crate) fn stop_after(after: Option<std::time::Duration>) {
    let at = after.map(|d| Instant::now() + d);
    STOP_AT.with(|s| s.set(at));
}

/// Whether tasks are stopped now (see [`stop_after`]).
fn stopped() -> bool {
    STOP_AT
        .with(|s| s.get())
        .is_some_and(|at| Instant::now() >= at)
}

pin_project_lite::pin_project! {
    /// A task's future, not polled once [`stopped`].
    struct Stoppable<F> {
        #[pin]
        fut: F,
    }
}

impl<F: Future<Output = ()>> Future for Stoppable<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if stopped() {
            // No waker kept: nothing is to run any more, and the runtime drops the task.
            return Poll::Pending;
        }
        self.project().fut.poll(cx)
    }
}

/// Keeps the first panic of the thread's tasks.
fn keep_panic(ran: std::thread::Result<()>) {
    if let Err(payload) = ran {
        let message = panic_message(payload.as_ref());
        PANIC.with(|p| {
            p.borrow_mut().get_or_insert(message);
        });
    }
}

/// The first kept panic of a spawned task on this thread, cleared.
pub(crate) fn take_panic() -> Option<String> {
    PANIC.with(|p| p.borrow_mut().take())
}

/// Whether a spawned task on this thread has panicked.
pub(crate) fn panicked() -> bool {
    PANIC.with(|p| p.borrow().is_some())
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".into())
}
