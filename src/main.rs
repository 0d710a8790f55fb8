//! The `easgate` binary: see `easgate --help`.

fn main() -> std::process::ExitCode {
    easgate::cli::main()
}
