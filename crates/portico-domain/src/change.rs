//! Changes that caches on every node must hear about: a node that changes an app, an
//! enablement, a user or company, or revokes a token announces it; every node drops what it
//! cached about that thing. The wire form is a short text (a PostgreSQL NOTIFY payload).

use crate::{AppId, CompanyId, UserId};
use std::str::FromStr;

/// What a cache subscriber receives: a change, or word that changes may have been missed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    Change(Change),
    /// Notices may have been missed (a lost LISTEN connection, a lagging receiver): forget all
    /// cached state.
    Resync,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Company(CompanyId),
    User(UserId),
    /// The app's registration, activity, visibility or secret changed.
    App(AppId),
    Enablement(CompanyId, AppId),
    /// An access token (by `jti`) was revoked; `exp` bounds how long to remember it.
    AccessTokenRevoked {
        jti: String,
        exp: i64,
    },
    /// A grant (refresh-token family) was revoked, with all its tokens.
    GrantRevoked {
        grant_id: String,
    },
    /// Signing keys changed (rotation).
    Keys,
}

impl Change {
    pub fn encode(&self) -> String {
        match self {
            Change::Company(id) => format!("company:{id}"),
            Change::User(id) => format!("user:{id}"),
            Change::App(id) => format!("app:{id}"),
            Change::Enablement(c, a) => format!("enablement:{c}:{a}"),
            Change::AccessTokenRevoked { jti, exp } => format!("jti:{exp}:{jti}"),
            Change::GrantRevoked { grant_id } => format!("grant:{grant_id}"),
            Change::Keys => "keys".to_owned(),
        }
    }
}

impl FromStr for Change {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let (kind, rest) = s.split_once(':').unwrap_or((s, ""));
        Ok(match kind {
            "company" => Change::Company(parse_id(rest)?),
            "user" => Change::User(parse_id(rest)?),
            "app" => Change::App(parse_id(rest)?),
            "enablement" => {
                let (c, a) = rest.split_once(':').ok_or(())?;
                Change::Enablement(parse_id(c)?, parse_id(a)?)
            }
            "jti" => {
                let (exp, jti) = rest.split_once(':').ok_or(())?;
                Change::AccessTokenRevoked {
                    jti: jti.to_owned(),
                    exp: exp.parse().map_err(|_| ())?,
                }
            }
            "grant" => Change::GrantRevoked {
                grant_id: rest.to_owned(),
            },
            "keys" => Change::Keys,
            _ => return Err(()),
        })
    }
}

fn parse_id<T: FromStr>(v: &str) -> Result<T, ()> {
    v.parse().map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for c in [
            Change::Company(CompanyId::new()),
            Change::User(UserId::new()),
            Change::App(AppId::new()),
            Change::Enablement(CompanyId::new(), AppId::new()),
            Change::AccessTokenRevoked {
                jti: "abc:def".into(),
                exp: 17,
            },
            Change::GrantRevoked {
                grant_id: "g1".into(),
            },
            Change::Keys,
        ] {
            assert_eq!(c.encode().parse::<Change>(), Ok(c));
        }
        assert!("nonsense".parse::<Change>().is_err());
    }
}
