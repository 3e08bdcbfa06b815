//! Verifier configuration.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, AlgorithmFamily};

use crate::discovery::{discover, parse_endpoint};
use crate::dpop::{Dpop, DpopConfig};
use crate::error::VerifyError;
use crate::feed::{FeedDown, FeedParams, RevocationFeed, RevocationFeedConfig};
use crate::http::default_client;
use crate::introspection::{IntrospectionConfig, Introspector};
use crate::jwks::KeyCache;
use crate::verifier::{DEFAULT_AUDIENCE, Expectations, Inner, Verifier, validation_for};

/// Upper bound for [`VerifierBuilder::leeway`].
const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// Configures and builds a [`Verifier`]. Start with [`Verifier::builder`].
#[derive(Debug)]
#[must_use]
pub struct VerifierBuilder {
    issuer: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    jwks_refetch_interval: Duration,
    jwks_max_age: Duration,
    http_timeout: Duration,
    http_client: Option<reqwest::Client>,
    introspection: Option<IntrospectionConfig>,
    revocation_feed: Option<RevocationFeedConfig>,
    dpop: Option<DpopConfig>,
}

impl VerifierBuilder {
    pub(crate) fn new(issuer: String) -> Self {
        Self {
            issuer,
            audience: DEFAULT_AUDIENCE.to_owned(),
            algorithms: vec![Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256],
            leeway: Duration::from_secs(30),
            jwks_refetch_interval: Duration::from_secs(10),
            jwks_max_age: Duration::from_secs(600),
            http_timeout: Duration::from_secs(5),
            http_client: None,
            introspection: None,
            revocation_feed: None,
            dpop: None,
        }
    }

    /// The audience this API accepts (`aud` must contain it). Default: `urn:portico:api`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// The accepted signing algorithms. Default: EdDSA, ES256, RS256. HMAC algorithms make
    /// [`build`](Self::build) fail: a resource server has no business sharing a secret with
    /// the issuer, and accepting HS* is the classic key-confusion hole.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock-skew allowance for `exp` and `nbf`. Default: 30 s; capped at 5 minutes, since a
    /// larger value only extends the life of stolen tokens.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(MAX_LEEWAY);
        self
    }

    /// Minimum time between two JWKS fetches caused by unknown `kid`s or an old key set.
    /// Default: 10 s. Concurrent misses always share one fetch.
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks_refetch_interval = interval;
        self
    }

    /// Age after which the key set is refreshed in the background, so that keys the issuer
    /// removed stop being accepted. Default: 10 minutes.
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// Timeout for each request to the issuer (default client only). Default: 5 s.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Uses this client for all requests to the issuer instead of the default one (which has
    /// the timeout above and follows no redirects).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Switches to introspection mode (RFC 7662), for APIs that must see a revocation or a
    /// disabled app at once.
    pub fn introspection(mut self, config: IntrospectionConfig) -> Self {
        self.introspection = Some(config);
        self
    }

    /// Follows Portico's revocation feed, so that locally verified tokens of a revoked grant, a
    /// disabled app and the like are refused within a second instead of at expiry. `build()`
    /// then starts a background task (and so needs a tokio runtime), which stops when the
    /// last clone of the verifier is dropped.
    pub fn revocation_feed(mut self, config: RevocationFeedConfig) -> Self {
        self.revocation_feed = Some(config);
        self
    }

    /// Accepts DPoP-bound access tokens (RFC 9449): `Authorization: DPoP` with a `DPoP` proof
    /// of the token's key, checked against the configured public URL. Bearer tokens stay
    /// accepted unless [`DpopConfig::required`]; a DPoP-bound token is never accepted as a
    /// bearer token, configured or not.
    pub fn dpop(mut self, config: DpopConfig) -> Self {
        self.dpop = Some(config);
        self
    }

    /// Discovers the issuer, checks its metadata, and loads its keys.
    pub async fn build(self) -> Result<Verifier, VerifyError> {
        let algorithms = checked_algorithms(&self.algorithms)?;
        // Before any request to the issuer: a bad URL or secret fails fast.
        let dpop = self.dpop.map(Dpop::new).transpose()?;
        if self.audience.is_empty() {
            return Err(VerifyError::Config("the audience must not be empty".into()));
        }
        let client = match self.http_client {
            Some(client) => client,
            None => default_client(self.http_timeout)?,
        };
        let metadata = discover(&client, &self.issuer).await?;
        let https_only = self.issuer.starts_with("https://");
        let jwks_uri = parse_endpoint(&metadata.jwks_uri, "jwks_uri", https_only)?;
        let keys = KeyCache::load(
            client.clone(),
            jwks_uri,
            algorithms.clone(),
            self.jwks_refetch_interval,
            self.jwks_max_age,
        )
        .await?;
        let introspection = match self.introspection {
            None => None,
            Some(config) => {
                let endpoint = metadata.introspection_endpoint.as_deref().ok_or_else(|| {
                    VerifyError::Config(
                        "introspection is configured but the issuer has no introspection_endpoint"
                            .into(),
                    )
                })?;
                let endpoint = parse_endpoint(endpoint, "introspection_endpoint", https_only)?;
                Some(Introspector::new(config, endpoint, client.clone()))
            }
        };
        let revocation_feed = match self.revocation_feed {
            None => None,
            Some(config) => {
                if tokio::runtime::Handle::try_current().is_err() {
                    return Err(VerifyError::Config(
                        "the revocation feed needs a tokio runtime".into(),
                    ));
                }
                let endpoint = metadata
                    .portico_revocation_feed_endpoint
                    .as_deref()
                    .ok_or_else(|| {
                        VerifyError::Config(
                            "the revocation feed is configured but the issuer has no \
                             portico_revocation_feed_endpoint"
                                .into(),
                        )
                    })?;
                let endpoint =
                    parse_endpoint(endpoint, "portico_revocation_feed_endpoint", https_only)?;
                // The fallback introspects with the feed's credentials, so it works without
                // `.introspection(..)`.
                let fallback = match config.when_down {
                    FeedDown::AcceptUntilExpiry => None,
                    FeedDown::Introspect => {
                        let introspection =
                            metadata.introspection_endpoint.as_deref().ok_or_else(|| {
                                VerifyError::Config(
                                    "the revocation feed falls back to introspection but the \
                                     issuer has no introspection_endpoint"
                                        .into(),
                                )
                            })?;
                        let introspection =
                            parse_endpoint(introspection, "introspection_endpoint", https_only)?;
                        let credentials = IntrospectionConfig::new(
                            config.client_id.clone(),
                            config.client_secret.clone(),
                        );
                        Some(Introspector::new(
                            credentials,
                            introspection,
                            client.clone(),
                        ))
                    }
                };
                Some(
                    RevocationFeed::start(FeedParams {
                        config,
                        endpoint,
                        client,
                        keys: Arc::clone(&keys),
                        fallback,
                        http_timeout: self.http_timeout,
                        leeway_secs: self.leeway.as_secs(),
                    })
                    .await,
                )
            }
        };
        let expect = Expectations {
            issuer: self.issuer,
            audience: self.audience,
            leeway_secs: self.leeway.as_secs(),
        };
        let validations = algorithms
            .iter()
            .map(|alg| (*alg, validation_for(*alg, &expect)))
            .collect();
        Ok(Verifier::from_inner(Inner {
            metadata,
            expect,
            validations,
            keys,
            introspection,
            revocation_feed,
            dpop,
        }))
    }
}

/// Deduplicates the allow-list and refuses HMAC.
fn checked_algorithms(algorithms: &[Algorithm]) -> Result<Vec<Algorithm>, VerifyError> {
    let mut checked = Vec::new();
    for alg in algorithms {
        if alg.family() == AlgorithmFamily::Hmac {
            return Err(VerifyError::Config(format!(
                "{alg:?} is an HMAC algorithm; only asymmetric algorithms are accepted"
            )));
        }
        if !checked.contains(alg) {
            checked.push(*alg);
        }
    }
    if checked.is_empty() {
        return Err(VerifyError::Config("no algorithm is allowed".into()));
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_is_refused_even_when_configured() {
        for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let err = checked_algorithms(&[Algorithm::EdDSA, hs]).unwrap_err();
            assert!(matches!(err, VerifyError::Config(_)));
        }
        assert!(checked_algorithms(&[]).is_err());
        assert_eq!(
            checked_algorithms(&[Algorithm::ES256, Algorithm::ES256, Algorithm::PS256]).unwrap(),
            vec![Algorithm::ES256, Algorithm::PS256]
        );
    }
}
