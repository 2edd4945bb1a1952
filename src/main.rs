//! handshake-sim's command line. Everything is in `cli`: it parses the arguments, calls the
//! library, prints what `report` formatted, and picks the exit code (0 success, 1 a run
//! failed, 2 bad input).

use std::process::ExitCode;

mod cli;

// The simulator allocates per message (hyper, tungstenite, turmoil); mimalloc cuts that cost.
// Its v2 line (Cargo.toml's `features = ["v2"]`), not v3: the herd at 20,000 jobs in flight
// peaks 5% lower with it, at the same speed (docs/performance.md, "The worker calls the
// object host"). `Counting` lets `bench` measure the live heap per open connection.
#[global_allocator]
static ALLOCATOR: handshake_sim::internal::bench::Counting<mimalloc::MiMalloc> =
    handshake_sim::internal::bench::Counting(mimalloc::MiMalloc);

fn main() -> ExitCode {
    cli::main()
}
