//! `grant_type=refresh_token`: rotation with reuse detection. Each refresh token is used once:
//! the rotation claims it and stores its successor in one statement, refusing a token of a
//! revoked grant there too; presenting a rotated token again ends the whole grant (someone
//! else may hold the family), except within the grace window (see [`crate::grace`]), where the
//! same client gets the answer it lost again while the successor is unused. A refresh may narrow the scope, never widen it, and drops what
//! the app no longer registers; it may ask for some of the grant's resources (RFC 8707), never
//! others. A grant that signed a user in with `openid` (and every company grant) gets a new ID
//! token with the same subject and the original `auth_time`, without a nonce (OIDC Core §12.2).

use super::TokenRequest;
use crate::Inner;
use crate::error::{OAuthError, OAuthResult};
use crate::issue::{Issuance, IssuedTokens, Principal};
use crate::{dpop, grace};
use portico_domain::{
    Asked, RefreshTokenRecord, Rotation, ScopeSet, TokenDigest, TokenGrant, split_resources,
};

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
    // Before reuse detection: a bound token presented without its key proves nothing, and
    // must not let whoever holds a copy end the grant.
    dpop::check_binding(family.dpop_jkt.as_deref(), req.dpop_jkt.as_deref())?;
    if old.rotated_at.is_some() {
        return replay_or_end(svc, req, presented, &old, &family).await;
    }
    if old.expires_at <= now {
        return Err(OAuthError::invalid_grant("refresh token expired"));
    }
    let original = ScopeSet::parse(&family.scope)
        .map_err(|_| OAuthError::Server("a stored grant has a malformed scope".into()))?;
    // Narrowed once, by the eligibility rule: within the original grant, and within what the
    // app registers (and the catalog offers) now.
    let principal = Principal::of_grant(&family);
    let asked_scope = req.params.get("scope");
    let asked = Asked::Refresh {
        scope: asked_scope,
        granted: &original,
    };
    let granted_resources = split_resources(family.resources.as_deref());
    let (scope, target) = svc
        .resolve(
            app,
            &principal,
            asked,
            &req.params.resources(),
            granted_resources.as_deref(),
            asked_scope.is_some(),
        )
        .await?;
    let issuance = Issuance {
        app,
        principal,
        scope,
        target,
        auth_time: family.auth_time,
        nonce: None,
        dpop_jkt: req.dpop_jkt.as_deref(),
    };
    // Signed before the rotation so the answer can be kept with the rotated token for the
    // grace window; if the rotation claims nothing, these tokens are never handed out.
    let (refresh_token, record) = svc.new_refresh_token(&family.id, now);
    let tokens = svc.issue(
        &issuance,
        Some(&family.id),
        Some((refresh_token, record.expires_at)),
        now,
    );
    let reply = (svc.settings.refresh_grace > 0).then(|| grace::seal(presented, &tokens, now));
    match store
        .rotate_refresh_token(&old.digest, &record, reply.as_deref(), now)
        .await?
    {
        Rotation::Rotated => {
            svc.directory.remember_refresh(&record, &family, now);
            Ok(tokens)
        }
        // Another request rotated it first (a retry racing its original): its answer, if the
        // grace window allows, or the end of the grant.
        Rotation::AlreadyRotated => match store.find_refresh_token(&digest).await? {
            Some((old, family)) => replay_or_end(svc, req, presented, &old, &family).await,
            None => Err(OAuthError::invalid_grant("refresh token is invalid")),
        },
        Rotation::GrantRevoked => Err(OAuthError::invalid_grant("refresh token has been revoked")),
    }
}

/// A rotated token presented again: within the grace window, by its client, while its
/// successor is unused and the grant still eligible, the answer that carried the successor;
/// otherwise reuse, which ends the grant.
async fn replay_or_end(
    svc: &Inner,
    req: &TokenRequest<'_>,
    presented: &str,
    old: &RefreshTokenRecord,
    family: &TokenGrant,
) -> OAuthResult<IssuedTokens> {
    if let Some(tokens) = grace_replay(svc, req, presented, old, family).await? {
        tracing::info!(
            client_id = %req.client.app.client_id(),
            "a rotated refresh token was presented within the grace window: same answer again"
        );
        return Ok(tokens);
    }
    svc.revoke_grant(&family.id, req.now).await;
    Err(OAuthError::invalid_grant(REUSED_REFRESH))
}

async fn grace_replay(
    svc: &Inner,
    req: &TokenRequest<'_>,
    presented: &str,
    old: &RefreshTokenRecord,
    family: &TokenGrant,
) -> OAuthResult<Option<IssuedTokens>> {
    let grace = svc.settings.refresh_grace;
    let (Some(rotated_at), Some(successor), Some(sealed)) =
        (old.rotated_at, old.successor.as_ref(), old.reply.as_deref())
    else {
        return Ok(None);
    };
    if grace <= 0 || req.now - rotated_at > grace || family.app_id != req.client.app.id {
        return Ok(None);
    }
    let Some((next, grant)) = svc.directory.store().find_refresh_token(successor).await? else {
        return Ok(None);
    };
    if next.rotated_at.is_some() || grant.revoked_at.is_some() {
        return Ok(None);
    }
    // What was eligible a moment ago may not be any more (a disable in between).
    svc.check_principal(&req.client.app, &Principal::of_grant(&grant))
        .await?;
    Ok(grace::open(presented, sealed, req.now))
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
        // Without a grace window, the first reuse ends everything.
        let kit = Kit::with_grace(0).await;
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
    async fn a_lost_answer_is_given_again_within_the_grace_window() {
        let kit = Kit::with_grace(5).await;
        let app = kit.app(&["company_request_token", "refresh_token"]).await;
        let other = kit.app(&["company_request_token", "refresh_token"]).await;
        let r0 = kit.company_token(&app).await.refresh_token.unwrap();
        let r0 = r0.expose().to_owned();
        let next = kit.token(&app, &form(&r0, None)).await.unwrap();
        let r1 = next.refresh_token.clone().unwrap().expose().to_owned();
        // The answer was lost: the same pair again, as often as asked within the window.
        for _ in 0..2 {
            let again = kit.token(&app, &form(&r0, None)).await.unwrap();
            assert_eq!(again.access_token, next.access_token);
            assert_eq!(again.refresh_token.unwrap().expose(), r1);
            assert_eq!(again.scope, next.scope);
            assert!(again.expires_in <= next.expires_in && again.expires_in > 3590);
        }
        // Never to another client.
        let e = kit.token(&other, &form(&r0, None)).await.unwrap_err();
        assert_eq!(
            e.description(),
            "refresh token was issued to another client"
        );
        // Once the new token was used, the old one is plain reuse: the grant ends.
        let newer = kit.token(&app, &form(&r1, None)).await.unwrap();
        let r2 = newer.refresh_token.unwrap().expose().to_owned();
        let e = kit.token(&app, &form(&r0, None)).await.unwrap_err();
        assert_eq!(e.description(), super::REUSED_REFRESH);
        let e = kit.token(&app, &form(&r2, None)).await.unwrap_err();
        assert_eq!(e.description(), "refresh token has been revoked");
        assert!(!kit.is_active(&app, &newer.access_token).await);
    }

    #[tokio::test]
    async fn after_the_window_reuse_ends_the_grant_and_expiry_slides() {
        let kit = Kit::with_grace(1).await;
        let app = kit.app(&["company_request_token", "refresh_token"]).await;
        let first = kit.company_token(&app).await;
        let r0 = first.refresh_token.unwrap().expose().to_owned();
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let next = kit.token(&app, &form(&r0, None)).await.unwrap();
        // Sliding expiry: the refresh started a new window.
        assert!(next.refresh_expires_at.unwrap() > first.refresh_expires_at.unwrap());
        let r1 = next.refresh_token.clone().unwrap().expose().to_owned();
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let e = kit.token(&app, &form(&r0, None)).await.unwrap_err();
        assert_eq!(e.description(), super::REUSED_REFRESH);
        let e = kit.token(&app, &form(&r1, None)).await.unwrap_err();
        assert_eq!(e.description(), "refresh token has been revoked");
    }

    #[tokio::test]
    async fn no_replay_once_the_app_is_disabled() {
        let kit = Kit::with_grace(5).await;
        let app = kit.app(&["company_request_token", "refresh_token"]).await;
        let r0 = kit.company_token(&app).await.refresh_token.unwrap();
        let r0 = r0.expose().to_owned();
        kit.token(&app, &form(&r0, None)).await.unwrap();
        kit.disable_for_company(&app).await;
        let e = kit.token(&app, &form(&r0, None)).await.unwrap_err();
        assert_eq!(e.description(), crate::issue::NOT_ENABLED);
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

    #[tokio::test]
    async fn id_tokens_and_resources_on_refresh() {
        let kit = Kit::new().await;
        let app = kit.app(&["password", "refresh_token"]).await;
        let travel = "urn:portico:api:travel.profile.read";
        let expense = "urn:portico:api:expense.report.read";
        let first = kit
            .token(
                &app,
                &[
                    ("grant_type", "password".to_owned()),
                    ("username", kit.user_login.clone()),
                    ("password", kit.password.clone()),
                    (
                        "scope",
                        "openid expense.report.read travel.profile.read".to_owned(),
                    ),
                    ("resource", travel.to_owned()),
                    ("resource", expense.to_owned()),
                ],
            )
            .await
            .unwrap();
        let id = kit.id_claims(first.id_token.as_deref().unwrap());
        let r = first.refresh_token.unwrap().expose().to_owned();
        // Narrowed to one of the grant's resources: that audience, its scopes; a new ID token
        // with the same subject and sign-in time.
        let mut f = form(&r, None);
        f.push(("resource", travel.to_owned()));
        let next = kit.token(&app, &f).await.unwrap();
        assert_eq!(kit.claims(&next.access_token)["aud"], travel);
        assert_eq!(next.scope, "openid travel.profile.read");
        let again = kit.id_claims(next.id_token.as_deref().unwrap());
        assert_eq!(again["sub"], id["sub"]);
        assert_eq!(again["auth_time"], id["auth_time"]);
        assert!(again.get("nonce").is_none());
        // Never widened: a resource outside the grant is invalid_target, and the token is
        // still usable afterwards.
        let r = next.refresh_token.unwrap().expose().to_owned();
        for other in ["urn:portico:api", "urn:portico:api:imaging.readwrite"] {
            let mut f = form(&r, None);
            f.push(("resource", other.to_owned()));
            assert_eq!(
                kit.token(&app, &f).await.unwrap_err().code(),
                "invalid_target"
            );
        }
        // Nothing asked: every resource of the grant again.
        let all = kit.token(&app, &form(&r, None)).await.unwrap();
        assert_eq!(
            kit.claims(&all.access_token)["aud"],
            serde_json::json!([travel, expense])
        );
        // Dropping openid on a refresh drops the ID token.
        let r = all.refresh_token.unwrap().expose().to_owned();
        let plain = kit
            .token(&app, &form(&r, Some("expense.report.read")))
            .await
            .unwrap();
        assert!(plain.id_token.is_none());
    }
}
