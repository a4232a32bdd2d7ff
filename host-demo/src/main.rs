//! `host-demo`: the BincioActivity host's command line.

// One exception, in `cli/allocator.rs`: a call to glibc's `mallopt`.
#![deny(unsafe_code)]

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Args::parse();
    cli::logging::init();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
