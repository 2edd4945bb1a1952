//! Tasks on a simulated host: spawned so that a panic is kept, not lost in a `JoinHandle`
//! nobody awaits. Both the server and the client spawn through here; `sim` fails the run on a
//! kept panic.

use std::cell::RefCell;

thread_local! {
    /// The first panic of a task spawned with [`spawn`] on this thread.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Spawns a local task whose panic is kept (see [`take_panic`]) rather than lost in a
/// `JoinHandle` nobody awaits: the simulation then fails the run instead of hanging.
///
/// Combinators, not an `async` block: a block that captures `fut` and awaits a future made
/// of it stores it twice, and every task on a simulated host would be twice its size.
pub(crate) fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) {
    use futures_util::FutureExt;
    tokio::task::spawn_local(
        std::panic::AssertUnwindSafe(fut)
            .catch_unwind()
            .map(keep_panic),
    );
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
