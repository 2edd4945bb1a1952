//! A socket's queue of messages from its object to its exchange loop, on one thread: bounded,
//! many senders, one reader. It behaves as tokio's bounded `mpsc` did here (`try_send` fails
//! when full or when the reader is gone, `recv` ends once every sender is dropped and the
//! queue is empty, the same cooperative budget), without the 1 KiB block a channel allocates
//! up front: every open socket has one.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

struct Shared<T> {
    items: RefCell<VecDeque<T>>,
    capacity: usize,
    senders: Cell<usize>,
    reader_gone: Cell<bool>,
    reader: RefCell<Option<Waker>>,
}

impl<T> Shared<T> {
    fn wake_reader(&self) {
        let waker = self.reader.borrow_mut().take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The sending end; cloned for each sender.
pub(crate) struct Sender<T>(Rc<Shared<T>>);

/// The one reading end.
pub(crate) struct Receiver<T>(Rc<Shared<T>>);

/// A queue that holds at most `capacity` messages.
pub(crate) fn queue<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Rc::new(Shared {
        items: RefCell::new(VecDeque::new()),
        capacity,
        senders: Cell::new(1),
        reader_gone: Cell::new(false),
        reader: RefCell::new(None),
    });
    (Sender(shared.clone()), Receiver(shared))
}

impl<T> Sender<T> {
    /// Queues `item` unless the queue is full or its reader is gone (then it is handed back).
    pub(crate) fn try_send(&self, item: T) -> Result<(), T> {
        let s = &self.0;
        if s.reader_gone.get() || s.items.borrow().len() >= s.capacity {
            return Err(item);
        }
        s.items.borrow_mut().push_back(item);
        s.wake_reader();
        Ok(())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.0.senders.set(self.0.senders.get() + 1);
        Sender(self.0.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let left = self.0.senders.get() - 1;
        self.0.senders.set(left);
        if left == 0 {
            self.0.wake_reader();
        }
    }
}

impl<T> Receiver<T> {
    /// The next message; `None` once the queue is empty and every sender is gone. Spends the
    /// task's cooperative budget like a tokio channel, so a busy socket yields as it did.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| {
            let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
            let s = &self.0;
            if let Some(item) = s.items.borrow_mut().pop_front() {
                coop.made_progress();
                return Poll::Ready(Some(item));
            }
            if s.senders.get() == 0 {
                coop.made_progress();
                return Poll::Ready(None);
            }
            // Each turn of the socket loop waits here: keep the waker it already gave.
            let mut reader = s.reader.borrow_mut();
            if !reader.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *reader = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.0.reader_gone.set(true);
        self.0.items.borrow_mut().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::queue;

    #[test]
    fn a_bounded_queue_ends_when_its_senders_do() {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let (tx, mut rx) = queue(2);
                let tx2 = tx.clone();
                assert_eq!((tx.try_send(1), tx2.try_send(2)), (Ok(()), Ok(())));
                assert_eq!(tx.try_send(3), Err(3), "full");
                assert_eq!(rx.recv().await, Some(1));
                assert_eq!(tx2.try_send(4), Ok(()));
                drop((tx, tx2));
                // What was queued is still read, then the end.
                assert_eq!(rx.recv().await, Some(2));
                assert_eq!(rx.recv().await, Some(4));
                assert_eq!(rx.recv().await, None);

                let (tx, rx) = queue(2);
                drop(rx);
                assert_eq!(tx.try_send(1), Err(1), "the reader is gone");
            });
    }

    #[test]
    fn a_waiting_reader_is_woken_by_a_send_and_by_the_last_sender_leaving() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let (tx, mut rx) = queue::<u32>(4);
            let reader = tokio::task::spawn_local(async move {
                let mut got = Vec::new();
                while let Some(v) = rx.recv().await {
                    got.push(v);
                }
                got
            });
            tokio::task::yield_now().await;
            tx.try_send(7).unwrap();
            tokio::task::yield_now().await;
            let tx2 = tx.clone();
            drop(tx);
            tx2.try_send(8).unwrap();
            drop(tx2);
            assert_eq!(reader.await.unwrap(), [7, 8]);
        });
    }
}
