//! Client authentication as presented (`PresentedClient::from_request`): the Authorization
//! header (client_secret_basic, RFC 6749 §2.3.1) beside a form body. Raw headers find what the
//! parser does with junk; built headers (form-encoded id and secret, then base64) check that
//! every credential a client can send comes back exactly, or is refused for a stated reason.
#![no_main]

use base64::{Engine, engine::general_purpose::STANDARD};
use libfuzzer_sys::fuzz_target;

#[path = "timing.rs"]
mod timing;
use portico_oauth::params::Params;
use portico_oauth::{AuthMethod, PresentedClient};

/// The input, chosen by its first byte so that seeds stay readable text:
#[derive(Debug)]
enum Header {
    /// `n<body>`: no header, the body only (client_secret_post).
    None,
    /// `h<header>\n<body>`: whatever a client puts in the header (also any other first byte).
    Raw(String),
    /// `x<bytes>\n<body>`: `Basic base64(bytes)`: decodes, but to anything (invalid UTF-8, no
    /// colon, ...).
    Bytes(Vec<u8>),
    /// `B<id>\n<secret>\n<body>` (`b`: scheme in lower case): what a conforming client sends,
    /// id and secret form-encoded, joined by ':', base64.
    Built {
        lowercase: bool,
        id: String,
        secret: String,
    },
}

fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fn read(data: &[u8]) -> (Header, &[u8]) {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (mode, rest) = data.split_first().map_or((0, data), |(m, r)| (*m, r));
    match mode {
        b'n' => (Header::None, rest),
        b'h' => {
            let (h, body) = split(rest);
            (Header::Raw(text(h)), body)
        }
        b'x' => {
            let (h, body) = split(rest);
            (Header::Bytes(h.to_vec()), body)
        }
        b'B' | b'b' => {
            let (id, rest) = split(rest);
            let (secret, body) = split(rest);
            let header = Header::Built {
                lowercase: mode == b'b',
                id: text(id),
                secret: text(secret),
            };
            (header, body)
        }
        _ => {
            let (h, body) = split(data);
            (Header::Raw(text(h)), body)
        }
    }
}

fn has_control(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == 0x7f)
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fuzz_target!(|data: &[u8]| timing::timed(data, || {
    let (input, body) = read(data);
    let params = Params::parse(body).unwrap_or_default();
    let header = match &input {
        Header::None => None,
        Header::Raw(h) => Some(h.clone()),
        Header::Bytes(bytes) => Some(format!("Basic {}", STANDARD.encode(bytes))),
        Header::Built {
            lowercase,
            id,
            secret,
        } => {
            let scheme = if *lowercase { "basic" } else { "Basic" };
            let pair = format!("{}:{}", encode(id), encode(secret));
            Some(format!("{scheme} {}", STANDARD.encode(pair)))
        }
    };
    let result = PresentedClient::from_request(header.as_deref(), &params);
    match &result {
        Ok(c) => {
            assert!(
                !has_control(&c.client_id),
                "control in client_id {:?}",
                c.client_id
            );
            assert!(!has_control(&c.secret), "control in secret");
            match c.method {
                AuthMethod::Basic => {
                    assert!(header.is_some());
                    assert!(
                        params.get("client_secret").is_none(),
                        "both methods accepted"
                    );
                    if let Some(body_id) = params.get("client_id") {
                        assert_eq!(body_id, c.client_id, "mismatched client_id accepted");
                    }
                }
                AuthMethod::Post => {
                    assert!(header.is_none());
                    assert_eq!(params.get("client_id"), Some(c.client_id.as_str()));
                    assert_eq!(params.get("client_secret"), Some(c.secret.as_str()));
                }
            }
        }
        Err(e) => {
            assert!(!e.description().is_empty());
        }
    }
    // A conforming client's credentials come back exactly, unless refused for a stated reason.
    if let Header::Built { id, secret, .. } = &input {
        let refused_by_body = params.get("client_secret").is_some()
            || params.get("client_id").is_some_and(|b| b != id);
        if !refused_by_body && !has_control(id) && !has_control(secret) {
            let c = result.expect("a well-formed Basic header was refused");
            assert_eq!((&c.client_id, &c.secret), (id, secret));
            assert_eq!(c.method, AuthMethod::Basic);
        } else {
            assert!(result.is_err());
        }
    }
}));
