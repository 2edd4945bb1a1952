//! The job's token on its object: issued by the batch POST, stored by `setAuthToken`
//! (memory too where the variant says), and checked by the upgrade and the status poll.

use hyper::StatusCode;

use super::Object;
use crate::draw::Purpose;
use crate::names::FaultKind;
use crate::server::auth;
use crate::server::storage::{Stored, AUTH_TOKEN, AUTH_TOKEN_EXPIRATION};
use crate::server::variant::TokenRead;
use crate::server::Env;

impl Object {
    /// Checks a presented token against what the variant reads: the read token, or the status
    /// and reason that refuse it (401 missing/wrong/expired, 503 when storage failed).
    pub(super) async fn authorize(
        &self,
        env: &Env,
        token: &str,
    ) -> Result<TokenRead, (StatusCode, &'static str)> {
        if token.is_empty() {
            return Err((StatusCode::UNAUTHORIZED, "missing token"));
        }
        let Ok(read) = crate::server::variant::read(&*env.variant, self, env).await else {
            return Err((StatusCode::SERVICE_UNAVAILABLE, "storage read failed"));
        };
        let now_ms = env.clock.now_ms();
        if let Err(why) = auth::check(token, read.token.as_deref(), read.expires_at_ms, now_ms) {
            tracing::info!(job = self.job, t_ms = now_ms, ?why, "token refused: 401");
            return Err((StatusCode::UNAUTHORIZED, "invalid or expired token"));
        }
        Ok(read)
    }

    /// The token `setAuthToken` kept in memory, if memory survived.
    pub(crate) fn memory_token(&self) -> Option<(String, u64)> {
        self.state.borrow().memory_token.clone()
    }

    /// Keeps the token in memory, unless the object crashed since `incarnation`.
    pub(crate) fn remember_token(&self, incarnation: u64, token: String, expires_at_ms: u64) {
        let mut st = self.state.borrow_mut();
        if st.incarnation == incarnation {
            st.memory_token = Some((token, expires_at_ms));
        }
    }

    /// `setAuthToken`: puts the token and its expiration (visible to the object's reads at
    /// once, durable later: its caller's answer waits at the output gate); memory too where
    /// the variant says.
    pub(super) fn set_auth_token(&self, env: &Env, token: &str, expires_at_ms: u64) {
        self.storage_put(
            env,
            vec![
                (AUTH_TOKEN, Stored::Text(token.to_string())),
                (AUTH_TOKEN_EXPIRATION, Stored::Ms(expires_at_ms)),
            ],
        );
        if env.variant.keeps_token_in_memory() {
            self.remember_token(self.incarnation(), token.to_string(), expires_at_ms);
        }
    }

    /// Issues the job's next token: its value and expiry (a short one under the
    /// token-expiry fault).
    pub(super) fn issue_token(&self, env: &Env, now_ms: u64) -> (String, u64) {
        let k = {
            let mut st = self.state.borrow_mut();
            st.tokens_issued += 1;
            st.tokens_issued - 1
        };
        let token = match &env.live {
            Some(live) => (live.token)(),
            None => env.draws.hex128(self.job, Purpose::Token, k),
        };
        let f = &env.scenario.faults.token_expiry;
        let ttl_ms = if env
            .draws
            .chance(f.probability, self.job, Purpose::TokenExpiry, 2 * k)
        {
            env.recorder.borrow_mut().fault(FaultKind::TokenExpiry);
            env.draws
                .ms(&f.ttl_ms, self.job, Purpose::TokenExpiry, 2 * k + 1)
        } else {
            env.scenario.auth.token_ttl_ms
        };
        (token, now_ms + ttl_ms)
    }
}
