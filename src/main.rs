//! handshake-sim's command line. Everything is in `cli`: it parses the arguments, calls the
//! library, prints what `report` formatted, and picks the exit code (0 success, 1 a run
//! failed, 2 bad input).

use std::process::ExitCode;

mod cli;

// The simulator allocates per message (hyper, tungstenite, turmoil); mimalloc cuts that cost.
// `Counting` lets `bench` measure the live heap per open connection.
#[global_allocator]
static ALLOCATOR: handshake_sim::internal::bench::Counting<mimalloc::MiMalloc> =
    handshake_sim::internal::bench::Counting(mimalloc::MiMalloc);

fn main() -> ExitCode {
    cli::main()
}
