//! The dimctl binary: parse arguments, set up logging, run, map the result to an exit code.

use clap::Parser;

fn main() {
    // Bad flags exit 2 (the usage-error code); --help and --version exit 0.
    dimctl::redact::install_panic_hook();
    let cli = dimctl::cli::Cli::parse();
    dimctl::cli::logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            dimctl::errln!("error: cannot start the async runtime: {e}");
            std::process::exit(dimctl::cli::exit::FAILURE);
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
    std::process::exit(code);
}
