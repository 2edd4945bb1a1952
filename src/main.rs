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
    keep_freed_memory();
    cli::main()
}

/// mimalloc's `purge_delay` option: `mi_option_purge_delay` of the v2 `mi_option_e` in
/// mimalloc.h, between the two libmimalloc-sys names (`mi_option_eager_commit_delay`, 14, and
/// `mi_option_use_numa_nodes`, 16); the crate does not name it.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps the memory mimalloc frees for reuse, rather than handing it back to the OS 10 ms
/// later (its default). A run frees a job's memory as the job ends and allocates the next
/// job's at once. Handed back, each reused page was faulted in and zeroed again by the kernel
/// (12.7% of a profile of 100,000 jobs in flight). Kept, that herd takes 0.76 of the wall time
/// (docs/performance.md, "mimalloc keeps what it frees"); what grows with a run's jobs is
/// therefore made at its size at once (`record::Records`, ARCHITECTURE.md). A live `serve`
/// keeps its peak too, until it exits: it is a test bed's server, not a long-lived service.
fn keep_freed_memory() {
    // SAFETY: sets one integer option. The call comes first in `main`, before any thread.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    /// Guards the option's number: 15 has the purge delay's documented default of 10 ms,
    /// which its neighbours do not have (1 and 0), and `keep_freed_memory` turns it off.
    #[test]
    fn option_15_is_the_purge_delay_and_keeping_turns_it_off() {
        let get = || unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        assert_eq!(get(), 10);
        super::keep_freed_memory();
        assert_eq!(get(), -1);
    }
}
