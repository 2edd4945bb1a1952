//! The enrichment pipeline of a job: one progress event per enriched book, then completion,
//! each pushed on the object's socket when it has one.

use std::rc::Rc;

use super::{Object, Objects};
use crate::clock;
use crate::draw::Purpose;
use crate::wire::api::ServerMsg;

/// The enrichment pipeline of one job: one progress event per enriched book, then completion.
/// An event's delivery runs boxed: the task waits between books holding only its sleep (a
/// herd's jobs all have one of these: issue 27).
pub(super) async fn enrich(objects: Rc<Objects>, object: Rc<Object>, books: u32) {
    let env = &objects.env;
    for i in 0..books {
        let ms = env.draws.ms(
            &env.scenario.enrichment.book_ms,
            object.job,
            Purpose::BookEnrich,
            i as u64,
        );
        clock::sleep_ms(ms).await;
        object.state.borrow_mut().books_done = i + 1;
        let progress = ServerMsg::Progress {
            seq: i + 1,
            books,
            job_id: None,
        };
        Box::pin(object.progress(&objects, progress)).await;
    }
    object.state.borrow_mut().done = true;
    let complete = ServerMsg::Complete {
        books,
        job_id: None,
    };
    Box::pin(object.progress(&objects, complete)).await;
    tracing::debug!(
        job = object.job,
        t_ms = env.clock.now_ms(),
        "enrichment done"
    );
    env.recorder.borrow_mut().enrichment_finished(object.job);
}

impl Object {
    /// A progress event from the enrichment pipeline: pushed on the socket, or warned about;
    /// a job of an app session carries it to the session's object instead (`session`).
    /// A message the socket already carried (replayed at accept) is not pushed again.
    async fn progress(&self, objects: &Objects, msg: ServerMsg) {
        let env = &objects.env;
        let (_event, _cold) = self.deliver(env).await;
        if let Some(session_id) = self.session() {
            return super::session::relay(objects, self, &session_id, msg).await;
        }
        let now_ms = env.clock.now_ms();
        let socket = {
            let mut st = self.state.borrow_mut();
            st.socket.as_mut().map(|s| {
                let replayed = match msg {
                    ServerMsg::Progress { seq, .. } => seq <= s.through_seq,
                    ServerMsg::Complete { .. } => s.complete_sent,
                    ServerMsg::Ready { .. } => false,
                };
                (s.tx.clone(), replayed)
            })
        };
        let sent = match socket {
            Some((_, true)) => return,
            Some((tx, false)) => tx.try_send(msg.clone()).is_ok(),
            None => false,
        };
        if !sent {
            env.recorder.borrow_mut().job(self.job).no_socket_warnings += 1;
            tracing::warn!(
                job = self.job,
                t_ms = now_ms,
                "[{}] No WebSocket connection available",
                self.id
            );
        } else {
            tracing::debug!(job = self.job, t_ms = now_ms, ?msg, "progress pushed");
        }
    }
}
