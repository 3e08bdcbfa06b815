//! The `portico` command line.

use crate::config::{Config, LogFormat};
use crate::startup::{self, Application, StartupError};
use clap::{Parser, Subcommand};
use portico_domain::{Edition, NewCompany};
use portico_registry::{BootstrapOutcome, Sandbox};
use std::io::Read;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "portico",
    version,
    about = "An OAuth 2.0 authorization server for partner applications"
)]
pub struct Cli {
    /// A configuration file laid over the built-in defaults (default: config/default.toml if present).
    #[arg(long, global = true, env = "PORTICO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log as text or JSON lines (overrides log.format).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Migrate the database and serve (first run on an empty database creates the sandbox).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create a company and its first administrator.
    Bootstrap(BootstrapArgs),
    /// Check the configuration and the API catalog without starting.
    CheckConfig,
    /// Manage token-signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Add a new active signing key; running servers sign with it within seconds, and the old
    /// key stays published while its tokens live.
    Rotate,
}

#[derive(clap::Args, Debug)]
pub struct BootstrapArgs {
    #[arg(long)]
    pub company_name: String,
    /// The company domain, e.g. acme.example
    #[arg(long)]
    pub domain: String,
    #[arg(long, value_parser = parse_edition, default_value = "professional")]
    pub edition: Edition,
    /// A Development Partner company may register partner apps.
    #[arg(long)]
    pub development_partner: bool,
    #[arg(long)]
    pub login_id: String,
    #[arg(long, default_value = "Administrator")]
    pub display_name: String,
    /// Read the admin's password from standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
    /// Also give the admin the operator's staff role.
    #[arg(long)]
    pub staff: bool,
}

fn parse_edition(s: &str) -> Result<Edition, String> {
    Edition::parse(s).ok_or_else(|| "expected standard or professional".into())
}

/// Runs the command; the error is printed by `main`.
pub async fn run(cli: Cli) -> Result<(), StartupError> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(f) = cli.log_format {
        config.log.format = f;
    }
    crate::telemetry::init(config.log.format, &config.log.filter);
    match cli.command {
        Command::Serve => {
            let mut app = Application::build(config).await?;
            if let Some(sandbox) = app.take_sandbox() {
                print_sandbox(&sandbox);
            }
            println!("Portico issuer (public URL): {}", app.public_url());
            println!("Portico listening on {}", app.local_url());
            app.run_until_stopped()
                .await
                .map_err(|source| StartupError::Bind {
                    addr: "listener".into(),
                    source,
                })
        }
        Command::Migrate => {
            startup::open_store(&config).await?;
            println!("database migrated: {}", redact_url(&config.database.url));
            Ok(())
        }
        Command::Bootstrap(args) => bootstrap(config, args).await,
        Command::Keys(KeysCommand::Rotate) => {
            let master = startup::master_key(&config)?;
            let store = startup::open_store(&config).await?;
            let uses = portico_oauth::keys::KeyUse {
                access: config.tokens.signing_algorithm,
            };
            let kid = portico_oauth::rotate_keys(&store, &master, uses).await?;
            println!(
                "new signing key {kid} ({}), and new keys of the other algorithms for ID tokens",
                config.tokens.signing_algorithm.as_str()
            );
            Ok(())
        }
        Command::CheckConfig => {
            let catalog = startup::load_catalog(&config)?;
            println!(
                "configuration OK; catalog: {} APIs, {} scopes; database: {}",
                catalog.apis().len(),
                catalog.all_scopes().count(),
                redact_url(&config.database.url)
            );
            Ok(())
        }
    }
}

async fn bootstrap(config: Config, args: BootstrapArgs) -> Result<(), StartupError> {
    let password = if args.password_stdin {
        let mut buf = String::new();
        std::io::stdin().read_to_string(&mut buf).map_err(|e| {
            StartupError::Domain(portico_domain::DomainError::invalid("password", e))
        })?;
        Some(buf.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        None
    };
    let catalog = startup::load_catalog(&config)?;
    let store = startup::open_store(&config).await?;
    let registry = startup::registry(&config, store, catalog);
    let outcome = registry
        .bootstrap(
            NewCompany {
                name: args.company_name,
                domain: args.domain,
                edition: args.edition,
                development_partner: args.development_partner,
                own_use_apps: false,
            },
            args.login_id,
            args.display_name,
            password,
            args.staff,
        )
        .await?;
    print_outcome("company", &outcome);
    Ok(())
}

fn print_outcome(label: &str, o: &BootstrapOutcome) {
    println!(
        "  {label}: {} ({}, {} edition{}), id {}",
        o.company.name,
        o.company.domain,
        o.company.edition.as_str(),
        if o.company.development_partner {
            ", development partner"
        } else {
            ""
        },
        o.company.id
    );
    println!("    admin login id: {}", o.admin.login_id);
    match &o.generated_password {
        Some(p) => println!("    password (shown once): {}", p.expose()),
        None => println!("    password: as given"),
    }
}

fn print_sandbox(s: &Sandbox) {
    println!(
        "Portico created a sandbox on this empty database (turn off with PORTICO_SANDBOX_ENABLED=false):"
    );
    print_outcome("operator (staff)", &s.operator);
    print_outcome("development partner", &s.developer);
    println!("These passwords are shown once; change them after signing in.");
}

/// The database URL without a password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            super::redact_url("postgres://u:pw@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            super::redact_url("sqlite://data/p.db"),
            "sqlite://data/p.db"
        );
    }
}
