//! The dimctl binary: parse arguments, set up logging, run, map the result to an exit code.

use clap::Parser;

fn main() {
    // Bad flags exit 1 like every other error: 2 means "changes present" to scripts
    // running `plan --detailed-exitcode` or `drift`, and must never mean anything else.
    let cli = match dimctl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                dimctl::cli::exit::FAILURE
            } else {
                dimctl::cli::exit::OK
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    dimctl::cli::logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(dimctl::cli::exit::FAILURE);
        }
    };
    let code = match runtime.block_on(dimctl::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", e.message);
            e.code
        }
    };
    drop(runtime);
    std::process::exit(code);
}
