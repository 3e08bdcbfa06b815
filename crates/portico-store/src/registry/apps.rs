use super::{corrupt, record};
use crate::{
    Store,
    entity::{company, enablement, partner_app},
    storage, unique_or_storage,
};
use async_trait::async_trait;
use portico_domain::{
    AppId, AppSpec, AuditEvent, Change, ClientAuthMethod, ClientSecurity, CompanyId, DomainError,
    DomainResult, GrantType, IdTokenAlgorithm, PartnerApp, Review, ReviewStatus, UserId,
    Visibility,
    repo::{AppPart, AppStore, ClientSecrets, Enablement, EnablementStore},
};
use sea_orm::{
    ActiveValue::NotSet,
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::{Expr, OnConflict},
};
use std::collections::HashMap;

pub(super) fn to_domain(m: partner_app::Model) -> DomainResult<PartnerApp> {
    let grant_names: Vec<String> =
        serde_json::from_str(&m.grant_types).map_err(|e| corrupt("grant types", e))?;
    let grant_types = grant_names
        .iter()
        .map(|g| GrantType::parse(g).ok_or_else(|| corrupt("grant type", g)))
        .collect::<DomainResult<_>>()?;
    let security = security_of(&m)?;
    Ok(PartnerApp {
        id: AppId(m.id),
        company_id: CompanyId(m.company_id),
        spec: AppSpec {
            name: m.name,
            description: m.description,
            active: m.active,
            apis: serde_json::from_str(&m.apis).map_err(|e| corrupt("apis", e))?,
            redirect_uris: serde_json::from_str(&m.redirect_uris)
                .map_err(|e| corrupt("redirect uris", e))?,
            grant_types,
            id_token_signed_response_alg: IdTokenAlgorithm::parse(&m.id_token_alg)
                .ok_or_else(|| corrupt("ID token algorithm", &m.id_token_alg))?,
            security,
        },
        visibility: Visibility::parse(&m.visibility)
            .ok_or_else(|| corrupt("visibility", &m.visibility))?,
        review: Review {
            status: ReviewStatus::parse(&m.review_status)
                .ok_or_else(|| corrupt("review status", &m.review_status))?,
            reason: m.review_reason,
            submitted_at: m.submitted_at,
            reviewed_by: m.reviewed_by.map(UserId),
            reviewed_at: m.reviewed_at,
        },
        resource_server: m.resource_server,
        resource_uri: m.resource_uri,
        certified_from: m.certified_from.map(AppId),
        secret_rotated_at: m.secret_rotated_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
        version: m.version,
    })
}

fn security_of(m: &partner_app::Model) -> DomainResult<ClientSecurity> {
    let names: Vec<String> =
        serde_json::from_str(&m.auth_methods).map_err(|e| corrupt("auth methods", e))?;
    Ok(ClientSecurity {
        token_endpoint_auth_methods: names
            .iter()
            .map(|n| ClientAuthMethod::parse(n).ok_or_else(|| corrupt("auth method", n)))
            .collect::<DomainResult<_>>()?,
        jwks: m
            .jwks
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt("jwks", e))?,
        dpop_bound_access_tokens: m.dpop_bound,
        require_pushed_authorization_requests: m.require_par,
    })
}

fn auth_methods(s: &ClientSecurity) -> String {
    json(
        &s.token_endpoint_auth_methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>(),
    )
}

/// Every column of a new app but the secrets.
pub(super) fn to_active(a: &PartnerApp) -> partner_app::ActiveModel {
    partner_app::ActiveModel {
        id: Set(a.id.0),
        company_id: Set(a.company_id.0),
        name: Set(a.spec.name.clone()),
        description: Set(a.spec.description.clone()),
        active: Set(a.spec.active),
        visibility: Set(a.visibility.as_str().to_owned()),
        review_status: Set(a.review.status.as_str().to_owned()),
        review_reason: Set(a.review.reason.clone()),
        submitted_at: Set(a.review.submitted_at),
        reviewed_by: Set(a.review.reviewed_by.map(|u| u.0)),
        reviewed_at: Set(a.review.reviewed_at),
        apis: Set(json(&a.spec.apis)),
        redirect_uris: Set(json(&a.spec.redirect_uris)),
        grant_types: Set(json(
            &a.spec
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>(),
        )),
        resource_server: Set(a.resource_server),
        resource_uri: Set(a.resource_uri.clone()),
        certified_from: Set(a.certified_from.map(|id| id.0)),
        id_token_alg: Set(a.spec.id_token_signed_response_alg.as_str().to_owned()),
        auth_methods: Set(auth_methods(&a.spec.security)),
        jwks: Set(a.spec.security.jwks.as_ref().map(json)),
        dpop_bound: Set(a.spec.security.dpop_bound_access_tokens),
        require_par: Set(a.spec.security.require_pushed_authorization_requests),
        secret_hash: NotSet,
        previous_secret_hash: NotSet,
        previous_secret_valid_until: NotSet,
        secret_rotated_at: Set(a.secret_rotated_at),
        created_at: Set(a.created_at),
        updated_at: Set(a.updated_at),
        version: Set(a.version),
    }
}

/// The column values an operation owns, for its conditional UPDATE.
fn owned_columns(
    a: &PartnerApp,
    parts: &[AppPart],
    secrets: Option<&ClientSecrets>,
) -> Vec<(partner_app::Column, sea_orm::Value)> {
    use partner_app::Column as C;
    let mut cols: Vec<(C, sea_orm::Value)> = vec![(C::UpdatedAt, a.updated_at.into())];
    for part in parts {
        match part {
            AppPart::Spec => cols.extend([
                (C::Name, a.spec.name.clone().into()),
                (C::Description, a.spec.description.clone().into()),
                (C::Active, a.spec.active.into()),
                (C::Apis, json(&a.spec.apis).into()),
                (C::RedirectUris, json(&a.spec.redirect_uris).into()),
                (
                    C::IdTokenAlg,
                    a.spec.id_token_signed_response_alg.as_str().into(),
                ),
                (C::AuthMethods, auth_methods(&a.spec.security).into()),
                (C::Jwks, a.spec.security.jwks.as_ref().map(json).into()),
                (
                    C::DpopBound,
                    a.spec.security.dpop_bound_access_tokens.into(),
                ),
                (
                    C::RequirePar,
                    a.spec.security.require_pushed_authorization_requests.into(),
                ),
                (
                    C::GrantTypes,
                    json(
                        &a.spec
                            .grant_types
                            .iter()
                            .map(|g| g.as_str())
                            .collect::<Vec<_>>(),
                    )
                    .into(),
                ),
            ]),
            AppPart::Review => cols.extend([
                (C::ReviewStatus, a.review.status.as_str().into()),
                (C::ReviewReason, a.review.reason.clone().into()),
                (C::SubmittedAt, a.review.submitted_at.into()),
                (C::ReviewedBy, a.review.reviewed_by.map(|u| u.0).into()),
                (C::ReviewedAt, a.review.reviewed_at.into()),
            ]),
            AppPart::Visibility => cols.push((C::Visibility, a.visibility.as_str().into())),
            AppPart::ResourceServer => cols.extend([
                (C::ResourceServer, a.resource_server.into()),
                (C::ResourceUri, a.resource_uri.clone().into()),
            ]),
        }
    }
    if let Some(s) = secrets {
        cols.extend([
            (C::SecretHash, s.current_hash.clone().into()),
            (C::PreviousSecretHash, s.previous_hash.clone().into()),
            (C::PreviousSecretValidUntil, s.previous_valid_until.into()),
            (C::SecretRotatedAt, a.secret_rotated_at.into()),
        ]);
    }
    cols
}

/// The app's list columns are plain data and cannot fail to serialize.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
}

pub(super) fn enablement_model(e: &Enablement) -> enablement::ActiveModel {
    enablement::ActiveModel {
        company_id: Set(e.company_id.0),
        app_id: Set(e.app_id.0),
        enabled: Set(e.enabled),
        updated_at: Set(e.updated_at),
        updated_by: Set(e.updated_by.map(|u| u.0)),
    }
}

/// Inserts a new app's row with its first secret. A second production registration of one
/// sandbox app is refused by the unique index on `certified_from`.
pub(super) async fn insert_app_row(
    txn: &sea_orm::DatabaseTransaction,
    app: &PartnerApp,
    secret_hash: &str,
) -> DomainResult<()> {
    let mut am = to_active(app);
    am.secret_hash = Set(secret_hash.to_owned());
    am.previous_secret_hash = Set(None);
    am.previous_secret_valid_until = Set(None);
    partner_app::Entity::insert(am)
        .exec(txn)
        .await
        .map_err(|e| {
            let (code, message) =
                if app.certified_from.is_some() && e.to_string().contains("certified_from") {
                    (
                        "already_certified",
                        "the application has a production registration already",
                    )
                } else {
                    (
                        "name_taken",
                        "the company already has an application with this name",
                    )
                };
            unique_or_storage(e, code, message)
        })?;
    Ok(())
}

#[async_trait]
impl AppStore for Store {
    async fn insert_app(
        &self,
        app: &PartnerApp,
        secret_hash: &str,
        owner_enablement: Option<&Enablement>,
        audit: &AuditEvent,
    ) -> DomainResult<()> {
        let txn = self.begin().await?;
        insert_app_row(&txn, app, secret_hash).await?;
        if let Some(enablement) = owner_enablement {
            enablement::Entity::insert(enablement_model(enablement))
                .exec(&txn)
                .await
                .map_err(storage)?;
        }
        record(&txn, audit).await?;
        self.commit(txn, &[Change::App(app.id)])
            .await
            .map_err(storage)
    }

    async fn production_of(&self, sandbox: AppId) -> DomainResult<Option<PartnerApp>> {
        partner_app::Entity::find()
            .filter(partner_app::Column::CertifiedFrom.eq(sandbox.0))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(to_domain)
            .transpose()
    }

    async fn app(&self, id: AppId) -> DomainResult<Option<PartnerApp>> {
        partner_app::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(to_domain)
            .transpose()
    }

    async fn apps_of(&self, company: CompanyId) -> DomainResult<Vec<PartnerApp>> {
        partner_app::Entity::find()
            .filter(partner_app::Column::CompanyId.eq(company.0))
            .order_by_asc(partner_app::Column::Name)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn resource_server_app(&self, resource_uri: &str) -> DomainResult<Option<PartnerApp>> {
        partner_app::Entity::find()
            .filter(partner_app::Column::ResourceUri.eq(resource_uri))
            .filter(partner_app::Column::ResourceServer.eq(true))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(to_domain)
            .transpose()
    }

    async fn apps_in_review(&self) -> DomainResult<Vec<PartnerApp>> {
        partner_app::Entity::find()
            .filter(partner_app::Column::ReviewStatus.eq(ReviewStatus::Pending.as_str()))
            .order_by_asc(partner_app::Column::SubmittedAt)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn update_app(
        &self,
        expected_version: i64,
        app: &PartnerApp,
        parts: &[AppPart],
        secrets: Option<&ClientSecrets>,
        audit: &AuditEvent,
    ) -> DomainResult<()> {
        let txn = self.begin().await?;
        let mut update = partner_app::Entity::update_many()
            .col_expr(
                partner_app::Column::Version,
                Expr::value(expected_version + 1),
            )
            .filter(partner_app::Column::Id.eq(app.id.0))
            .filter(partner_app::Column::Version.eq(expected_version));
        for (col, value) in owned_columns(app, parts, secrets) {
            update = update.col_expr(col, Expr::value(value));
        }
        let written = update.exec(&txn).await.map_err(|e| {
            if parts.contains(&AppPart::ResourceServer) {
                unique_or_storage(
                    e,
                    "resource_uri_taken",
                    "another application is the resource server of this resource_uri",
                )
            } else {
                unique_or_storage(
                    e,
                    "name_taken",
                    "the company already has an application with this name",
                )
            }
        })?;
        if written.rows_affected != 1 {
            // Changed (or deleted) since it was read: nothing is written, not even the audit.
            txn.rollback().await.map_err(storage)?;
            return Err(DomainError::stale("application"));
        }
        record(&txn, audit).await?;
        self.commit(txn, &[Change::App(app.id)])
            .await
            .map_err(storage)
    }

    async fn client_secrets(&self, id: AppId) -> DomainResult<Option<ClientSecrets>> {
        Ok(partner_app::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(|m| ClientSecrets {
                current_hash: m.secret_hash,
                previous_hash: m.previous_secret_hash,
                previous_valid_until: m.previous_secret_valid_until,
            }))
    }

    async fn apps_available_to(
        &self,
        company: CompanyId,
    ) -> DomainResult<Vec<(PartnerApp, Option<bool>)>> {
        let apps = partner_app::Entity::find()
            .filter(partner_app::Column::Active.eq(true))
            // An app of a disabled company is listed nowhere (portico_domain::owner_serves).
            .filter(
                partner_app::Column::CompanyId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(company::Column::Id)
                        .from(company::Entity)
                        .and_where(company::Column::Enabled.eq(true))
                        .to_owned(),
                ),
            )
            .filter(
                Condition::any()
                    .add(partner_app::Column::CompanyId.eq(company.0))
                    .add(partner_app::Column::Visibility.ne(Visibility::Private.as_str())),
            )
            .order_by_asc(partner_app::Column::Name)
            .all(&self.db)
            .await
            .map_err(storage)?;
        let choices: HashMap<_, _> = enablement::Entity::find()
            .filter(enablement::Column::CompanyId.eq(company.0))
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(|e| (e.app_id, e.enabled))
            .collect();
        apps.into_iter()
            .map(|m| {
                let choice = choices.get(&m.id).copied();
                Ok((to_domain(m)?, choice))
            })
            .collect()
    }
}

#[async_trait]
impl EnablementStore for Store {
    async fn enablement(&self, company: CompanyId, app: AppId) -> DomainResult<Option<bool>> {
        Ok(enablement::Entity::find_by_id((company.0, app.0))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(|e| e.enabled))
    }

    async fn set_enablement(&self, e: &Enablement, audit: &AuditEvent) -> DomainResult<()> {
        let txn = self.begin().await?;
        enablement::Entity::insert(enablement_model(e))
            .on_conflict(
                OnConflict::columns([enablement::Column::CompanyId, enablement::Column::AppId])
                    .update_columns([
                        enablement::Column::Enabled,
                        enablement::Column::UpdatedAt,
                        enablement::Column::UpdatedBy,
                    ])
                    .to_owned(),
            )
            .exec(&txn)
            .await
            .map_err(storage)?;
        record(&txn, audit).await?;
        self.commit(txn, &[Change::Enablement(e.company_id, e.app_id)])
            .await
            .map_err(storage)
    }
}
