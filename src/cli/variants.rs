//! `variants`: the handshake variants, one per line.

use handshake_sim::internal::report;

use super::CliResult;
use super::Status;

pub(crate) fn variants() -> CliResult<Status> {
    out!("{}", report::variants::list());
    Ok(Status::Success)
}
