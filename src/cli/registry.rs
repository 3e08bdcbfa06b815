//! The registry commands: companies, users, apps, enablements, request tokens, the audit log
//! and sign-up requests. They work on the database directly, through the same
//! [`Registry`] use cases as the admin API (the same validation, permission checks and audit
//! records), acting as the staff member or admin named by `--as`. On PostgreSQL the store
//! announces each change (NOTIFY), so running servers apply it within a second.

use super::exit::CliError;
use super::output::{Output, Table, emit, fields, name, time, yes_no};
use clap::{Args, Subcommand, ValueEnum};
use portico_domain::{
    Actor, AppChanges, AppId, AppRegistration, AuditAction, AuditEntry, Company, CompanyChanges,
    CompanyId, DomainError, Edition, IfVersion, NewCompany, NewUser, PartnerApp, Permissions,
    ReviewDecision, SandboxDecision, SandboxRequest, SandboxRequestStatus, User, UserChanges,
    UserId, Visibility,
};
use portico_registry::{AvailableApp, RegisteredApp, Registry};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::io::Read;
use std::path::PathBuf;

/// A company: its id, or its domain.
#[derive(Clone, Debug)]
pub struct CompanyRef(String);

/// A user: their id, or their login id.
#[derive(Clone, Debug)]
pub struct UserRef(String);

impl std::str::FromStr for CompanyRef {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::str::FromStr for UserRef {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

fn parse_edition(s: &str) -> Result<Edition, String> {
    Edition::parse(s).ok_or_else(|| "expected standard or professional".into())
}

fn parse_app_id(s: &str) -> Result<AppId, String> {
    s.parse()
        .map_err(|_| format!("'{s}' is not an application id (Key)"))
}

fn parse_uuid(s: &str) -> Result<uuid::Uuid, String> {
    s.parse().map_err(|_| format!("'{s}' is not an id"))
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum VisibilityArg {
    Private,
    Public,
    Global,
}

impl From<VisibilityArg> for Visibility {
    fn from(v: VisibilityArg) -> Self {
        match v {
            VisibilityArg::Private => Visibility::Private,
            VisibilityArg::Public => Visibility::Public,
            VisibilityArg::Global => Visibility::Global,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    All,
}

/// Write only if the row is still at this version (as the admin API's If-Match); a stale one
/// changes nothing and exits 75.
#[derive(Args, Debug, Clone, Copy)]
pub struct Precondition {
    #[arg(long, value_name = "VERSION")]
    pub if_version: Option<i64>,
}

impl Precondition {
    fn get(self) -> IfVersion {
        self.if_version.map_or(IfVersion::Any, IfVersion::exactly)
    }
}

#[derive(Subcommand, Debug)]
pub enum CompanyCommand {
    /// Create a company (staff).
    Create {
        #[arg(long)]
        name: String,
        /// The company domain, e.g. acme.example
        #[arg(long)]
        domain: String,
        #[arg(long, value_parser = parse_edition, default_value = "professional")]
        edition: Edition,
        /// A Development Partner company registers sandbox apps.
        #[arg(long)]
        development_partner: bool,
        /// A client company that may build apps for its own use.
        #[arg(long)]
        own_use_apps: bool,
    },
    /// List companies (staff: all; an admin: their own).
    List,
    /// Show a company (by id or domain).
    Show {
        /// The company's id or domain.
        company: CompanyRef,
    },
    /// Change a company (staff); only what is given changes.
    Edit {
        /// The company's id or domain.
        company: CompanyRef,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = parse_edition)]
        edition: Option<Edition>,
        #[arg(long, value_name = "true|false")]
        development_partner: Option<bool>,
        #[arg(long, value_name = "true|false")]
        own_use_apps: Option<bool>,
        #[arg(long, value_name = "true|false")]
        enabled: Option<bool>,
        #[command(flatten)]
        pre: Precondition,
    },
    /// Disable a company (staff): its users' sessions end and its apps stop being served.
    Disable {
        /// The company's id or domain.
        company: CompanyRef,
        #[command(flatten)]
        pre: Precondition,
    },
    /// Enable a disabled company again (staff).
    Enable {
        /// The company's id or domain.
        company: CompanyRef,
        #[command(flatten)]
        pre: Precondition,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin a password is generated and printed once.
    Create {
        /// The user's company (id or domain; default: the --as user's).
        #[arg(long)]
        company: Option<CompanyRef>,
        #[arg(long)]
        login_id: String,
        #[arg(long)]
        display_name: String,
        /// Read the password from standard input (never give it as an argument).
        #[arg(long)]
        password_stdin: bool,
        /// Web Services Administrator (administers web services at a Professional company).
        #[arg(long)]
        web_services_administrator: bool,
        /// Can Administer (administers web services at a Standard company).
        #[arg(long)]
        can_administer: bool,
        /// The operator's staff role (only staff may grant it).
        #[arg(long)]
        staff: bool,
    },
    /// List a company's users (default: the --as user's company).
    List {
        #[arg(long)]
        company: Option<CompanyRef>,
    },
    /// Show a user (by id or login id).
    Show {
        /// The user's id or login id.
        user: UserRef,
    },
    /// Change a user; only what is given changes. A new password, a disable or a permission
    /// taken away ends the user's sessions.
    Edit {
        /// The user's id or login id.
        user: UserRef,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, value_name = "true|false")]
        enabled: Option<bool>,
        #[arg(long, value_name = "true|false")]
        web_services_administrator: Option<bool>,
        #[arg(long, value_name = "true|false")]
        can_administer: Option<bool>,
        #[arg(long, value_name = "true|false")]
        staff: Option<bool>,
        /// Read a new password from standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        pre: Precondition,
    },
    /// Disable a user (their sessions end).
    Disable {
        /// The user's id or login id.
        user: UserRef,
        #[command(flatten)]
        pre: Precondition,
    },
    /// Enable a disabled user again.
    Enable {
        /// The user's id or login id.
        user: UserRef,
        #[command(flatten)]
        pre: Precondition,
    },
}

#[derive(Subcommand, Debug)]
pub enum AppCommand {
    /// Register a partner application from a JSON spec (the admin API's POST /apps body). The
    /// Key and Secret are printed once.
    Register {
        /// A JSON file, or - for standard input.
        #[arg(long, value_name = "FILE|-")]
        spec: PathBuf,
    },
    /// List a company's registered apps (default: the --as user's company).
    List {
        #[arg(long)]
        company: Option<CompanyRef>,
    },
    /// Show an app.
    Show {
        /// The application's id (its Key).
        #[arg(value_parser = parse_app_id)]
        app: AppId,
    },
    /// Modify an app: the JSON changes of the admin API's PATCH /apps/{id} body, and/or
    /// --active.
    #[command(group = clap::ArgGroup::new("changes").required(true).multiple(true))]
    Modify {
        /// The application's id (its Key).
        #[arg(value_parser = parse_app_id)]
        app: AppId,
        /// A JSON file, or - for standard input.
        #[arg(long, value_name = "FILE|-", group = "changes")]
        spec: Option<PathBuf>,
        /// Activate or deactivate the app (an inactive app gets no tokens).
        #[arg(long, value_name = "true|false", group = "changes")]
        active: Option<bool>,
        #[command(flatten)]
        pre: Precondition,
    },
    /// New Secret: printed once; the old secret fails from now on (or after --grace-seconds).
    NewSecret {
        /// The application's id (its Key).
        #[arg(value_parser = parse_app_id)]
        app: AppId,
        #[arg(long, default_value_t = 0)]
        grace_seconds: u64,
        #[command(flatten)]
        pre: Precondition,
    },
    /// Submit an app for the operator's review.
    Submit {
        /// The application's id (its Key).
        #[arg(value_parser = parse_app_id)]
        app: AppId,
        #[command(flatten)]
        pre: Precondition,
    },
    /// Decide on an app waiting for review (staff).
    Review {
        /// The application's id (its Key).
        #[arg(value_parser = parse_app_id)]
        app: AppId,
        #[arg(value_enum)]
        decision: Decision,
        /// Why (required to reject).
        #[arg(long, required_if_eq("decision", "reject"))]
        reason: Option<String>,
        #[command(flatten)]
        pre: Precondition,
    },
    /// The apps waiting for review, oldest first (staff).
    ReviewQueue,
    /// Set an app's visibility (staff).
    Visibility {
        /// The application's id (its Key).
        #[arg(value_parser = parse_app_id)]
        app: AppId,
        #[arg(value_enum)]
        visibility: VisibilityArg,
        #[command(flatten)]
        pre: Precondition,
    },
    /// Mark an app as a resource server, with an optional resource URI (RFC 8707), or unmark
    /// it with --off (staff).
    ResourceServer {
        /// The application's id (its Key).
        #[arg(value_parser = parse_app_id)]
        app: AppId,
        #[arg(long, conflicts_with = "off")]
        uri: Option<String>,
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        pre: Precondition,
    },
    /// Certify an approved sandbox app: its production registration, public or global
    /// (staff). Its Secret is for the developer's admins to ask for (new-secret).
    Certify {
        /// The application's id (its Key).
        #[arg(value_parser = parse_app_id)]
        app: AppId,
        #[arg(value_enum)]
        visibility: VisibilityArg,
        #[command(flatten)]
        pre: Precondition,
    },
    /// Show the production registration of a certified sandbox app.
    Production {
        /// The application's id (its Key).
        #[arg(value_parser = parse_app_id)]
        app: AppId,
    },
}

#[derive(Subcommand, Debug)]
pub enum EnablementCommand {
    /// The apps a company may enable, and whether each is enabled.
    List {
        #[arg(long)]
        company: Option<CompanyRef>,
    },
    /// Enable (on) or disable (off) an app for a company; off stops its tokens at once.
    Set {
        /// The application's id (its Key).
        #[arg(value_parser = parse_app_id)]
        app: AppId,
        #[arg(value_enum)]
        state: OnOff,
        #[arg(long)]
        company: Option<CompanyRef>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RequestTokenCommand {
    /// A company request token for an app enabled for the --as user's company, printed once.
    Create {
        /// The application's id (its Key).
        #[arg(value_parser = parse_app_id)]
        app: AppId,
    },
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Only this company's entries (staff; an admin reads only their own company's).
    #[arg(long)]
    pub company: Option<CompanyRef>,
    /// Only this action (e.g. app.register), or a kind of action (e.g. app).
    #[arg(long)]
    pub action: Option<String>,
    /// Only entries made by this login id.
    #[arg(long, value_name = "LOGIN_ID")]
    pub actor: Option<String>,
    /// Only entries about this target (an app, company, user or request id).
    #[arg(long, value_name = "ID")]
    pub target: Option<String>,
    /// At most this many entries, newest first.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub limit: u64,
    /// Entries older than this entry id (page with the last id seen).
    #[arg(long, value_name = "ID")]
    pub before: Option<i64>,
}

#[derive(Subcommand, Debug)]
pub enum SignUpRequestCommand {
    /// Sandbox sign-up requests, oldest first (staff).
    List {
        #[arg(long, value_enum, default_value = "pending")]
        status: RequestStatus,
    },
    /// Approve (making the sandbox) or reject a pending sign-up (staff).
    Decide {
        #[arg(value_parser = parse_uuid)]
        request: uuid::Uuid,
        #[arg(value_enum)]
        decision: Decision,
        /// On approval: the sandbox's edition, if not the one asked for.
        #[arg(long, value_parser = parse_edition, conflicts_with = "reason")]
        edition: Option<Edition>,
        /// Why (required to reject).
        #[arg(long, required_if_eq("decision", "reject"))]
        reason: Option<String>,
    },
}

/// A registry command, with the actor it runs as.
pub struct Session {
    pub registry: Registry,
    pub actor: Actor,
    pub output: Output,
}

impl Session {
    async fn company(&self, reference: Option<&CompanyRef>) -> Result<CompanyId, CliError> {
        let Some(CompanyRef(r)) = reference else {
            return Ok(self.actor.company_id());
        };
        if let Ok(id) = r.parse::<CompanyId>() {
            return Ok(id);
        }
        let domain = r.trim().trim_end_matches('.').to_ascii_lowercase();
        let matches: Vec<CompanyId> = self
            .registry
            .companies(&self.actor)
            .await?
            .into_iter()
            .filter(|c| c.domain == domain)
            .map(|c| c.id)
            .collect();
        match matches[..] {
            [id] => Ok(id),
            [] => Err(DomainError::not_found("company").into()),
            _ => Err(CliError::invalid(
                "company",
                format!("several companies have the domain {domain}; name one by its id"),
            )),
        }
    }

    async fn user(&self, UserRef(r): &UserRef) -> Result<User, CliError> {
        Ok(match r.parse::<UserId>() {
            Ok(id) => self.registry.user(&self.actor, id).await?,
            Err(_) => self.registry.user_by_login_id(&self.actor, r).await?,
        })
    }

    pub async fn companies(&self, cmd: CompanyCommand) -> Result<(), CliError> {
        let (r, a, out) = (&self.registry, &self.actor, self.output);
        match cmd {
            CompanyCommand::Create {
                name,
                domain,
                edition,
                development_partner,
                own_use_apps,
            } => {
                let new = NewCompany {
                    name,
                    domain,
                    edition,
                    development_partner,
                    own_use_apps,
                };
                let c = r.create_company(a, new).await?;
                emit(out, &c, |c| {
                    println!("created company {} ({})", c.name, c.domain);
                    print_company(c);
                });
            }
            CompanyCommand::List => {
                emit(out, &r.companies(a).await?, |list| {
                    let mut t = Table::new(&[
                        "ID", "DOMAIN", "NAME", "EDITION", "KIND", "ENABLED", "VERSION",
                    ]);
                    for c in list {
                        t.row(vec![
                            c.id.to_string(),
                            c.domain.clone(),
                            c.name.clone(),
                            c.edition.as_str().into(),
                            company_kind(c).into(),
                            yes_no(c.enabled),
                            c.version.to_string(),
                        ]);
                    }
                    t.print("no companies");
                });
            }
            CompanyCommand::Show { company } => {
                let id = self.company(Some(&company)).await?;
                emit(out, &r.company(a, id).await?, print_company);
            }
            CompanyCommand::Edit {
                company,
                name,
                edition,
                development_partner,
                own_use_apps,
                enabled,
                pre,
            } => {
                let changes = CompanyChanges {
                    name,
                    edition,
                    development_partner,
                    own_use_apps,
                    enabled,
                };
                self.update_company(&company, changes, pre).await?;
            }
            CompanyCommand::Disable { company, pre } => {
                let changes = CompanyChanges {
                    enabled: Some(false),
                    ..CompanyChanges::default()
                };
                self.update_company(&company, changes, pre).await?;
            }
            CompanyCommand::Enable { company, pre } => {
                let changes = CompanyChanges {
                    enabled: Some(true),
                    ..CompanyChanges::default()
                };
                self.update_company(&company, changes, pre).await?;
            }
        }
        Ok(())
    }

    async fn update_company(
        &self,
        company: &CompanyRef,
        changes: CompanyChanges,
        pre: Precondition,
    ) -> Result<(), CliError> {
        let id = self.company(Some(company)).await?;
        let c = self
            .registry
            .update_company(&self.actor, id, changes, &pre.get())
            .await?;
        emit(self.output, &c, print_company);
        Ok(())
    }
}

fn company_kind(c: &Company) -> &'static str {
    if c.development_partner {
        "development partner"
    } else if c.own_use_apps {
        "client, own-use apps"
    } else {
        "client"
    }
}

fn print_company(c: &Company) {
    fields(&[
        ("id", c.id.to_string()),
        ("name", c.name.clone()),
        ("domain", c.domain.clone()),
        ("edition", c.edition.as_str().into()),
        ("kind", company_kind(c).into()),
        ("enabled", yes_no(c.enabled)),
        ("created", time(&c.created_at)),
        ("version", c.version.to_string()),
    ]);
}

/// Reads a password from standard input: all of it from a pipe or file, one line from a
/// terminal. A final newline is not part of it.
pub fn password_from_stdin() -> Result<String, CliError> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let mut buf = String::new();
    let read = if stdin.is_terminal() {
        eprint!("password (shown as typed; pipe it in to avoid that): ");
        stdin.lock().read_line(&mut buf)
    } else {
        stdin.lock().read_to_string(&mut buf)
    };
    read.map_err(|e| CliError::invalid("password", format!("cannot read standard input: {e}")))?;
    Ok(buf.trim_end_matches(['\r', '\n']).to_owned())
}

/// Reads a JSON document from a file or (`-`) standard input, parsed as the admin API parses
/// its request bodies, so a refusal names the same field.
fn read_spec<T: DeserializeOwned>(path: &std::path::Path) -> Result<T, CliError> {
    let bytes = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::NoInput {
                path: "standard input".into(),
                message: e.to_string(),
            })?;
        buf
    } else {
        std::fs::read(path).map_err(|e| CliError::NoInput {
            path: path.display().to_string(),
            message: e.to_string(),
        })?
    };
    portico_http::extract::parse_json(&bytes).map_err(|e| match e {
        portico_http::error::ApiError::BadRequest { field, message } => {
            CliError::Invalid { field, message }
        }
        other => CliError::Invalid {
            field: None,
            message: other.to_string(),
        },
    })
}

impl Session {
    pub async fn users(&self, cmd: UserCommand) -> Result<(), CliError> {
        let (r, a, out) = (&self.registry, &self.actor, self.output);
        match cmd {
            UserCommand::Create {
                company,
                login_id,
                display_name,
                password_stdin,
                web_services_administrator,
                can_administer,
                staff,
            } => {
                let password = password_stdin.then(password_from_stdin).transpose()?;
                let company = self.company(company.as_ref()).await?;
                let new = NewUser {
                    login_id,
                    display_name,
                    password,
                    permissions: Permissions {
                        web_services_administrator,
                        can_administer,
                        staff,
                    },
                };
                let (user, generated) = r.create_user(a, company, new).await?;
                // The admin API's answer: the user, and the generated password once.
                let mut body = json!({ "user": user });
                if let Some(p) = &generated {
                    body["generated_password"] = json!(p.expose());
                }
                emit(out, &body, |_| {
                    println!("created user {} ({})", user.login_id, user.id);
                    print_user(&user);
                    match &generated {
                        Some(p) => println!("password (shown once): {}", p.expose()),
                        None => println!("password: as given"),
                    }
                });
            }
            UserCommand::List { company } => {
                let company = self.company(company.as_ref()).await?;
                emit(out, &r.users(a, company).await?, |list| {
                    let mut t = Table::new(&[
                        "ID",
                        "LOGIN ID",
                        "NAME",
                        "ENABLED",
                        "PERMISSIONS",
                        "VERSION",
                    ]);
                    for u in list {
                        t.row(vec![
                            u.id.to_string(),
                            u.login_id.clone(),
                            u.display_name.clone(),
                            yes_no(u.enabled),
                            permissions(&u.permissions),
                            u.version.to_string(),
                        ]);
                    }
                    t.print("no users");
                });
            }
            UserCommand::Show { user } => emit(out, &self.user(&user).await?, print_user),
            UserCommand::Edit {
                user,
                display_name,
                enabled,
                web_services_administrator,
                can_administer,
                staff,
                password_stdin,
                mut pre,
            } => {
                let password = password_stdin.then(password_from_stdin).transpose()?;
                let current = self.user(&user).await?;
                let flags = [web_services_administrator, can_administer, staff];
                let permissions = if flags.iter().any(Option::is_some) {
                    // Decided on the permissions just read: if they change before the write,
                    // nothing is written (exit 75) rather than undoing someone else's change.
                    pre.if_version.get_or_insert(current.version);
                    let p = current.permissions;
                    Some(Permissions {
                        web_services_administrator: web_services_administrator
                            .unwrap_or(p.web_services_administrator),
                        can_administer: can_administer.unwrap_or(p.can_administer),
                        staff: staff.unwrap_or(p.staff),
                    })
                } else {
                    None
                };
                let changes = UserChanges {
                    display_name,
                    enabled,
                    permissions,
                    password,
                };
                self.update_user(current.id, changes, pre).await?;
            }
            UserCommand::Disable { user, pre } => {
                let id = self.user(&user).await?.id;
                let changes = UserChanges {
                    enabled: Some(false),
                    ..UserChanges::default()
                };
                self.update_user(id, changes, pre).await?;
            }
            UserCommand::Enable { user, pre } => {
                let id = self.user(&user).await?.id;
                let changes = UserChanges {
                    enabled: Some(true),
                    ..UserChanges::default()
                };
                self.update_user(id, changes, pre).await?;
            }
        }
        Ok(())
    }
}

impl Session {
    async fn update_user(
        &self,
        id: UserId,
        changes: UserChanges,
        pre: Precondition,
    ) -> Result<(), CliError> {
        let u = self
            .registry
            .update_user(&self.actor, id, changes, &pre.get())
            .await?;
        emit(self.output, &u, print_user);
        Ok(())
    }

    pub async fn apps(&self, cmd: AppCommand) -> Result<(), CliError> {
        let (r, a, out) = (&self.registry, &self.actor, self.output);
        match cmd {
            AppCommand::Register { spec } => {
                let registration: AppRegistration = read_spec(&spec)?;
                let registered = r.register_app(a, registration).await?;
                emit(out, &registered, |reg| {
                    println!("registered {}", reg.app.spec.name);
                    print_credentials(reg);
                });
            }
            AppCommand::List { company } => {
                let company = self.company(company.as_ref()).await?;
                emit(out, &r.apps(a, company).await?, |list| print_apps(list));
            }
            AppCommand::Show { app } => emit(out, &r.app(a, app).await?, print_app),
            AppCommand::Modify {
                app,
                spec,
                active,
                pre,
            } => {
                let mut changes: AppChanges = match &spec {
                    Some(path) => read_spec(path)?,
                    None => AppChanges::default(),
                };
                if active.is_some() {
                    changes.active = active;
                }
                emit(
                    out,
                    &r.modify_app(a, app, changes, &pre.get()).await?,
                    print_app,
                );
            }
            AppCommand::NewSecret {
                app,
                grace_seconds,
                pre,
            } => {
                let registered = r.new_secret(a, app, grace_seconds, &pre.get()).await?;
                emit(out, &registered, |reg| {
                    println!("new secret for {}", reg.app.spec.name);
                    print_credentials(reg);
                    if grace_seconds > 0 {
                        println!("the previous secret works for {grace_seconds} more seconds");
                    } else {
                        println!("the previous secret no longer works");
                    }
                });
            }
            AppCommand::Submit { app, pre } => {
                let app = r.submit_for_review(a, app, &pre.get()).await?;
                emit(out, &app, print_app);
            }
            AppCommand::Review {
                app,
                decision,
                reason,
                pre,
            } => {
                let decision = match decision {
                    Decision::Approve => ReviewDecision::Approve { reason },
                    Decision::Reject => ReviewDecision::Reject {
                        reason: reason.unwrap_or_default(),
                    },
                };
                let app = r.review_app(a, app, decision, &pre.get()).await?;
                emit(out, &app, print_app);
            }
            AppCommand::ReviewQueue => {
                emit(out, &r.review_queue(a).await?, |list| print_apps(list));
            }
            AppCommand::Visibility {
                app,
                visibility,
                pre,
            } => {
                let app = r
                    .set_visibility(a, app, visibility.into(), &pre.get())
                    .await?;
                emit(out, &app, print_app);
            }
            AppCommand::ResourceServer { app, uri, off, pre } => {
                let app = r.set_resource_server(a, app, !off, uri, &pre.get()).await?;
                emit(out, &app, print_app);
            }
            AppCommand::Certify {
                app,
                visibility,
                pre,
            } => {
                let certified = r.certify_app(a, app, visibility.into(), &pre.get()).await?;
                emit(out, &certified, |c| {
                    println!(
                        "{} production registration {} of {}",
                        if c.created {
                            "created"
                        } else {
                            "certified again:"
                        },
                        c.production.id,
                        c.sandbox.id
                    );
                    print_app(&c.production);
                    if c.created {
                        println!(
                            "its Secret is for the developer's admins to ask for (apps new-secret)"
                        );
                    }
                });
            }
            AppCommand::Production { app } => {
                let production = r
                    .production_of(a, app)
                    .await?
                    .ok_or(DomainError::not_found("production registration"))?;
                emit(out, &production, print_app);
            }
        }
        Ok(())
    }

    pub async fn enablements(&self, cmd: EnablementCommand) -> Result<(), CliError> {
        let (r, a, out) = (&self.registry, &self.actor, self.output);
        match cmd {
            EnablementCommand::List { company } => {
                let company = self.company(company.as_ref()).await?;
                emit(out, &r.available_apps(a, company).await?, |list| {
                    let mut t = Table::new(&["APP ID", "NAME", "VISIBILITY", "OWNER", "ENABLED"]);
                    for e in list {
                        t.row(vec![
                            e.app_id.to_string(),
                            e.name.clone(),
                            name(&e.visibility),
                            e.owner_company_id.to_string(),
                            yes_no(e.enabled),
                        ]);
                    }
                    t.print("no applications available");
                });
            }
            EnablementCommand::Set {
                app,
                state,
                company,
            } => {
                let company = self.company(company.as_ref()).await?;
                let e = r.set_enabled(a, company, app, state == OnOff::On).await?;
                emit(out, &e, |e: &AvailableApp| {
                    println!(
                        "{} ({}) is {} for company {company}",
                        e.name,
                        e.app_id,
                        if e.enabled { "enabled" } else { "disabled" }
                    );
                });
            }
        }
        Ok(())
    }

    pub async fn request_tokens(&self, cmd: RequestTokenCommand) -> Result<(), CliError> {
        let RequestTokenCommand::Create { app } = cmd;
        let issued = self
            .registry
            .create_request_token(&self.actor, self.actor.company_id(), app)
            .await?;
        emit(self.output, &issued, |t| {
            fields(&[
                ("company id", t.company_id.to_string()),
                ("app id", t.app_id.to_string()),
                (
                    "request token (shown once)",
                    t.request_token.expose().to_owned(),
                ),
                ("expires", time(&t.expires_at)),
            ]);
        });
        Ok(())
    }

    pub async fn audit(&self, args: AuditArgs) -> Result<(), CliError> {
        let action = match args.action.as_deref() {
            None => None,
            Some(a) if a.contains('.') => {
                serde_json::from_value::<AuditAction>(json!(a))
                    .map_err(|_| CliError::invalid("action", format!("'{a}' is not an action")))?;
                Some(a.to_owned())
            }
            // A kind: every action it prefixes (app: app.register, app.modify, ...).
            Some(kind) => Some(format!("{kind}.")),
        };
        let actor = args.actor.as_deref().map(str::to_lowercase);
        let company = match &args.company {
            Some(c) => Some(self.company(Some(c)).await?),
            None => None,
        };
        let filtered = action.is_some() || actor.is_some() || args.target.is_some();
        let keep = |e: &AuditEntry| {
            let a = e.event.action.as_str();
            action
                .as_deref()
                .is_none_or(|want| a == want || (want.ends_with('.') && a.starts_with(want)))
                && actor.as_deref().is_none_or(|l| e.event.actor_login == l)
                && args
                    .target
                    .as_deref()
                    .is_none_or(|t| e.event.target_id == t)
        };
        // The registry reads pages of at most 500, newest first; a filter reads on until it
        // has enough or the log ends.
        let page = if filtered { 500 } else { args.limit.min(500) };
        let mut before = args.before;
        let mut found: Vec<AuditEntry> = Vec::new();
        loop {
            let entries = self
                .registry
                .audit_log(&self.actor, company, before, page)
                .await?;
            let last = entries.last().map(|e| e.id);
            let full = entries.len() as u64 == page;
            found.extend(entries.into_iter().filter(|e| keep(e)));
            found.truncate(args.limit as usize);
            match last {
                Some(id) if full && (found.len() as u64) < args.limit => before = Some(id),
                _ => break,
            }
        }
        emit(self.output, &found, |list| {
            let mut t = Table::new(&["ID", "AT", "ACTOR", "ACTION", "TARGET", "COMPANY"]);
            for e in list {
                let ev = &e.event;
                t.row(vec![
                    e.id.to_string(),
                    time(&ev.at),
                    ev.actor_login.clone(),
                    ev.action.as_str().into(),
                    format!("{} {}", ev.target_type, ev.target_id),
                    ev.company_id.map(|c| c.to_string()).unwrap_or_default(),
                ]);
            }
            t.print("no audit entries");
        });
        Ok(())
    }

    pub async fn sign_up_requests(&self, cmd: SignUpRequestCommand) -> Result<(), CliError> {
        let (r, a, out) = (&self.registry, &self.actor, self.output);
        match cmd {
            SignUpRequestCommand::List { status } => {
                let status = match status {
                    RequestStatus::Pending => Some(SandboxRequestStatus::Pending),
                    RequestStatus::Approved => Some(SandboxRequestStatus::Approved),
                    RequestStatus::Rejected => Some(SandboxRequestStatus::Rejected),
                    RequestStatus::All => None,
                };
                emit(out, &r.sandbox_requests(a, status).await?, |list| {
                    let mut t =
                        Table::new(&["ID", "LOGIN ID", "COMPANY", "EDITION", "STATUS", "CREATED"]);
                    for q in list {
                        t.row(vec![
                            q.id.to_string(),
                            q.login_id.clone(),
                            q.company_name.clone(),
                            q.edition.as_str().into(),
                            q.status.as_str().into(),
                            time(&q.created_at),
                        ]);
                    }
                    t.print("no sign-up requests");
                });
            }
            SignUpRequestCommand::Decide {
                request,
                decision,
                edition,
                reason,
            } => {
                let decision = match decision {
                    Decision::Approve => SandboxDecision::Approve { edition },
                    Decision::Reject => SandboxDecision::Reject {
                        reason: reason.unwrap_or_default(),
                    },
                };
                let decided = r.decide_sandbox_request(a, request, decision).await?;
                emit(out, &decided, |d| {
                    print_request(&d.request);
                    if let Some(c) = &d.company {
                        println!("sandbox company:");
                        print_company(c);
                    }
                });
            }
        }
        Ok(())
    }
}

fn permissions(p: &Permissions) -> String {
    let mut names = Vec::new();
    if p.web_services_administrator {
        names.push("web_services_administrator");
    }
    if p.can_administer {
        names.push("can_administer");
    }
    if p.staff {
        names.push("staff");
    }
    if names.is_empty() {
        "-".into()
    } else {
        names.join(",")
    }
}

fn print_user(u: &User) {
    fields(&[
        ("id", u.id.to_string()),
        ("login id", u.login_id.clone()),
        ("display name", u.display_name.clone()),
        ("company id", u.company_id.to_string()),
        ("enabled", yes_no(u.enabled)),
        ("permissions", permissions(&u.permissions)),
        ("created", time(&u.created_at)),
        ("version", u.version.to_string()),
    ]);
}

fn print_apps(list: &[PartnerApp]) {
    let mut t = Table::new(&[
        "ID (KEY)",
        "NAME",
        "ACTIVE",
        "VISIBILITY",
        "REVIEW",
        "VERSION",
    ]);
    for app in list {
        t.row(vec![
            app.id.to_string(),
            app.spec.name.clone(),
            yes_no(app.spec.active),
            name(&app.visibility),
            name(&app.review.status),
            app.version.to_string(),
        ]);
    }
    t.print("no applications");
}

fn print_app(app: &PartnerApp) {
    let s = &app.spec;
    let apis = s
        .apis
        .iter()
        .map(|a| {
            if a.sensitive_data_groups.is_empty() {
                a.api.clone()
            } else {
                format!("{} [{}]", a.api, a.sensitive_data_groups.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(", ")
        }
    };
    let mut review = name(&app.review.status);
    if let Some(reason) = &app.review.reason {
        review = format!("{review} ({reason})");
    }
    let mut lines = vec![
        ("id (key)", app.id.to_string()),
        ("name", s.name.clone()),
        ("description", s.description.clone()),
        ("company id", app.company_id.to_string()),
        ("active", yes_no(s.active)),
        ("visibility", name(&app.visibility)),
        ("review", review),
        ("apis", if apis.is_empty() { "-".into() } else { apis }),
        ("redirect uris", list(s.redirect_uris.clone())),
        (
            "grant types",
            list(s.grant_types.iter().map(name).collect()),
        ),
        (
            "client auth",
            list(
                s.security
                    .token_endpoint_auth_methods
                    .iter()
                    .map(name)
                    .collect(),
            ),
        ),
        ("resource server", yes_no(app.resource_server)),
    ];
    if let Some(uri) = &app.resource_uri {
        lines.push(("resource uri", uri.clone()));
    }
    if let Some(from) = app.certified_from {
        lines.push(("certified from", from.to_string()));
    }
    lines.push(("updated", time(&app.updated_at)));
    lines.push(("version", app.version.to_string()));
    fields(&lines);
}

fn print_credentials(reg: &RegisteredApp) {
    let secret = match &reg.client_secret {
        Some(s) => s.expose().to_owned(),
        None => "none: the application authenticates with its keys only".into(),
    };
    fields(&[
        ("key (client id)", reg.client_id.clone()),
        ("client secret (shown once)", secret),
        ("company domain", reg.company_domain.clone()),
        ("version", reg.app.version.to_string()),
    ]);
}

fn print_request(q: &SandboxRequest) {
    let mut lines = vec![
        ("id", q.id.to_string()),
        ("login id", q.login_id.clone()),
        ("display name", q.display_name.clone()),
        ("company name", q.company_name.clone()),
        ("edition", q.edition.as_str().into()),
        ("status", q.status.as_str().into()),
        ("created", time(&q.created_at)),
    ];
    if let Some(reason) = &q.reason {
        lines.push(("reason", reason.clone()));
    }
    if let Some(c) = q.company_id {
        lines.push(("company id", c.to_string()));
    }
    fields(&lines);
}
