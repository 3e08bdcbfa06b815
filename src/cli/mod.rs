//! The `portico` command line: the server, its database and keys, and the registry for
//! scripts and operators (see [`registry`]).

mod exit;
mod output;
mod registry;

pub use exit::{CliError, EXIT_CODES};
pub use output::Output;

use crate::config::{Config, LogFormat};
use crate::startup::{self, Application, StartupError};
use clap::{CommandFactory, Parser, Subcommand};
use portico_domain::{Edition, NewCompany};
use portico_registry::{BootstrapOutcome, Sandbox};
use registry::{
    AppCommand, AuditArgs, CompanyCommand, EnablementCommand, RequestTokenCommand, Session,
    SignUpRequestCommand, UserCommand,
};
use serde_json::json;
use std::path::PathBuf;

const REGISTRY_HELP: &str = "\
The registry commands (companies, users, apps, enablements, request-tokens, audit,
sign-up-requests) work on the database directly, through the same use cases as the admin API:
the same validation, permission checks and audit records. They act as the staff member or
company admin named by --as (or PORTICO_AS), who must be enabled; the audit log names them.
Running servers apply a change within a second (PostgreSQL: LISTEN/NOTIFY; SQLite: they
follow the change log).

Secrets are printed once on standard output (in the JSON object with --output json) and never
on standard error; passwords are read from standard input (--password-stdin), never taken as
arguments, or generated and printed once.";

#[derive(Parser, Debug)]
#[command(
    name = "portico",
    version,
    about = "An OAuth 2.0 authorization server for partner applications",
    after_help = "See --help for the registry commands and the exit codes.",
    after_long_help = format!("{REGISTRY_HELP}\n\n{EXIT_CODES}"),
)]
pub struct Cli {
    /// A configuration file laid over the built-in defaults (default: config/default.toml if present).
    #[arg(long, global = true, env = "PORTICO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log as text or JSON lines (overrides log.format).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Print results as text for people, or as the admin API's JSON for scripts (errors too,
    /// on standard error).
    #[arg(long, short = 'o', global = true, value_enum, default_value = "text")]
    pub output: Output,
    /// The registry commands act as this user (login id): staff, or an admin of a company.
    #[arg(
        long = "as",
        global = true,
        env = "PORTICO_AS",
        value_name = "LOGIN_ID"
    )]
    pub act_as: Option<String>,
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
    /// Companies: create, list, show, edit, disable, enable (--as).
    #[command(subcommand)]
    Companies(CompanyCommand),
    /// Users of a company and their permissions (--as).
    #[command(subcommand)]
    Users(UserCommand),
    /// Partner applications: register, list, show, modify, new secret, review, visibility,
    /// resource server, certification (--as).
    #[command(subcommand)]
    Apps(AppCommand),
    /// Which apps a company has enabled (--as).
    #[command(subcommand)]
    Enablements(EnablementCommand),
    /// Company request tokens (--as).
    #[command(subcommand)]
    RequestTokens(RequestTokenCommand),
    /// The audit log, newest first, with filters (--as).
    Audit(AuditArgs),
    /// Sandbox sign-up requests waiting for staff (--as).
    #[command(subcommand)]
    SignUpRequests(SignUpRequestCommand),
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

/// Runs the command line: the exit code says how it went (see [`EXIT_CODES`]), and a failure
/// is reported on stderr.
pub async fn main(cli: Cli) -> std::process::ExitCode {
    let output = cli.output;
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            e.report(output);
            std::process::ExitCode::from(e.exit_code())
        }
    }
}

/// Runs the command; the error is reported by [`main`].
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let mut config = Config::load(cli.config.as_deref()).map_err(StartupError::from)?;
    if let Some(f) = cli.log_format {
        config.log.format = f;
    }
    // The registry commands check the schema on every run; that is not news to log.
    let quiet = matches!(
        cli.command,
        Command::Companies(_)
            | Command::Users(_)
            | Command::Apps(_)
            | Command::Enablements(_)
            | Command::RequestTokens(_)
            | Command::Audit(_)
            | Command::SignUpRequests(_)
    ) && !config.log.filter.contains("sea_orm_migration");
    let filter = if quiet {
        format!("{},sea_orm_migration=warn", config.log.filter)
    } else {
        config.log.filter.clone()
    };
    crate::telemetry::init(config.log.format, &filter);
    let (out, act_as) = (cli.output, cli.act_as);
    let as_user = || session(&config, act_as.clone(), out);
    match cli.command {
        Command::Serve => serve(config).await?,
        Command::Migrate => {
            startup::open_store(&config).await?;
            let database = redact_url(&config.database.url);
            output::emit(out, &json!({ "database": database }), |_| {
                println!("database migrated: {database}")
            });
        }
        Command::Bootstrap(args) => bootstrap(config, args, out).await?,
        Command::CheckConfig => {
            let catalog = startup::load_catalog(&config)?;
            let (apis, scopes) = (catalog.apis().len(), catalog.all_scopes().count());
            let database = redact_url(&config.database.url);
            let summary = json!({ "apis": apis, "scopes": scopes, "database": database });
            output::emit(out, &summary, |_| {
                println!(
                    "configuration OK; catalog: {apis} APIs, {scopes} scopes; database: {database}"
                )
            });
        }
        Command::Keys(KeysCommand::Rotate) => rotate_keys(&config, out).await?,
        Command::Companies(c) => as_user().await?.companies(c).await?,
        Command::Users(c) => as_user().await?.users(c).await?,
        Command::Apps(c) => as_user().await?.apps(c).await?,
        Command::Enablements(c) => as_user().await?.enablements(c).await?,
        Command::RequestTokens(c) => as_user().await?.request_tokens(c).await?,
        Command::Audit(a) => as_user().await?.audit(a).await?,
        Command::SignUpRequests(c) => as_user().await?.sign_up_requests(c).await?,
    }
    Ok(())
}

/// The registry, acting as the `--as` user.
async fn session(
    config: &Config,
    act_as: Option<String>,
    output: Output,
) -> Result<Session, CliError> {
    let Some(login_id) = act_as else {
        return Err(CliError::Usage(Cli::command().error(
            clap::error::ErrorKind::MissingRequiredArgument,
            "the registry commands need --as <LOGIN_ID> (or PORTICO_AS): the staff member \
             or company admin to act as",
        )));
    };
    let catalog = startup::load_catalog(config)?;
    let store = startup::open_store(config).await?;
    let registry = startup::registry(config, store, catalog);
    let actor = registry.act_as(&login_id).await?;
    Ok(Session {
        registry,
        actor,
        output,
    })
}

async fn serve(config: Config) -> Result<(), StartupError> {
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

async fn rotate_keys(config: &Config, out: Output) -> Result<(), StartupError> {
    let master = startup::master_key(config)?;
    let store = startup::open_store(config).await?;
    let uses = portico_oauth::keys::KeyUse {
        access: config.tokens.signing_algorithm,
    };
    let kid = portico_oauth::rotate_keys(&store, &master, uses).await?;
    let algorithm = config.tokens.signing_algorithm.as_str();
    output::emit(out, &json!({ "kid": kid, "algorithm": algorithm }), |_| {
        println!(
            "new signing key {kid} ({algorithm}), and new keys of the other algorithms for ID \
             tokens"
        )
    });
    Ok(())
}

async fn bootstrap(config: Config, args: BootstrapArgs, out: Output) -> Result<(), CliError> {
    let password = args
        .password_stdin
        .then(registry::password_from_stdin)
        .transpose()?;
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
    let mut body = json!({ "company": outcome.company, "admin": outcome.admin });
    if let Some(p) = &outcome.generated_password {
        body["generated_password"] = json!(p.expose());
    }
    output::emit(out, &body, |_| print_outcome("company", &outcome));
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
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

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
