//! `grant_type=refresh_token`: rotation with reuse detection. Each refresh token is used once:
//! the rotation claims it and stores its successor in one statement, refusing a token of a
//! revoked grant there too; presenting a rotated token again ends the whole grant (someone
//! else may hold the family). A refresh may narrow the scope, never widen it, and drops what
//! the app no longer registers.

use super::TokenRequest;
use crate::Inner;
use crate::error::{OAuthError, OAuthResult};
use crate::issue::{IssuedTokens, Principal};
use portico_domain::{Asked, Rotation, ScopeSet, TokenDigest};

pub(crate) const REUSED_REFRESH: &str =
    "refresh token was already used; every token of its grant is revoked";

pub(crate) async fn rotate(svc: &Inner, req: &TokenRequest<'_>) -> OAuthResult<IssuedTokens> {
    let presented = req.params.require("refresh_token")?;
    let digest = TokenDigest::of(presented);
    let now = req.now;
    let store = svc.directory.store();
    // A token this node issued moments ago needs no lookup; whether its grant was revoked
    // since is the revocation list's (or storage's) answer, and the rotation checks again.
    let found = match svc
        .directory
        .take_fresh_refresh(&digest, now, svc.settings.access_token_ttl)
    {
        Some((record, mut family)) => {
            if svc.directory.is_grant_revoked(&family.id, now).await? {
                family.revoked_at = Some(now);
            }
            Some((record, family))
        }
        None => store.find_refresh_token(&digest).await?,
    };
    let (old, family) =
        found.ok_or_else(|| OAuthError::invalid_grant("refresh token is invalid"))?;
    let app = &req.client.app;
    if family.app_id != app.id {
        return Err(OAuthError::invalid_grant(
            "refresh token was issued to another client",
        ));
    }
    if family.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant("refresh token has been revoked"));
    }
    if old.rotated_at.is_some() {
        svc.revoke_grant(&family.id, now).await;
        return Err(OAuthError::invalid_grant(REUSED_REFRESH));
    }
    if old.expires_at <= now {
        return Err(OAuthError::invalid_grant("refresh token expired"));
    }
    let original = ScopeSet::parse(&family.scope)
        .map_err(|_| OAuthError::Server("a stored grant has a malformed scope".into()))?;
    // Narrowed once, by the eligibility rule: within the original grant, and within what the
    // app registers (and the catalog offers) now.
    let principal = Principal::of_grant(&family);
    let asked = Asked::Refresh {
        scope: req.params.get("scope"),
        granted: &original,
    };
    let scope = svc.grantable_scopes(app, &principal, asked).await?;
    let (refresh_token, record) = svc.new_refresh_token(&family.id, now);
    match store
        .rotate_refresh_token(&old.digest, &record, now)
        .await?
    {
        Rotation::Rotated => svc.directory.remember_refresh(&record, &family, now),
        Rotation::AlreadyRotated => {
            svc.revoke_grant(&family.id, now).await;
            return Err(OAuthError::invalid_grant(REUSED_REFRESH));
        }
        Rotation::GrantRevoked => {
            return Err(OAuthError::invalid_grant("refresh token has been revoked"));
        }
    }
    let (access_token, expires_in) =
        svc.access_token(app, &principal, &scope, Some(&family.id), now);
    Ok(IssuedTokens {
        access_token,
        expires_in,
        scope: scope.to_string(),
        refresh_token: Some(refresh_token),
    })
}

#[cfg(test)]
mod tests {
    use crate::grants::testing::Kit;

    fn form(refresh: &str, scope: Option<&str>) -> Vec<(&'static str, String)> {
        let mut f = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh.to_owned()),
        ];
        if let Some(s) = scope {
            f.push(("scope", s.to_owned()));
        }
        f
    }

    #[tokio::test]
    async fn rotates_once_and_reuse_ends_the_grant() {
        let kit = Kit::new().await;
        let app = kit.app(&["company_request_token", "refresh_token"]).await;
        let first = kit.company_token(&app).await;
        let old = first.refresh_token.unwrap().expose().to_owned();
        let next = kit.token(&app, &form(&old, None)).await.unwrap();
        let newer = next.refresh_token.clone().unwrap().expose().to_owned();
        assert_ne!(newer, old);
        // The spent token again: refused, and the whole grant ends with it.
        let e = kit.token(&app, &form(&old, None)).await.unwrap_err();
        assert_eq!(e.description(), super::REUSED_REFRESH);
        let e = kit.token(&app, &form(&newer, None)).await.unwrap_err();
        assert_eq!(e.description(), "refresh token has been revoked");
        assert!(!kit.is_active(&app, &next.access_token).await);
    }

    #[tokio::test]
    async fn narrows_never_widens_and_belongs_to_its_client() {
        let kit = Kit::new().await;
        let app = kit.app(&["company_request_token", "refresh_token"]).await;
        let other = kit.app(&["company_request_token", "refresh_token"]).await;
        let t = kit.company_token(&app).await;
        let r = t.refresh_token.unwrap().expose().to_owned();
        let e = kit.token(&other, &form(&r, None)).await.unwrap_err();
        assert_eq!(
            e.description(),
            "refresh token was issued to another client"
        );
        let e = kit
            .token(&app, &form(&r, Some("company.settings.write")))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "invalid_scope");
        // Refusals before the rotation leave the token usable.
        let narrowed = kit
            .token(&app, &form(&r, Some("expense.report.read")))
            .await
            .unwrap();
        assert_eq!(narrowed.scope, "expense.report.read");
        let e = kit
            .token(&app, &form("no-such-token", None))
            .await
            .unwrap_err();
        assert_eq!(e.description(), "refresh token is invalid");
    }

    #[tokio::test]
    async fn a_revoked_grant_never_rotates() {
        let kit = Kit::new().await;
        let app = kit.app(&["company_request_token", "refresh_token"]).await;
        let t = kit.company_token(&app).await;
        let r = t.refresh_token.unwrap().expose().to_owned();
        kit.revoke(&app, &r).await;
        let e = kit.token(&app, &form(&r, None)).await.unwrap_err();
        assert_eq!(e.description(), "refresh token has been revoked");
    }
}
