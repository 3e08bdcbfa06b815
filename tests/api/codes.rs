//! Authorization codes, exactly once: a code belongs to its client (another client's attempt
//! neither burns it nor revokes anything), and a replay, sequential or parallel, on one node or
//! two, always revokes every token issued from the code.

use crate::both_backends;
use crate::helpers::{Backend, Node, PORTICO, spawn_app};
use crate::oauth_helpers::{
    Answer, Peer, authorization_code, exchange, is_active, register, token,
};
use reqwest::StatusCode;

const GRANTS: &[&str] = &["authorization_code", "refresh_token"];

async fn a_code_belongs_to_its_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let owner = register(&app, &dev, "Owner", GRANTS).await;
    let other = register(&app, &dev, "Other", GRANTS).await;
    let (code, verifier) = authorization_code(&app, &dev, &owner, None).await;

    // Another app that learned the code: refused, and the code is left as it was.
    let stolen = exchange(&app, &other, &code, &verifier).await;
    stolen.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        stolen.description(),
        "authorization code was issued to another client"
    );
    // Again: still "another client", never "already used".
    let again = exchange(&app, &other, &code, &verifier).await;
    assert_eq!(
        again.description(),
        "authorization code was issued to another client"
    );

    // Its own client redeems it, and its tokens stay live: nothing was revoked.
    let mine = exchange(&app, &owner, &code, &verifier).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let access = mine.str("access_token");
    let refresh = mine.str("refresh_token");
    assert!(is_active(&app, &owner, &access).await);
    // The other client trying once more changes nothing either.
    exchange(&app, &other, &code, &verifier)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(is_active(&app, &owner, &access).await);

    // A replay by the owner (someone holding the owner's credentials and the code) revokes
    // what was issued from it.
    let replay = exchange(&app, &owner, &code, &verifier).await;
    replay.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(
        replay.description().contains("already used"),
        "{}",
        replay.body
    );
    assert!(!is_active(&app, &owner, &access).await);
    token(
        &app,
        &owner,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

async fn parallel_replay_revokes_everything(backend: Backend) {
    let app = spawn_app(backend).await;
    let dev = app.developer().await;
    let client = register(&app, &dev, "Racer", GRANTS).await;
    // Two nodes on PostgreSQL; SQLite serves one.
    let second = match backend {
        Backend::Postgres => {
            Some(Node::start(PORTICO, &app.database_url, &app.master_key, &[]).await)
        }
        Backend::Sqlite => None,
    };
    let peer = Peer {
        base: second
            .as_ref()
            .map_or_else(|| app.base.clone(), |n| n.base.clone()),
        client: reqwest::Client::new(),
    };
    for round in 0..10 {
        let (code, verifier) = authorization_code(&app, &dev, &client, None).await;
        let (a, b, c, d) = tokio::join!(
            exchange(&app, &client, &code, &verifier),
            exchange(&peer, &client, &code, &verifier),
            exchange(&app, &client, &code, &verifier),
            exchange(&peer, &client, &code, &verifier),
        );
        let answers = [a, b, c, d];
        let winners: Vec<&Answer> = answers
            .iter()
            .filter(|x| x.status == StatusCode::OK)
            .collect();
        assert!(
            winners.len() <= 1,
            "round {round}: two exchanges of one code succeeded"
        );
        for loser in answers.iter().filter(|x| x.status != StatusCode::OK) {
            loser.expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
        }
        // Every token issued from the code is revoked, on both nodes, whoever won.
        for w in winners {
            let access = w.str("access_token");
            let refresh = w.str("refresh_token");
            assert!(
                !is_active(&app, &client, &access).await,
                "round {round}: the winner's access token survived the replay"
            );
            assert!(!is_active(&peer, &client, &access).await, "round {round}");
            token(
                &peer,
                &client,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST, "invalid_grant");
        }
    }
}

both_backends!(
    a_code_belongs_to_its_client,
    parallel_replay_revokes_everything
);
