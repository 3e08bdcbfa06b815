use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = portico::cli::Cli::parse();
    match portico::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portico: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
