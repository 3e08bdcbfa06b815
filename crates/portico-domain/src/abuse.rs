//! Failure budgets: how many failed attempts (client authentications, sign-ins) a key may make
//! before it is slowed down, as a rule with no I/O. The state of a key is one number, its
//! "theoretical arrival time" in milliseconds (the generic cell rate algorithm): each failure
//! pushes it one `interval` further, time pulls it back. A key is over budget while its state
//! is more than `burst - 1` intervals ahead of now. One number per key means a store can keep
//! it with a single upsert, shared by every node.

/// `burst` failures at once, then one more per `interval_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureBudget {
    pub burst: u32,
    pub interval_ms: i64,
}

impl FailureBudget {
    /// `burst` failures at once, refilled at `per_minute` a minute.
    pub fn new(burst: u32, per_minute: u32) -> Self {
        Self {
            burst: burst.max(1),
            interval_ms: 60_000 / i64::from(per_minute.max(1)),
        }
    }

    /// The state after one more failure at `now_ms`.
    pub fn after_failure(&self, state: Option<i64>, now_ms: i64) -> i64 {
        state.unwrap_or(now_ms).max(now_ms) + self.interval_ms
    }

    /// Seconds until the key may try again, if it is over budget now.
    pub fn retry_after(&self, state: Option<i64>, now_ms: i64) -> Option<u64> {
        let allowance = i64::from(self.burst - 1) * self.interval_ms;
        let excess = state? - now_ms - allowance;
        (excess > 0).then(|| {
            u64::try_from((excess + 999) / 1000)
                .unwrap_or(u64::MAX)
                .max(1)
        })
    }
}

/// What is counted. Addresses are keyed by the network a client controls (an IPv6 /64), login
/// ids by their digest, so a key is short whatever a client sends.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FailureKey {
    Client(crate::AppId),
    ClientSource(String),
    Login(String),
    SignInSource(String),
    /// Every sandbox sign-up counts, successful or not.
    SignUpSource(String),
}

impl FailureKey {
    pub fn client_source(addr: std::net::IpAddr) -> Self {
        Self::ClientSource(network_of(addr))
    }

    pub fn sign_in_source(addr: std::net::IpAddr) -> Self {
        Self::SignInSource(network_of(addr))
    }

    pub fn sign_up_source(addr: std::net::IpAddr) -> Self {
        Self::SignUpSource(network_of(addr))
    }

    /// The network an address is counted under.
    pub fn network(addr: std::net::IpAddr) -> String {
        network_of(addr)
    }

    /// A validated, lower-cased login id.
    pub fn login(login_id: &str) -> Self {
        Self::Login(crate::TokenDigest::of(login_id).0[..32].to_owned())
    }

    /// The stored form.
    pub fn as_key(&self) -> String {
        match self {
            Self::Client(id) => format!("client:{id}"),
            Self::ClientSource(net) => format!("client-src:{net}"),
            Self::Login(digest) => format!("login:{digest}"),
            Self::SignInSource(net) => format!("login-src:{net}"),
            Self::SignUpSource(net) => format!("signup-src:{net}"),
        }
    }
}

/// An IPv4 address as is; an IPv6 address as its /64, which one subscriber usually holds whole
/// (an IPv4 address mapped into IPv6 counts as the IPv4 address).
fn network_of(addr: std::net::IpAddr) -> String {
    match addr {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_one_per_interval() {
        let b = FailureBudget::new(3, 6); // 3 at once, then one every 10 s
        let mut state = None;
        for _ in 0..3 {
            assert_eq!(b.retry_after(state, 0), None);
            state = Some(b.after_failure(state, 0));
        }
        assert_eq!(b.retry_after(state, 0), Some(10));
        assert_eq!(b.retry_after(state, 9_000), Some(1));
        assert_eq!(b.retry_after(state, 10_000), None);
        // One failure at 10 s uses the refilled slot; over budget again until 20 s.
        state = Some(b.after_failure(state, 10_000));
        assert_eq!(b.retry_after(state, 10_000), Some(10));
        // Long quiet: the whole budget is back.
        assert_eq!(b.after_failure(state, 1_000_000), 1_010_000);
    }

    #[test]
    fn failures_while_over_budget_push_the_wait_further() {
        let b = FailureBudget::new(1, 60);
        let mut state = Some(b.after_failure(None, 0));
        for _ in 0..9 {
            state = Some(b.after_failure(state, 0));
        }
        assert_eq!(b.retry_after(state, 0), Some(10));
    }

    #[test]
    fn keys_are_short_and_normalised() {
        let long = "a".repeat(60_000);
        assert_eq!(FailureKey::login(&long).as_key().len(), "login:".len() + 32);
        let a: std::net::IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(FailureKey::client_source(a), FailureKey::client_source(b));
        let mapped: std::net::IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            FailureKey::sign_in_source(mapped).as_key(),
            "login-src:192.0.2.7"
        );
    }
}
