//! The one error type of the crate. `response.rs` maps it to HTTP responses.
//!
//! Display texts end up in `error_description`, so they are fixed strings that never contain
//! the token or any value taken from it.

/// Why a request or a token was rejected, or why the verifier could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The request carries no bearer token at all (RFC 6750 §3.1: challenge without error code).
    #[error("a bearer access token is required")]
    MissingToken,
    /// The request is malformed, e.g. several `Authorization` headers or an empty bearer token.
    #[error("{0}")]
    InvalidRequest(&'static str),

    /// Not a compact JWS, bad base64/JSON in the header, or an unknown `alg` such as `none`.
    #[error("the token is malformed")]
    Malformed,
    /// Longer than any token Portico issues; rejected before parsing.
    #[error("the token is too large")]
    TooLarge,
    /// Header `typ` is not `at+jwt` (RFC 9068 §2.1).
    #[error("the token type must be at+jwt")]
    WrongType,
    /// `alg` is not in the verifier's allow-list.
    #[error("the token's signing algorithm is not accepted")]
    AlgorithmNotAllowed,
    /// The header lists `crit` extensions, none of which this verifier understands.
    #[error("the token uses unsupported critical header parameters")]
    UnsupportedCritical,
    /// The header has no `kid`.
    #[error("the token has no key id")]
    MissingKeyId,
    /// No key with the token's `kid` in the issuer's JWKS, even after a refetch.
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    /// The key named by `kid` cannot be used with the token's `alg`.
    #[error("the token's algorithm does not match its key")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("the token is not intended for this audience")]
    WrongAudience,
    /// A required claim is missing or has the wrong type.
    #[error("the token has missing or malformed claims")]
    InvalidClaims,
    /// Introspection answered anything but `"active": true`.
    #[error("the token is not active")]
    Inactive,
    /// The revocation feed lists the token, its grant, its app, company or user, or the app's
    /// enablement for the company as revoked or disabled.
    #[error("the token has been revoked")]
    Revoked,

    /// A DPoP-bound token (`cnf.jkt`) presented as a bearer token: the downgrade RFC 9449
    /// §7.2 forbids, since whoever holds the token could then use it without the key.
    #[error("this token is bound to a DPoP key")]
    DpopBoundToken,
    /// A bearer token where the verifier or the route requires DPoP.
    #[error("this resource requires a DPoP-bound access token")]
    DpopRequired,
    /// `Authorization: DPoP` with a token that is not bound to a key (no `cnf.jkt`).
    #[error("the token is not bound to a DPoP key")]
    NotDpopBound,
    /// The proof's key is not the one the token is bound to (its thumbprint is not
    /// `cnf.jkt`). Answered as `invalid_token`, as in RFC 9449 §7.1.
    #[error("invalid DPoP key binding: the proof is signed with another key than the token's")]
    ProofKeyMismatch,
    /// `Authorization: DPoP` without a `DPoP` proof header.
    #[error("a DPoP proof is required")]
    MissingProof,
    /// More than one `DPoP` header (RFC 9449 §4.3 step 1).
    #[error("more than one DPoP header")]
    MultipleProofs,
    /// The proof fails a check of RFC 9449 §4.3: signature, `typ`, `alg`, `htm`, `htu`,
    /// `iat`, `ath`, ...
    #[error("{0}")]
    InvalidProof(portico_jose::DpopError),
    /// The proof's `jti` was already used within its validity window.
    #[error("the DPoP proof has already been used")]
    ProofReplayed,
    /// Nonces are required and the proof has none, or a stale or foreign one (RFC 9449 §9).
    #[error("the resource server requires a fresh nonce in the DPoP proof")]
    UseDpopNonce {
        /// The nonce to retry with, sent as `DPoP-Nonce`.
        nonce: String,
    },

    /// The token is valid but lacks the scope the route needs (RFC 6750 §3.1, 403).
    #[error("the token lacks the required scope")]
    InsufficientScope {
        /// The scope the route needs.
        needed: String,
    },

    /// The issuer (metadata, JWKS or introspection endpoint) could not be used right now.
    #[error("the authorization server is unavailable: {0}")]
    Unavailable(String),
    /// The introspection endpoint rejected this resource server's client credentials.
    #[error("the introspection endpoint rejected the resource server's credentials")]
    IntrospectionUnauthorized,
    /// The metadata document names another issuer than the configured one (RFC 8414 §3.3).
    #[error("issuer metadata names issuer {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The `issuer` in the metadata document.
        found: String,
    },
    /// The verifier was configured wrongly.
    #[error("invalid verifier configuration: {0}")]
    Config(String),
    /// An extractor ran without a [`Verifier`](crate::Verifier) in the request extensions.
    #[error("no verifier in the request extensions; add VerifierLayer")]
    MissingVerifier,
}

/// How an error is answered; used by the response mapping and handy for callers that log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// 401 with a bare `Bearer` challenge.
    MissingToken,
    /// 400 `invalid_request`.
    InvalidRequest,
    /// 401 `invalid_token`.
    InvalidToken,
    /// 401 `invalid_dpop_proof` (RFC 9449 §7.1).
    InvalidDpopProof,
    /// 401 `use_dpop_nonce` with a `DPoP-Nonce` header (RFC 9449 §9).
    UseDpopNonce,
    /// 403 `insufficient_scope`.
    InsufficientScope,
    /// 503: the issuer could not be reached; the token may well be fine.
    Unavailable,
    /// 500: this resource server is misconfigured.
    ServerError,
}

impl VerifyError {
    /// The class of this error, which decides the HTTP status and challenge.
    pub fn class(&self) -> ErrorClass {
        use VerifyError::*;
        match self {
            MissingToken => ErrorClass::MissingToken,
            InvalidRequest(_) => ErrorClass::InvalidRequest,
            Malformed | TooLarge | WrongType | AlgorithmNotAllowed | UnsupportedCritical
            | MissingKeyId | UnknownKey | KeyMismatch | InvalidSignature | Expired
            | NotYetValid | WrongIssuer | WrongAudience | InvalidClaims | Inactive | Revoked
            | DpopBoundToken | DpopRequired | NotDpopBound | ProofKeyMismatch => {
                ErrorClass::InvalidToken
            }
            MissingProof | MultipleProofs | InvalidProof(_) | ProofReplayed => {
                ErrorClass::InvalidDpopProof
            }
            UseDpopNonce { .. } => ErrorClass::UseDpopNonce,
            InsufficientScope { .. } => ErrorClass::InsufficientScope,
            Unavailable(_) => ErrorClass::Unavailable,
            IntrospectionUnauthorized | IssuerMismatch { .. } | Config(_) | MissingVerifier => {
                ErrorClass::ServerError
            }
        }
    }

    /// Whether the error is about DPoP itself, so that its challenge names the DPoP scheme
    /// whatever the request used.
    pub(crate) fn is_dpop_specific(&self) -> bool {
        use VerifyError::*;
        matches!(
            self,
            DpopRequired
                | NotDpopBound
                | ProofKeyMismatch
                | MissingProof
                | MultipleProofs
                | InvalidProof(_)
                | ProofReplayed
                | UseDpopNonce { .. }
        )
    }

    /// Maps a jsonwebtoken failure. Header, algorithm and key checks happen before
    /// `jsonwebtoken::decode`, so only signature and claim failures are expected here.
    pub(crate) fn from_jwt(err: &jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind as K;
        match err.kind() {
            K::InvalidSignature => Self::InvalidSignature,
            K::ExpiredSignature => Self::Expired,
            K::ImmatureSignature => Self::NotYetValid,
            K::InvalidIssuer => Self::WrongIssuer,
            K::InvalidAudience => Self::WrongAudience,
            K::MissingRequiredClaim(_) | K::InvalidClaimFormat(_) | K::Json(_) => {
                Self::InvalidClaims
            }
            K::InvalidAlgorithm | K::MissingAlgorithm | K::UnsupportedAlgorithm => {
                Self::KeyMismatch
            }
            // A key that parsed but cannot verify counts as a failed signature.
            K::InvalidEcdsaKey | K::InvalidEddsaKey | K::InvalidRsaKey(_) | K::InvalidKeyFormat => {
                Self::InvalidSignature
            }
            _ => Self::Malformed,
        }
    }
}

/// How the request presented its token; decides the scheme of the challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presented {
    /// No usable `Authorization` header.
    Nothing,
    Bearer,
    Dpop,
}

/// What the verifier (or route) accepts, for the challenges offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DpopMode {
    Off,
    Allowed,
    Required,
}

/// A refused request: the error, and what the `WWW-Authenticate` challenge must say about it.
/// The axum extractors and layers reject with it: it answers like the error (see
/// `response.rs`), in the scheme the request used (`Bearer` or `DPoP`), offering DPoP where the
/// verifier accepts it. Converts from and into [`VerifyError`].
#[derive(Debug)]
pub struct Rejection {
    pub(crate) error: VerifyError,
    pub(crate) presented: Presented,
    pub(crate) dpop: DpopMode,
}

impl Rejection {
    pub(crate) fn new(error: VerifyError, presented: Presented, dpop: DpopMode) -> Self {
        Self {
            error,
            presented,
            dpop,
        }
    }

    /// Why the request was refused.
    pub fn error(&self) -> &VerifyError {
        &self.error
    }

    /// The error, dropping the challenge context.
    pub fn into_error(self) -> VerifyError {
        self.error
    }
}

/// Answered as a bearer-token failure, as `VerifyError`'s own `IntoResponse` does.
impl From<VerifyError> for Rejection {
    fn from(error: VerifyError) -> Self {
        Self::new(error, Presented::Bearer, DpopMode::Off)
    }
}

impl From<Rejection> for VerifyError {
    fn from(rejection: Rejection) -> Self {
        rejection.error
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
