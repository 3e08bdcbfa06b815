use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    portico::cli::main(portico::cli::Cli::parse()).await
}
