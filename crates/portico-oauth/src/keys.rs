//! Token-signing keys: generated on first start, kept in the database with the private half
//! sealed (AES-256-GCM) under the master key, published as a JWKS.
//!
//! Signing uses aws-lc-rs key pairs parsed once: jsonwebtoken's `encode` re-parses the DER key
//! on every call, which costs as much as the signature itself. Verification (introspection)
//! goes through jsonwebtoken with decoding keys built from the published JWKs.

use crate::settings::SigningAlgorithm;
use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    digest,
    encoding::AsDer,
    rand::{SecureRandom, SystemRandom},
    rsa::{KeySize, PublicKeyComponents},
    signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
        RsaKeyPair,
    },
};
use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, jwk::Jwk};
use portico_domain::SigningKeyRecord;
use serde_json::json;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the master key must be 32 bytes, base64-encoded: {0}")]
    BadMasterKey(String),
    #[error("signing key {0} cannot be unsealed: wrong master key, or the stored key was altered")]
    CannotUnseal(String),
    #[error("signing key {kid} is malformed: {detail}")]
    Malformed { kid: String, detail: String },
    #[error("no active signing key")]
    NoActiveKey,
    #[error("key generation failed")]
    Generation,
}

/// The key that seals signing keys at rest; every node has it, so secrets every node must
/// share (the DPoP nonce key) are derived from it.
pub struct MasterKey(LessSafeKey, [u8; 32]);

impl MasterKey {
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| KeyError::BadMasterKey(e.to_string()))?;
        if bytes.len() != 32 {
            return Err(KeyError::BadMasterKey(format!("got {} bytes", bytes.len())));
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| KeyError::BadMasterKey("rejected".into()))?;
        let mut nonce_secret = [0u8; 32];
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &bytes),
            b"portico dpop nonce key",
        );
        nonce_secret.copy_from_slice(tag.as_ref());
        Ok(Self(LessSafeKey::new(key), nonce_secret))
    }

    /// The secret of the DPoP nonces (RFC 9449 §8), the same on every node.
    pub(crate) fn dpop_nonce_key(&self) -> portico_jose::NonceKey {
        portico_jose::NonceKey::new(&self.1)
    }

    /// A new random master key, base64-encoded.
    pub fn generate_base64() -> String {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the operating system's random number generator failed");
        STANDARD.encode(bytes)
    }

    /// nonce || ciphertext+tag, base64; the kid is bound as associated data so a sealed key
    /// cannot be moved to another row.
    fn seal(&self, kid: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the operating system's random number generator failed");
        let mut buf = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut buf,
            )
            .expect("AES-GCM sealing of a short buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        STANDARD.encode(out)
    }

    fn open(&self, kid: &str, sealed: &str) -> Result<Vec<u8>, KeyError> {
        let raw = STANDARD
            .decode(sealed)
            .map_err(|_| KeyError::CannotUnseal(kid.to_owned()))?;
        if raw.len() < NONCE_LEN {
            return Err(KeyError::CannotUnseal(kid.to_owned()));
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| KeyError::CannotUnseal(kid.to_owned()))?;
        let mut buf = ct.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buf)
            .map_err(|_| KeyError::CannotUnseal(kid.to_owned()))?;
        Ok(plain.to_vec())
    }
}

enum PrivateKey {
    Ed25519(Ed25519KeyPair),
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

impl PrivateKey {
    fn from_pkcs8(alg: SigningAlgorithm, der: &[u8]) -> Result<Self, String> {
        Ok(match alg {
            SigningAlgorithm::EdDSA => {
                Self::Ed25519(Ed25519KeyPair::from_pkcs8(der).map_err(|e| e.to_string())?)
            }
            SigningAlgorithm::ES256 => Self::Es256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| e.to_string())?,
            ),
            SigningAlgorithm::RS256 => {
                Self::Rs256(RsaKeyPair::from_pkcs8(der).map_err(|e| e.to_string())?)
            }
        })
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Self::Ed25519(k) => k.sign(msg).as_ref().to_vec(),
            Self::Es256(k) => k
                .sign(&rng, msg)
                .expect("ECDSA signing with a valid key does not fail")
                .as_ref()
                .to_vec(),
            Self::Rs256(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .expect("RSA signing with a valid key does not fail");
                sig
            }
        }
    }
}

/// The public JWK (with `kid`, `use`, `alg`) and the RFC 7638 thumbprint used as kid.
fn public_jwk(alg: SigningAlgorithm, key: &PrivateKey) -> (serde_json::Value, String) {
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    // Members in lexicographic order: the thumbprint input is this object's required members.
    let required = match key {
        PrivateKey::Ed25519(k) => {
            json!({ "crv": "Ed25519", "kty": "OKP", "x": b64(k.public_key().as_ref()) })
        }
        PrivateKey::Es256(k) => {
            let point = k.public_key().as_ref(); // 0x04 || x || y
            json!({ "crv": "P-256", "kty": "EC", "x": b64(&point[1..33]), "y": b64(&point[33..65]) })
        }
        PrivateKey::Rs256(k) => {
            let c = PublicKeyComponents::<Vec<u8>>::from(k.public_key());
            json!({ "e": b64(&c.e), "kty": "RSA", "n": b64(&c.n) })
        }
    };
    let canonical = canonical_json(&required);
    let kid = b64(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref());
    let mut jwk = required;
    jwk["kid"] = json!(kid);
    jwk["use"] = json!("sig");
    jwk["alg"] = json!(alg.as_str());
    (jwk, kid)
}

/// RFC 7638 §3: members sorted, no whitespace (independent of serde_json's map ordering).
fn canonical_json(v: &serde_json::Value) -> String {
    let obj = v.as_object().expect("a JWK is an object");
    let mut keys: Vec<_> = obj.keys().collect();
    keys.sort();
    let members: Vec<String> = keys
        .iter()
        .map(|k| format!("{}:{}", serde_json::to_string(k).unwrap(), obj[*k]))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// Makes a new key of `alg`, sealed under `master`, ready to store.
pub fn generate_key(
    alg: SigningAlgorithm,
    master: &MasterKey,
    now: i64,
) -> Result<SigningKeyRecord, KeyError> {
    let der = match alg {
        SigningAlgorithm::EdDSA => Ed25519KeyPair::generate()
            .and_then(|k| k.to_pkcs8v1())
            .map_err(|_| KeyError::Generation)?
            .as_ref()
            .to_vec(),
        SigningAlgorithm::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|k| k.to_pkcs8v1())
            .map_err(|_| KeyError::Generation)?
            .as_ref()
            .to_vec(),
        SigningAlgorithm::RS256 => {
            let k = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generation)?;
            AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&k)
                .map_err(|_| KeyError::Generation)?
                .as_ref()
                .to_vec()
        }
    };
    let key = PrivateKey::from_pkcs8(alg, &der).map_err(|_| KeyError::Generation)?;
    let (jwk, kid) = public_jwk(alg, &key);
    Ok(SigningKeyRecord {
        sealed_private_key: master.seal(&kid, &der),
        kid,
        algorithm: alg.as_str().to_owned(),
        public_jwk: jwk.to_string(),
        created_at: now,
        retired_at: None,
    })
}

/// One signing key in use, with the JOSE headers it signs under, made once.
struct Signer {
    kid: String,
    algorithm: SigningAlgorithm,
    key: PrivateKey,
    /// base64url of the access tokens' header (`typ: at+jwt`, RFC 9068).
    access_header_b64: String,
    /// base64url of the ID tokens' header (`typ: JWT`).
    id_header_b64: String,
}

impl Signer {
    fn sign(&self, header_b64: &str, claims_json: &[u8]) -> String {
        let mut token = String::with_capacity(header_b64.len() + claims_json.len() * 4 / 3 + 400);
        token.push_str(header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims_json, &mut token);
        let signature = self.key.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        token
    }
}

/// The signing keys in use (the newest unretired key of each algorithm: one signs access
/// tokens; ID tokens use the one of the algorithm their app chose) and the keys tokens may
/// still be verified with.
pub struct KeyRing {
    access: usize,
    signers: Vec<Signer>,
    verifiers: HashMap<String, (jsonwebtoken::Algorithm, DecodingKey)>,
    jwks: String,
    /// The stored keys this ring was built from, to tell when it is stale.
    fingerprint: Vec<(String, Option<i64>)>,
    /// Each published key: kid, when it was made, whether it signs (for the metrics).
    published: Vec<(String, i64, bool)>,
}

/// Which algorithm signs access tokens. Every algorithm has an active key: an app's ID tokens
/// may be signed with any of them (RS256 unless it chose otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUse {
    pub access: SigningAlgorithm,
}

impl KeyUse {
    /// The algorithms that need an active key, once each, the access tokens' first.
    pub fn algorithms(&self) -> Vec<SigningAlgorithm> {
        let mut all = vec![self.access];
        for alg in [
            SigningAlgorithm::RS256,
            SigningAlgorithm::ES256,
            SigningAlgorithm::EdDSA,
        ] {
            if alg != self.access {
                all.push(alg);
            }
        }
        all
    }

    /// Whether `records` has an active key for every algorithm in use, and no other.
    pub fn is_served_by(&self, records: &[SigningKeyRecord]) -> bool {
        let mut active: Vec<_> = records
            .iter()
            .filter(|r| r.retired_at.is_none())
            .filter_map(|r| SigningAlgorithm::parse(&r.algorithm))
            .collect();
        active.sort_by_key(|a| a.as_str());
        active.dedup();
        let mut wanted = self.algorithms();
        wanted.sort_by_key(|a| a.as_str());
        active == wanted
    }
}

impl KeyRing {
    /// Builds the ring from the stored keys: for each algorithm of `uses`, the newest unretired
    /// key signs; every key retired less than `keep_retired` seconds ago is still published.
    pub fn build(
        records: &[SigningKeyRecord],
        master: &MasterKey,
        now: i64,
        keep_retired: i64,
        uses: KeyUse,
    ) -> Result<Self, KeyError> {
        let malformed = |kid: &str, detail: String| KeyError::Malformed {
            kid: kid.to_owned(),
            detail,
        };
        let mut signers: Vec<Signer> = Vec::new();
        for alg in uses.algorithms() {
            let active = records
                .iter()
                .filter(|r| r.retired_at.is_none() && r.algorithm == alg.as_str())
                .max_by_key(|r| r.created_at)
                .ok_or(KeyError::NoActiveKey)?;
            let der = master.open(&active.kid, &active.sealed_private_key)?;
            let key = PrivateKey::from_pkcs8(alg, &der).map_err(|e| malformed(&active.kid, e))?;
            let header = |typ: &str| {
                URL_SAFE_NO_PAD.encode(
                    json!({ "alg": alg.as_str(), "typ": typ, "kid": active.kid }).to_string(),
                )
            };
            signers.push(Signer {
                kid: active.kid.clone(),
                algorithm: alg,
                key,
                access_header_b64: header("at+jwt"),
                id_header_b64: header("JWT"),
            });
        }
        let index = |alg: SigningAlgorithm| {
            signers
                .iter()
                .position(|s| s.algorithm == alg)
                .expect("a signer per algorithm in use")
        };
        let access = index(uses.access);
        let mut verifiers = HashMap::new();
        let mut published = Vec::new();
        let mut ages = Vec::new();
        for r in records
            .iter()
            .filter(|r| r.retired_at.is_none_or(|t| t + keep_retired > now))
        {
            let jwk_value: serde_json::Value = serde_json::from_str(&r.public_jwk)
                .map_err(|e| malformed(&r.kid, e.to_string()))?;
            let jwk: Jwk = serde_json::from_value(jwk_value.clone())
                .map_err(|e| malformed(&r.kid, e.to_string()))?;
            let alg = SigningAlgorithm::parse(&r.algorithm)
                .ok_or_else(|| malformed(&r.kid, r.algorithm.clone()))?;
            let decoding =
                DecodingKey::from_jwk(&jwk).map_err(|e| malformed(&r.kid, e.to_string()))?;
            verifiers.insert(r.kid.clone(), (alg.jwt(), decoding));
            published.push(jwk_value);
            let signs = signers.iter().any(|s| s.kid == r.kid);
            ages.push((r.kid.clone(), r.created_at, signs));
        }
        let mut fingerprint: Vec<_> = records
            .iter()
            .map(|r| (r.kid.clone(), r.retired_at))
            .collect();
        fingerprint.sort();
        Ok(Self {
            access,
            signers,
            verifiers,
            jwks: json!({ "keys": published }).to_string(),
            fingerprint,
            published: ages,
        })
    }

    /// Signs an access token (`typ: at+jwt`) over the given claims JSON.
    pub fn sign(&self, claims_json: &[u8]) -> String {
        let s = &self.signers[self.access];
        s.sign(&s.access_header_b64, claims_json)
    }

    /// Signs an ID token (`typ: JWT`) over the given claims JSON with the key of `alg`.
    pub fn sign_id_token(&self, alg: SigningAlgorithm, claims_json: &[u8]) -> String {
        let s = self
            .signers
            .iter()
            .find(|s| s.algorithm == alg)
            .expect("every algorithm has a signer");
        s.sign(&s.id_header_b64, claims_json)
    }

    /// Each published key: kid, creation time (epoch seconds), whether it signs.
    pub fn published(&self) -> &[(String, i64, bool)] {
        &self.published
    }

    /// The kid of the key signing access tokens.
    pub fn kid(&self) -> &str {
        &self.signers[self.access].kid
    }

    /// The algorithm signing access tokens.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.signers[self.access].algorithm
    }

    pub fn verifier(&self, kid: &str) -> Option<&(jsonwebtoken::Algorithm, DecodingKey)> {
        self.verifiers.get(kid)
    }

    /// The JWKS document (RFC 7517 §5).
    pub fn jwks(&self) -> &str {
        &self.jwks
    }

    /// Whether `records` describe the same keys this ring was built from.
    pub fn is_current(&self, records: &[SigningKeyRecord]) -> bool {
        let mut fp: Vec<_> = records
            .iter()
            .map(|r| (r.kid.clone(), r.retired_at))
            .collect();
        fp.sort();
        fp == self.fingerprint
    }
}

/// One key of each algorithm, as a first start makes them (tests).
#[cfg(test)]
pub(crate) fn key_set(m: &MasterKey, access: SigningAlgorithm, now: i64) -> Vec<SigningKeyRecord> {
    KeyUse { access }
        .algorithms()
        .into_iter()
        .map(|a| generate_key(a, m, now).unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Validation, decode, decode_header};

    fn master() -> MasterKey {
        MasterKey::from_base64(&MasterKey::generate_base64()).unwrap()
    }

    fn uses(alg: SigningAlgorithm) -> KeyUse {
        KeyUse { access: alg }
    }

    #[test]
    fn id_tokens_may_use_any_algorithm() {
        let m = master();
        let set = key_set(&m, SigningAlgorithm::EdDSA, 10);
        let ed = &set[0];
        let eddsa = uses(SigningAlgorithm::EdDSA);
        assert!(eddsa.is_served_by(&set));
        assert!(!eddsa.is_served_by(std::slice::from_ref(ed)));
        let ring = KeyRing::build(&set, &m, 10, 3600, eddsa).unwrap();
        let at = decode_header(ring.sign(b"{}")).unwrap();
        assert_eq!(
            (at.kid.as_deref(), at.typ.as_deref()),
            (Some(ed.kid.as_str()), Some("at+jwt"))
        );
        for alg in [
            SigningAlgorithm::RS256,
            SigningAlgorithm::ES256,
            SigningAlgorithm::EdDSA,
        ] {
            let key = set.iter().find(|k| k.algorithm == alg.as_str()).unwrap();
            let id = decode_header(ring.sign_id_token(alg, b"{}")).unwrap();
            assert_eq!(
                (id.kid.as_deref(), id.typ.as_deref()),
                (Some(key.kid.as_str()), Some("JWT"))
            );
            assert_eq!(id.alg, alg.jwt());
        }
        // Without an RSA key the ring cannot sign RS256 ID tokens: refused, not another key.
        assert!(matches!(
            KeyRing::build(std::slice::from_ref(ed), &m, 10, 3600, eddsa),
            Err(KeyError::NoActiveKey)
        ));
    }

    #[test]
    fn every_algorithm_signs_what_jsonwebtoken_verifies() {
        for alg in [
            SigningAlgorithm::EdDSA,
            SigningAlgorithm::ES256,
            SigningAlgorithm::RS256,
        ] {
            let m = master();
            let set = key_set(&m, alg, 1000);
            let record = set[0].clone();
            let ring = KeyRing::build(&set, &m, 1000, 3600, uses(alg)).unwrap();
            let token = ring.sign(br#"{"sub":"s","exp":99999999999}"#);
            let header = decode_header(&token).unwrap();
            assert_eq!(header.kid.as_deref(), Some(record.kid.as_str()));
            assert_eq!(header.typ.as_deref(), Some("at+jwt"));
            // Verify with a key built from the published JWKS, as a resource server would.
            let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(ring.jwks()).unwrap();
            let key = DecodingKey::from_jwk(set.find(&record.kid).unwrap()).unwrap();
            let mut v = Validation::new(alg.jwt());
            v.validate_aud = false;
            v.required_spec_claims.clear();
            let data = decode::<serde_json::Value>(&token, &key, &v).unwrap();
            assert_eq!(data.claims["sub"], "s");
        }
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
        let jwk = json!({ "crv": "Ed25519", "kty": "OKP", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" });
        let t = URL_SAFE_NO_PAD
            .encode(digest::digest(&digest::SHA256, canonical_json(&jwk).as_bytes()).as_ref());
        assert_eq!(t, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn sealed_keys_need_the_right_master_key_and_kid() {
        let m = master();
        let record = generate_key(SigningAlgorithm::EdDSA, &m, 0).unwrap();
        assert!(matches!(
            KeyRing::build(
                std::slice::from_ref(&record),
                &master(),
                0,
                0,
                uses(SigningAlgorithm::EdDSA)
            ),
            Err(KeyError::CannotUnseal(_))
        ));
        let moved = SigningKeyRecord {
            kid: "other".into(),
            ..record
        };
        assert!(KeyRing::build(&[moved], &m, 0, 0, uses(SigningAlgorithm::EdDSA)).is_err());
    }

    #[test]
    fn retired_keys_stay_published_for_a_while() {
        let m = master();
        let mut old = generate_key(SigningAlgorithm::EdDSA, &m, 0).unwrap();
        old.retired_at = Some(100);
        let mut records = key_set(&m, SigningAlgorithm::ES256, 100);
        let new = records[0].clone();
        records.push(old.clone());
        let ring = KeyRing::build(&records, &m, 150, 3600, uses(SigningAlgorithm::ES256)).unwrap();
        assert_eq!(ring.kid(), new.kid);
        assert!(ring.verifier(&old.kid).is_some());
        let later =
            KeyRing::build(&records, &m, 5000, 3600, uses(SigningAlgorithm::ES256)).unwrap();
        assert!(later.verifier(&old.kid).is_none());
        assert!(!later.jwks().contains(&old.kid));
        records.reverse();
        assert!(ring.is_current(&records));
    }
}
