//! The `easgate` binary: see `easgate --help`.

// Reading a 100,000-partnership organisation builds millions of small values; mimalloc frees
// and reuses them several times faster than glibc's allocator (measured: 2.6 s -> 0.8 s).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // SAFETY: mi_collect takes no arguments that could dangle; it walks mimalloc's own free
    // lists, which is what the global allocator above uses.
    easgate::data::install_memory_release(|| unsafe { libmimalloc_sys::mi_collect(true) });
    easgate::cli::main()
}
