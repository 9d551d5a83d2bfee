//! The dimctl binary: parse arguments, set up logging, run, map the result to an exit code.
//! This is the only place the process ends (see [`dimctl::cli::error`] for the contract).

use clap::Parser;

/// mimalloc instead of the system allocator: a plan at 100,000 customers makes millions
/// of small allocations on several threads, and glibc's per-thread arenas kept a third
/// more memory resident than was in use.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(run());
}

fn run() -> i32 {
    dimctl::redact::install_panic_hook();
    // Usage errors exit 1 (every error does); --help and --version exit 0. A closed
    // stdout while printing help is not an error either.
    let cli = match dimctl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return dimctl::cli::error::parse_error_code(&e);
        }
    };
    dimctl::cli::logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            dimctl::errln!("error: cannot start the async runtime: {e}");
            return dimctl::cli::exit::FAILURE;
        }
    };
    let code = match runtime.block_on(dimctl::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            dimctl::errln!("error: {}", e.message);
            e.code
        }
    };
    drop(runtime);
    code
}
