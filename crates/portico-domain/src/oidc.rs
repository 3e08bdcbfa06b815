//! OpenID Connect's rules on the authorization request, as plain functions: the identity
//! scopes (`openid`, `profile`, `email`), which are not APIs of the catalog; `prompt`,
//! `max_age` and `nonce` (OIDC Core §3.1.2.1); and whether the user must sign in again.

use std::fmt;

/// The identity scopes Portico serves: `openid` asks for an ID token, `profile` and `email`
/// for the claims behind them (OIDC Core §5.4).
pub const IDENTITY_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// The longest `nonce` accepted. OIDC sets no limit; the value is echoed into every ID token of
/// the code, so it is bounded like every other parameter.
pub const MAX_NONCE_LEN: usize = 512;

/// The identity scopes of a request or grant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub openid: bool,
    pub profile: bool,
    pub email: bool,
}

impl Identity {
    pub fn is_scope(s: &str) -> bool {
        IDENTITY_SCOPES.contains(&s)
    }

    /// Splits a space-separated scope into its identity scopes and the rest (the API scopes,
    /// for the eligibility rule), keeping the rest as written. `None` stays `None`.
    pub fn split(scope: Option<&str>) -> (Identity, Option<String>) {
        let Some(scope) = scope else {
            return (Identity::default(), None);
        };
        let mut id = Identity::default();
        let mut rest = Vec::new();
        for s in scope.split(' ') {
            match s {
                "openid" => id.openid = true,
                "profile" => id.profile = true,
                "email" => id.email = true,
                other => rest.push(other),
            }
        }
        (id, Some(rest.join(" ")))
    }

    pub fn is_empty(&self) -> bool {
        *self == Identity::default()
    }

    /// `profile` and `email` mean something only with `openid` (OIDC Core §3.1.2.1: without
    /// `openid` the request is plain OAuth); asked alone they are refused as unknown scopes.
    pub fn without_openid(&self) -> Option<&'static str> {
        if self.openid {
            None
        } else if self.profile {
            Some("profile")
        } else if self.email {
            Some("email")
        } else {
            None
        }
    }

    /// The identity scopes as scope words, in a fixed order.
    pub fn words(&self) -> impl Iterator<Item = &'static str> {
        [
            (self.openid, "openid"),
            (self.profile, "profile"),
            (self.email, "email"),
        ]
        .into_iter()
        .filter_map(|(on, w)| on.then_some(w))
    }
}

/// The `prompt` parameter (OIDC Core §3.1.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    /// No page at all: an error instead of a sign-in or consent page.
    pub none: bool,
    /// Sign in again even with a live session.
    pub login: bool,
    /// Ask for consent even if it was given before.
    pub consent: bool,
    /// Let the user choose an account (Portico has one session per browser, so it signs in
    /// again).
    pub select_account: bool,
}

/// Why an authorization request's OpenID Connect parameters are refused (`invalid_request`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OidcRequestError {
    #[error("prompt has an unknown value: {0}")]
    UnknownPrompt(String),
    #[error("prompt=none cannot be combined with another prompt value")]
    PromptNoneCombined,
    #[error("max_age must be a non-negative integer number of seconds")]
    BadMaxAge,
    #[error("nonce is longer than {MAX_NONCE_LEN} characters")]
    NonceTooLong,
}

impl Prompt {
    /// Parses a space-separated `prompt`. Unknown values are refused rather than ignored: a
    /// client that asks for something this server does not do should learn it.
    pub fn parse(value: Option<&str>) -> Result<Prompt, OidcRequestError> {
        let mut p = Prompt::default();
        let Some(value) = value else { return Ok(p) };
        let mut count = 0;
        for v in value.split(' ').filter(|v| !v.is_empty()) {
            count += 1;
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => p.select_account = true,
                other => {
                    return Err(OidcRequestError::UnknownPrompt(
                        other.chars().take(40).collect(),
                    ));
                }
            }
        }
        if p.none && count > 1 {
            return Err(OidcRequestError::PromptNoneCombined);
        }
        Ok(p)
    }
}

/// `max_age`: seconds since the user last signed in that the client still accepts.
pub fn parse_max_age(value: Option<&str>) -> Result<Option<i64>, OidcRequestError> {
    match value {
        None => Ok(None),
        Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse().map(Some).map_err(|_| OidcRequestError::BadMaxAge)
        }
        Some(_) => Err(OidcRequestError::BadMaxAge),
    }
}

/// `nonce`: echoed exactly into the ID token; only its length is checked (the form reader
/// already refused control characters).
pub fn check_nonce(value: Option<&str>) -> Result<Option<&str>, OidcRequestError> {
    match value {
        Some(n) if n.chars().count() > MAX_NONCE_LEN => Err(OidcRequestError::NonceTooLong),
        other => Ok(other),
    }
}

/// What the authorization endpoint does about the user's sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInNeed {
    /// The session is good enough.
    Signed,
    /// Show the sign-in page (again, for `prompt=login` or a stale session).
    SignIn,
    /// `prompt=none` and no good session: the `login_required` error.
    LoginRequired,
}

/// Whether the user must sign in for this request: with no session, or one older than
/// `max_age`, or when `prompt` asks to sign in again; `prompt=none` turns each of these into
/// `login_required`. `auth_time`: when the session signed in, if there is one.
pub fn sign_in_need(
    prompt: Prompt,
    max_age: Option<i64>,
    auth_time: Option<i64>,
    now: i64,
) -> SignInNeed {
    let stale = match (auth_time, max_age) {
        (None, _) => true,
        // max_age=0 is prompt=login (OIDC Core §3.1.2.1); otherwise the session may be as old
        // as max_age.
        (Some(t), Some(age)) => age == 0 || now - t > age,
        (Some(_), None) => false,
    };
    let again = prompt.login || prompt.select_account;
    if prompt.none {
        if stale {
            SignInNeed::LoginRequired
        } else {
            SignInNeed::Signed
        }
    } else if stale || again {
        SignInNeed::SignIn
    } else {
        SignInNeed::Signed
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<_> = self.words().collect();
        f.write_str(&words.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_scopes_split_from_api_scopes() {
        let (id, rest) = Identity::split(Some("openid expense.report.read email"));
        assert!(id.openid && id.email && !id.profile);
        assert_eq!(rest.as_deref(), Some("expense.report.read"));
        assert_eq!(id.to_string(), "openid email");
        let (id, rest) = Identity::split(Some("openid"));
        assert!(id.openid);
        assert_eq!(rest.as_deref(), Some(""));
        assert_eq!(Identity::split(None), (Identity::default(), None));
        let (id, _) = Identity::split(Some("profile"));
        assert_eq!(id.without_openid(), Some("profile"));
    }

    #[test]
    fn prompt_values() {
        assert_eq!(Prompt::parse(None).unwrap(), Prompt::default());
        let p = Prompt::parse(Some("login consent")).unwrap();
        assert!(p.login && p.consent && !p.none);
        assert_eq!(
            Prompt::parse(Some("none login")),
            Err(OidcRequestError::PromptNoneCombined)
        );
        assert_eq!(
            Prompt::parse(Some("whenever")),
            Err(OidcRequestError::UnknownPrompt("whenever".into()))
        );
        assert!(Prompt::parse(Some("none")).unwrap().none);
    }

    #[test]
    fn max_age_and_nonce() {
        assert_eq!(parse_max_age(None), Ok(None));
        assert_eq!(parse_max_age(Some("0")), Ok(Some(0)));
        assert_eq!(parse_max_age(Some("3600")), Ok(Some(3600)));
        for bad in ["", "-1", "1.5", "ten", "99999999999", " 1"] {
            assert_eq!(
                parse_max_age(Some(bad)),
                Err(OidcRequestError::BadMaxAge),
                "{bad}"
            );
        }
        assert_eq!(check_nonce(Some("n-0S6_WzA2Mj")), Ok(Some("n-0S6_WzA2Mj")));
        let long = "x".repeat(MAX_NONCE_LEN + 1);
        assert_eq!(
            check_nonce(Some(&long)),
            Err(OidcRequestError::NonceTooLong)
        );
    }

    #[test]
    fn when_the_user_signs_in() {
        use SignInNeed::*;
        let none = Prompt {
            none: true,
            ..Prompt::default()
        };
        let login = Prompt {
            login: true,
            ..Prompt::default()
        };
        let plain = Prompt::default();
        let now = 10_000;
        let cases = [
            // prompt, max_age, auth_time, expected
            (plain, None, None, SignIn),
            (plain, None, Some(0), Signed),
            (plain, Some(60), Some(now - 30), Signed),
            (plain, Some(60), Some(now - 61), SignIn),
            (plain, Some(0), Some(now), SignIn),
            (login, None, Some(now), SignIn),
            (none, None, None, LoginRequired),
            (none, None, Some(now - 5000), Signed),
            (none, Some(60), Some(now - 61), LoginRequired),
            (none, Some(60), Some(now - 1), Signed),
        ];
        for (prompt, max_age, auth_time, expected) in cases {
            assert_eq!(
                sign_in_need(prompt, max_age, auth_time, now),
                expected,
                "{prompt:?} {max_age:?} {auth_time:?}"
            );
        }
    }
}
