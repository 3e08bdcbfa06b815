//! Users: people who sign in, each belonging to one company.

use crate::{CompanyId, DomainError, DomainResult, UserId, validate};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a user may do. `staff` is the operator's own role (reviews apps, sets visibility); the
/// other two are company permissions whose meaning depends on the company's edition (see
/// [`crate::Actor::administers_web_services`]).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    #[serde(default)]
    pub web_services_administrator: bool,
    #[serde(default)]
    pub can_administer: bool,
    #[serde(default)]
    pub staff: bool,
}

impl Permissions {
    /// The permission that administers web services at `edition` (see
    /// [`crate::Actor::administers_web_services`]): what a company's first admin holds.
    pub fn administrator_of(edition: crate::Edition) -> Self {
        Self {
            web_services_administrator: edition == crate::Edition::Professional,
            can_administer: edition == crate::Edition::Standard,
            staff: false,
        }
    }

    /// Whether `next` takes away any permission this set grants.
    pub fn loses_any(&self, next: &Permissions) -> bool {
        (self.web_services_administrator && !next.web_services_administrator)
            || (self.can_administer && !next.can_administer)
            || (self.staff && !next.staff)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub company_id: CompanyId,
    /// Globally unique sign-in name, stored lower-cased.
    pub login_id: String,
    pub display_name: String,
    pub enabled: bool,
    pub permissions: Permissions,
    pub created_at: DateTime<Utc>,
    /// Bumped by every change; the admin API's `ETag`.
    pub version: i64,
}

/// A request to create a user. The password is optional: without one, the service generates a
/// password and returns it once.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::login_id))]
    pub login_id: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::display_text_200))]
    pub display_name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::password_or_null))]
    pub password: Option<String>,
    #[serde(default)]
    pub permissions: Permissions,
}

impl NewUser {
    pub fn validate(mut self) -> DomainResult<Self> {
        self.login_id = validate_login_id(&self.login_id)?;
        self.display_name = validate::display_text("display_name", &self.display_name, 200)?;
        if let Some(pw) = &self.password {
            validate_password(pw)?;
        }
        Ok(self)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::display_text_200_or_null))]
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    pub permissions: Option<Permissions>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::password_or_null))]
    pub password: Option<String>,
}

impl UserChanges {
    /// Applies the non-secret changes; the password is handled by the caller (it is hashed).
    pub fn apply(&self, user: &User) -> DomainResult<User> {
        let mut next = user.clone();
        if let Some(name) = &self.display_name {
            next.display_name = validate::display_text("display_name", name, 200)?;
        }
        if let Some(enabled) = self.enabled {
            next.enabled = enabled;
        }
        if let Some(p) = self.permissions {
            next.permissions = p;
        }
        if let Some(pw) = &self.password {
            validate_password(pw)?;
        }
        Ok(next)
    }
}

/// Login ids look like e-mail addresses or plain names: 3–254 visible characters, no spaces.
pub fn validate_login_id(login_id: &str) -> DomainResult<String> {
    let v = login_id.trim().to_lowercase();
    if v.len() < 3 || v.len() > 254 {
        return Err(DomainError::invalid(
            "login_id",
            "must be 3 to 254 characters",
        ));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DomainError::invalid(
            "login_id",
            "must not contain spaces or control characters",
        ));
    }
    Ok(v)
}

/// Passwords: at least 12 characters (NIST SP 800-63B favours length over composition rules),
/// at most 1024 so hashing cost stays bounded.
pub fn validate_password(password: &str) -> DomainResult<()> {
    let n = password.chars().count();
    if n < 12 {
        return Err(DomainError::invalid(
            "password",
            "must be at least 12 characters",
        ));
    }
    if n > 1024 {
        return Err(DomainError::invalid(
            "password",
            "must be at most 1024 characters",
        ));
    }
    Ok(())
}
