//! The New / Modify Partner Application form's Client authentication fieldset, clicked through
//! as a developer would: a keys-only app (private_key_jwt) registered with its public JWKS, the
//! field errors for a JWKS that is not JSON or holds a private member, the page that says no
//! secret exists, the settings on the app page, a Modify sent unchanged, and New Secret refused.

use crate::harness::{Browser, spawn_app};

const APP: &str = "Key Signer";
/// RFC 8037 §A.2's public Ed25519 key.
const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

fn jwks(extra: &str) -> String {
    format!(r#"{{"keys": [{{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": "{X}"{extra}}}]}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_a_keys_only_application_with_its_public_keys() {
    let app = spawn_app().await;
    let Some(mut b) = Browser::start(&app, "client-auth").await else {
        return;
    };
    b.sign_in(&app.developer).await;
    b.goto("/admin/apps/new").await;
    b.heading("New Partner Application").await;

    // A blank form: the two secret methods, no keys, no DPoP, no PAR.
    let legend = b.text("#field-client_auth > legend").await;
    assert_eq!(legend, "Client authentication");
    assert!(b.is_checked("#auth-client-secret-basic").await);
    assert!(b.is_checked("#auth-client-secret-post").await);
    assert!(!b.is_checked("#auth-private-key-jwt").await);
    assert_eq!(b.value("#jwks").await, "");
    assert!(!b.is_checked("#dpop_bound_access_tokens").await);
    assert!(!b.is_checked("#require_pushed_authorization_requests").await);
    let hint = b.text("#auth-private-key-jwt-hint").await;
    assert!(hint.contains("private key"), "{hint}");

    b.fill("#name", APP).await;
    b.fill("#redirect_uris", "https://signer.example/callback")
        .await;
    b.check("#auth-client-secret-basic", false).await;
    b.check("#auth-client-secret-post", false).await;
    b.check("#auth-private-key-jwt", true).await;
    b.check("#dpop_bound_access_tokens", true).await;
    b.check("#require_pushed_authorization_requests", true)
        .await;

    // Not JSON: an error at the textarea, not a failure.
    b.fill("#jwks", r#"{"keys": [ "#).await;
    b.click("form.app-form button[type=submit]").await;
    let error = b
        .wait_text("#field-jwks .field-error", "not valid JSON")
        .await;
    assert!(error.contains("line 1"), "{error}");
    assert!(b.text(".alert").await.contains("not valid JSON"));
    assert_eq!(
        b.find("#jwks")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );

    // A private member: the domain's error, at the textarea, naming the key and the member.
    // Everything typed is kept.
    let with_d = jwks(r#", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A""#);
    b.fill("#jwks", &with_d).await;
    b.click("form.app-form button[type=submit]").await;
    let error = b
        .wait_text("#field-jwks .field-error", "private key member")
        .await;
    assert!(error.contains(r#"Key 1, "d""#), "{error}");
    assert_eq!(b.value("#jwks").await, with_d);
    assert_eq!(b.value("#name").await, APP);
    assert!(!b.is_checked("#auth-client-secret-basic").await);
    assert!(!b.is_checked("#auth-client-secret-post").await);
    assert!(b.is_checked("#auth-private-key-jwt").await);
    assert!(b.is_checked("#dpop_bound_access_tokens").await);
    assert!(b.is_checked("#require_pushed_authorization_requests").await);
    b.screenshot("private-member-refused").await;

    // The public key alone: registered, and no secret exists to show.
    b.fill("#jwks", &jwks("")).await;
    b.screenshot("new-keys-only").await;
    b.click("form.app-form button[type=submit]").await;
    b.heading("is registered").await;
    let key = b.text("#client-id").await;
    assert_eq!(key.len(), 36, "{key}");
    let none = b.text("#no-secret").await;
    assert!(none.contains("registered keys (private_key_jwt)"), "{none}");
    assert!(none.contains("no secret exists"), "{none}");
    assert!(!b.exists("#client-secret").await);
    assert!(!b.exists("#secret-warning").await);
    assert!(b.text("#keys-only-note").await.contains("private key"));
    b.screenshot("registered-keys-only").await;

    // The app page: the methods, the key, DPoP and PAR; no secret and no New Secret.
    b.click_link("View application").await;
    b.heading(APP).await;
    let check_settings = async |b: &Browser| {
        let methods = b.text("#app-auth-methods").await;
        assert!(methods.contains("private_key_jwt"), "{methods}");
        assert!(!methods.contains("client_secret"), "{methods}");
        let keys = b.text("#app-keys").await;
        assert!(keys.contains("1 registered key"), "{keys}");
        let row = b.text("#app-keys tr[data-kid='k1']").await;
        for part in ["k1", "OKP", "Ed25519", "EdDSA"] {
            assert!(row.contains(part), "{part} missing: {row}");
        }
        assert!(b.text("#app-dpop").await.starts_with("Yes"));
        assert_eq!(b.text("#app-par").await, "Required");
        assert!(b.text("#app-secret").await.starts_with("None"));
        assert!(!b.exists("a[href$='/secret']").await, "no New Secret");
    };
    check_settings(&b).await;
    b.screenshot("application-keys-only").await;

    // Modify shows the settings, the JWKS pretty-printed; saved unchanged, nothing changes.
    b.click_link("Modify").await;
    b.heading("Modify Partner Application").await;
    let shown = b.value("#jwks").await;
    assert!(shown.contains("\n  \"keys\": ["), "{shown}");
    assert!(shown.contains(r#""kid": "k1""#), "{shown}");
    assert!(shown.contains(X), "{shown}");
    assert!(!b.is_checked("#auth-client-secret-basic").await);
    assert!(b.is_checked("#auth-private-key-jwt").await);
    assert!(b.is_checked("#dpop_bound_access_tokens").await);
    assert!(b.is_checked("#require_pushed_authorization_requests").await);
    b.screenshot("modify-keys-only").await;
    b.click("form.app-form button[type=submit]").await;
    b.wait_text(".notice", "Your changes were saved.").await;
    check_settings(&b).await;

    // New Secret: the page says why there is none; a POST anyway is refused (keys_only).
    b.goto(&format!("/admin/apps/{key}/secret")).await;
    b.heading("New Secret").await;
    let note = b.text("#keys-only-note").await;
    assert!(note.contains("no secret to renew"), "{note}");
    assert!(!b.exists("button.btn-danger").await);
    b.script(&format!(
        "var f = document.createElement('form');
         f.method = 'post'; f.action = '/admin/apps/{key}/secret';
         var t = document.createElement('input');
         t.type = 'hidden'; t.name = 'csrf_token';
         t.value = document.querySelector('input[name=csrf_token]').value;
         f.appendChild(t); document.body.appendChild(f); f.submit(); return null"
    ))
    .await
    .unwrap();
    let alert = b
        .wait_text(".alert", "authenticates with its keys only")
        .await;
    assert!(alert.contains("client_secret_basic"), "{alert}");
    b.screenshot("new-secret-refused").await;

    // Removing the keys of a keys-only app is refused at the textarea; with a secret method
    // allowed, the emptied textarea removes them and New Secret is offered again.
    b.goto(&format!("/admin/apps/{key}/edit")).await;
    b.heading("Modify Partner Application").await;
    b.fill("#jwks", "").await;
    b.click("form.app-form button[type=submit]").await;
    b.wait_text("#field-jwks .field-error", "private_key_jwt needs")
        .await;
    b.check("#auth-private-key-jwt", false).await;
    b.check("#auth-client-secret-basic", true).await;
    b.check("#dpop_bound_access_tokens", false).await;
    b.click("form.app-form button[type=submit]").await;
    b.wait_text(".notice", "Your changes were saved.").await;
    assert_eq!(b.text("#app-keys").await, "None");
    let methods = b.text("#app-auth-methods").await;
    assert!(methods.contains("client_secret_basic"), "{methods}");
    assert!(!methods.contains("private_key_jwt"), "{methods}");
    assert_eq!(b.text("#app-dpop").await, "No");
    assert_eq!(b.text("#app-par").await, "Required");
    assert!(b.exists("a[href$='/secret']").await, "New Secret is back");
    b.screenshot("application-secret-again").await;
    b.close().await;
}
