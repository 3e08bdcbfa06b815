//! The address a request comes from: the socket's peer, or, when the peer is a proxy the
//! operator trusts, the nearest address in `X-Forwarded-For` that is not one of those proxies.
//! Abuse limits key on it, so an untrusted client can never choose it.

use crate::AppState;
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// A network given as `address` or `address/prefix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not an IP address or CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{s}': the prefix length must be 0 to {max}"))?,
            None => max,
        };
        Ok(Self { network, prefix })
    }
}

impl TrustedProxy {
    fn contains(&self, addr: IpAddr) -> bool {
        let bits = |a: IpAddr| -> (u128, u8) {
            match a {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        };
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        let ((net, width), (a, a_width)) = (bits(self.network), bits(addr));
        if width != a_width {
            return false;
        }
        let shift = u32::from(width - self.prefix);
        if shift >= 128 {
            return true;
        }
        (net >> shift) == (a >> shift)
    }
}

/// Where the request comes from, as far as this server can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Resolves the client address from the peer and the forwarding header.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedProxy]) -> IpAddr {
    let trusts = |a: IpAddr| trusted.iter().any(|t| t.contains(a));
    if !trusts(peer) {
        return peer;
    }
    // Each proxy appends the address it received from; read from the nearest one back, and
    // stop at the first hop that is not a trusted proxy. Anything malformed stops the walk at
    // the last address known to be good.
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(addr) => {
                client = addr;
                if !trusts(addr) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

impl ClientAddr {
    /// The client's address for a request, for extractors that need it beside their own work.
    pub fn of(parts: &Parts, state: &AppState) -> IpAddr {
        // Without connection info (a router driven in-process) the peer is unknown; all such
        // requests then share one budget, which fails closed.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        resolve(peer, &parts.headers, &state.settings.trusted_proxies)
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self(Self::of(parts, state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_trusted_proxies_may_forward() {
        let trusted: Vec<TrustedProxy> = vec!["10.0.0.0/8".parse().unwrap()];
        // A client that is not a trusted proxy cannot choose its address.
        assert_eq!(
            resolve(ip("203.0.113.5"), &headers(&["1.2.3.4"]), &trusted),
            ip("203.0.113.5")
        );
        // Through a trusted proxy: the address it received from.
        assert_eq!(
            resolve(ip("10.1.2.3"), &headers(&["198.51.100.7"]), &trusted),
            ip("198.51.100.7")
        );
        // A client that sends its own X-Forwarded-For through the proxy: the proxy appends the
        // real address, and the spoofed one before it is ignored.
        assert_eq!(
            resolve(
                ip("10.1.2.3"),
                &headers(&["6.6.6.6, 198.51.100.7"]),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // Chained trusted proxies are skipped; junk stops the walk.
        assert_eq!(
            resolve(
                ip("10.1.2.3"),
                &headers(&["198.51.100.7", "10.9.9.9"]),
                &trusted
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(ip("10.1.2.3"), &headers(&["nonsense"]), &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(
            resolve(ip("10.1.2.3"), &headers(&[]), &trusted),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn networks_parse_and_match() {
        let t: TrustedProxy = "127.0.0.1".parse().unwrap();
        assert!(t.contains(ip("127.0.0.1")));
        assert!(t.contains(ip("::ffff:127.0.0.1")));
        assert!(!t.contains(ip("127.0.0.2")));
        let v6: TrustedProxy = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        let all: TrustedProxy = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("example.com".parse::<TrustedProxy>().is_err());
    }
}
