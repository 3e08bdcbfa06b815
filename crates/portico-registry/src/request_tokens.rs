//! Company request tokens: a company admin generates one for an app enabled for the company;
//! the app exchanges it at the token endpoint for a company-level token (the token service's
//! `grants::company_request_token`).

use crate::Registry;
use chrono::{DateTime, Utc};
use portico_domain::{
    Actor, AppId, AuditAction, AuditEvent, CompanyId, DomainError, DomainResult, GrantType,
    PlainSecret, RequestTokenRecord,
};
use serde::Serialize;

/// Shown once: the company id and the token the app exchanges.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct IssuedRequestToken {
    pub company_id: CompanyId,
    pub app_id: AppId,
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub request_token: PlainSecret,
    pub expires_at: DateTime<Utc>,
}

fn expose<S: serde::Serializer>(s: &PlainSecret, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.expose())
}

impl Registry {
    pub async fn create_request_token(
        &self,
        actor: &Actor,
        company: CompanyId,
        app_id: AppId,
    ) -> DomainResult<IssuedRequestToken> {
        // The company's own web services admin: not even staff mint tokens for a company.
        if company != actor.company_id() {
            // Staff see every company, so for them it is there but not theirs; anyone else may
            // not learn that it exists.
            return Err(if actor.is_staff() {
                DomainError::forbidden(
                    "only the company's own web services administrators generate its request tokens",
                )
            } else {
                DomainError::not_found("company")
            });
        }
        actor.require_web_services_admin()?;
        let missing =
            || DomainError::invalid("app_id", "no such application is available to this company");
        let app = self
            .store
            .app(app_id)
            .await?
            .filter(|a| a.is_available_to(company))
            .ok_or_else(missing)?;
        let choice = self.store.enablement(company, app_id).await?;
        if !app.is_enabled_for(company, choice) {
            return Err(DomainError::invalid(
                "app_id",
                "application is not enabled for this company",
            ));
        }
        if !app.allows_grant(GrantType::CompanyRequestToken) {
            return Err(DomainError::invalid(
                "app_id",
                "the application is not registered for the company_request_token grant",
            ));
        }
        let now = Utc::now().timestamp();
        let token = PlainSecret::generate();
        let record = RequestTokenRecord {
            digest: token.digest(),
            app_id,
            company_id: company,
            created_by: actor.user_id,
            created_at: now,
            expires_at: now + self.settings.request_token_ttl.num_seconds(),
        };
        let expires_at = DateTime::from_timestamp(record.expires_at, 0).unwrap_or_else(Utc::now);
        let audit = AuditEvent::new(
            Some(actor),
            Some(company),
            AuditAction::RequestTokenCreate,
            ("app", app_id.to_string()),
            None::<&()>,
            Some(&serde_json::json!({ "expires_at": expires_at })),
        );
        self.store.insert_request_token(&record, &audit).await?;
        Ok(IssuedRequestToken {
            company_id: company,
            app_id,
            request_token: token,
            expires_at,
        })
    }
}
