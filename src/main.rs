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
/// mimalloc.h, which libmimalloc-sys does not name; it comes between two that it does,
/// `mi_option_eager_commit_delay` and `mi_option_use_numa_nodes`.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = libmimalloc_sys::mi_option_eager_commit_delay + 1;

/// Keeps the memory mimalloc frees for reuse, rather than handing it back to the OS 10 ms later
/// (its default). A run frees memory as its jobs move from phase to phase and end, and
/// allocates again at once. Handed back, each reused page was faulted in and zeroed again by
/// the kernel (12.7% of a profile of 100,000 jobs in flight). Kept, that herd takes 0.76 of the
/// wall time (docs/performance.md, "mimalloc keeps what it frees"); what grows with a run's
/// jobs is therefore made at its size at once (`record::Records`, ARCHITECTURE.md). A live
/// `serve` keeps its peak too, until it exits: it is a test bed's server, not a long-lived
/// service. The default only: `MIMALLOC_PURGE_DELAY` in the environment still sets it (an A/B
/// run).
fn keep_freed_memory() {
    // SAFETY: sets one integer option. The call comes first in `main`, before any thread.
    unsafe { libmimalloc_sys::mi_option_set_default(PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    use libmimalloc_sys::{mi_option_get, mi_option_use_numa_nodes};

    /// Guards the option's number: it lies between the crate's two names, and it has the purge
    /// delay's documented default of 10 ms, which its neighbours do not have (1 and 0); then
    /// `keep_freed_memory` turns it off. Unless the environment set it: then that value stays.
    #[test]
    fn the_purge_delay_is_found_by_its_number_and_keeping_turns_it_off() {
        assert_eq!(super::PURGE_DELAY + 1, mi_option_use_numa_nodes);
        let get = || unsafe { mi_option_get(super::PURGE_DELAY) };
        let from_env = ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY"]
            .iter()
            .find_map(|name| std::env::var(name).ok()?.parse::<std::ffi::c_long>().ok());
        assert_eq!(get(), from_env.unwrap_or(10));
        super::keep_freed_memory();
        assert_eq!(get(), from_env.unwrap_or(-1));
    }
}
