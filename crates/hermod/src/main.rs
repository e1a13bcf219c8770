//! The `hermod` binary: the operator's CLI and `hermod serve`.
//!
//! Invariant: this crate wires the others together and talks to the operator; it holds no
//! protocol or policy logic of its own. Every error reaches the operator as one line that says
//! what went wrong and what to do, with a non-zero exit.

mod cli;
mod commands;
mod output;
mod rules_cmd;
mod serve;
mod tls;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
