//! `variants`: the handshake variants, one per line.

use handshake_sim::internal::report;

use super::Status;

pub(crate) fn variants() -> anyhow::Result<Status> {
    out!("{}", report::variants::list());
    Ok(Status::Success)
}
