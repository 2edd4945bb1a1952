//! Fails the build at its start, not after every dependency compiled, when `--cfg
//! tokio_unstable` is missing (see the `compile_error!` in src/lib.rs, which says the same
//! for builds that skip this script's check, e.g. rust-analyzer).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Cargo sets CARGO_CFG_* from the rustflags it will pass to rustc for the target.
    if std::env::var_os("CARGO_CFG_TOKIO_UNSTABLE").is_none() {
        eprintln!("error: {}", MISSING_CFG);
        std::process::exit(1);
    }
}

/// Keep in step with the `compile_error!` in src/lib.rs.
const MISSING_CFG: &str = "handshake-sim must be built with `--cfg tokio_unstable`: without it \
turmoil cannot seed tokio's scheduler and runs are not deterministic. .cargo/config.toml sets it \
in [build] rustflags, but cargo ignores that whenever RUSTFLAGS (or CARGO_ENCODED_RUSTFLAGS) is \
set, even to `-D warnings`: it never merges the two. Fix: unset RUSTFLAGS, or include the cfg in \
it, e.g. RUSTFLAGS=\"--cfg tokio_unstable -D warnings\" (and RUSTDOCFLAGS likewise for doctests).";
