//! Audit completeness (issue 15): sign-ins (and failed ones), signing-key rotations, token
//! revocations and connection deletions are in the audit log with their actor and source
//! address, and never a secret.

use crate::attacker::{BEHIND_PROXY, sign_in_from};
use crate::both_backends;
use crate::helpers::{Backend, spawn_app_with};
use crate::oauth_helpers::{answer, authorization_code, exchange, post_form, register, token};
use reqwest::StatusCode;
use serde_json::Value;

both_backends!(sign_ins_revocations_and_disconnects_are_audited);

fn entries<'a>(log: &'a Value, action: &str) -> Vec<&'a Value> {
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .collect()
}

async fn sign_ins_revocations_and_disconnects_are_audited(backend: Backend) {
    let app = spawn_app_with(backend, &[BEHIND_PROXY]).await;
    let staff = app.staff().await;
    // The first start made the signing keys: a rotation by the system.
    let (_, log) = app.get(&staff, "/audit?limit=500").await;
    let rotations = entries(&log, "keys.rotate");
    assert_eq!(rotations.len(), 1, "{log}");
    assert_eq!(rotations[0]["actor_login"], "system");
    assert!(rotations[0]["after"]["keys"][0]["kid"].is_string());
    assert!(!log.to_string().contains("sealed"), "no key material");

    // Sign-ins, from where they came; a failed one with the login id as presented.
    let login = app.developer.login_id.clone();
    let ok = sign_in_from(&app, "198.51.100.44", &login, &app.developer.password).await;
    assert_eq!(ok.status, StatusCode::OK);
    let bad = sign_in_from(&app, "198.51.100.45", &login, "not the password at all").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let nobody = sign_in_from(
        &app,
        "198.51.100.46",
        "Nobody@Example.com",
        "whatever it is",
    )
    .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    let (_, log) = app.get(&staff, "/audit?limit=500").await;
    let signed_in: Vec<_> = entries(&log, "session.sign_in")
        .into_iter()
        .filter(|e| e["source"] == "198.51.100.44")
        .collect();
    assert_eq!(signed_in.len(), 1, "{log}");
    assert_eq!(signed_in[0]["actor_login"], login.as_str());
    let failed = entries(&log, "session.sign_in_failed");
    let on_dev = failed
        .iter()
        .find(|e| e["source"] == "198.51.100.45")
        .expect("failed sign-in audited");
    assert_eq!(on_dev["actor_login"], login.as_str());
    assert_eq!(on_dev["company_id"], app.developer_company_id.as_str());
    let unknown = failed
        .iter()
        .find(|e| e["source"] == "198.51.100.46")
        .expect("unknown login audited");
    assert_eq!(unknown["actor_login"], "nobody@example.com");
    assert!(unknown["company_id"].is_null());
    assert!(!log.to_string().contains("not the password"));
    assert!(!log.to_string().contains(&app.developer.password));
    // The developer's company admins see the attempt on their user.
    let dev = app.developer().await;
    let (_, own) = app.get(&dev, "/audit?limit=500").await;
    assert!(!entries(&own, "session.sign_in_failed").is_empty());

    // Admin writes carry the source of the request too.
    let client = register(
        &app,
        &dev,
        "Audited",
        &["client_credentials", "authorization_code", "refresh_token"],
    )
    .await;
    let (_, own) = app.get(&dev, "/audit?limit=1").await;
    assert_eq!(own[0]["action"], "app.register");
    assert!(own[0]["source"].is_string(), "{own}");

    // A token revoked by its app (RFC 7009): the app is the actor, the source recorded, the
    // token itself never.
    let t = token(&app, &client, &[("grant_type", "client_credentials")]).await;
    let access = t.str("access_token");
    let resp = app
        .client
        .post(app.url("/oauth2/v0/revoke"))
        .header("x-forwarded-for", "192.0.2.77")
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Unknown tokens revoke nothing and are not recorded.
    post_form(
        &app,
        "/oauth2/v0/revoke",
        Some(&client),
        &[("token", "nothing-like-it")],
    )
    .await;
    let (_, own) = app.get(&dev, "/audit?limit=500").await;
    let revoked = entries(&own, "token.revoke");
    assert_eq!(revoked.len(), 1, "{own}");
    assert_eq!(revoked[0]["actor_login"], format!("client:{}", client.id));
    assert_eq!(revoked[0]["source"], "192.0.2.77");
    assert_eq!(revoked[0]["target_type"], "access_token");
    assert!(!own.to_string().contains(&access));

    // A user's own disconnect through Concur's endpoint: the user, from where.
    let user = app.user_of(&dev, "leaver@sandbox.portico.test").await;
    let (code, verifier) = authorization_code(&app, &user, &client, None).await;
    let tokens = exchange(&app, &client, &code, &verifier).await;
    let resp = app
        .client
        .delete(app.url("/app-mgmt/v0/connections"))
        .header("x-forwarded-for", "192.0.2.88")
        .bearer_auth(tokens.str("access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer(resp).await.status, StatusCode::OK);
    let (_, own) = app.get(&dev, "/audit?limit=500").await;
    let disconnects: Vec<_> = entries(&own, "connection.disconnect")
        .into_iter()
        .filter(|e| e["source"] == "192.0.2.88")
        .collect();
    assert_eq!(disconnects.len(), 1, "{own}");
    assert_eq!(disconnects[0]["actor_login"], "leaver@sandbox.portico.test");
    assert!(!own.to_string().contains(&tokens.str("refresh_token")));
}
