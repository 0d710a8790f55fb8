//! The `easgate` binary: see `easgate --help`.

// Reading a 100,000-partnership organisation builds millions of small values; mimalloc frees
// and reuses them several times faster than glibc's allocator (measured: 2.6 s -> 0.8 s).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    easgate::cli::main()
}
