//! The stale holder (`auth.stale_attempt_after_ms`): someone who kept the job's first token
//! (an old device, whoever it leaked to) and tries it after the server revoked it. The server
//! side counts what it accepted; this side only makes the try.

use super::Session;
use crate::clock;
use crate::draw::Purpose;
use crate::wire::api::BatchAccepted;

impl Session {
    /// For a job whose token the server revokes (drawn under the object's key), one upgrade
    /// with the first token `revoke_after_ms` + `stale_attempt_after_ms` after the first 202
    /// came, or when the app's job has ended if that is later; counted in the job's record.
    /// The object times its revocation from the POST's arrival, so the try comes at least
    /// `stale_attempt_after_ms` after it, later by the 202's way down (and, with an edge
    /// variant, the KV put before it).
    pub(crate) async fn stale_holder(&self, n: u64, first: Option<&(BatchAccepted, u64)>) {
        let auth = &self.scenario.auth;
        let Some((accepted, at_ms)) = first else {
            return;
        };
        if !self
            .draws
            .chance(auth.revoke_probability, n, Purpose::Revoke, 0)
        {
            return;
        }
        let revoke_ms = self.draws.ms(&auth.revoke_after_ms, n, Purpose::Revoke, 1);
        let after_ms = self
            .draws
            .ms(&auth.stale_attempt_after_ms, n, Purpose::Revoke, 2);
        let when_ms = at_ms + revoke_ms + after_ms;
        clock::sleep_ms(when_ms.saturating_sub(self.clock.now_ms())).await;
        tracing::debug!(
            job = n,
            t_ms = self.clock.now_ms(),
            "stale holder's upgrade"
        );
        self.recorder.borrow_mut().job(n).stale_attempts += 1;
        let upgraded = self.try_upgrade(n, accepted).await;
        tracing::debug!(job = n, upgraded, "stale holder's answer");
    }
}
