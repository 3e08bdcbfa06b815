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
pub enum ErrorClass {
    /// 401 with a bare `Bearer` challenge.
    MissingToken,
    /// 400 `invalid_request`.
    InvalidRequest,
    /// 401 `invalid_token`.
    InvalidToken,
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
            | NotYetValid | WrongIssuer | WrongAudience | InvalidClaims | Inactive | Revoked => {
                ErrorClass::InvalidToken
            }
            InsufficientScope { .. } => ErrorClass::InsufficientScope,
            Unavailable(_) => ErrorClass::Unavailable,
            IntrospectionUnauthorized | IssuerMismatch { .. } | Config(_) | MissingVerifier => {
                ErrorClass::ServerError
            }
        }
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
