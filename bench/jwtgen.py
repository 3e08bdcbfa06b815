"""Single-use signed JWTs for bench.py's DPoP and private_key_jwt scenarios.

Every DPoP proof (RFC 9449) and every client assertion (RFC 7523) may be used once (the server
stores its `jti`), so each request of those scenarios needs a fresh one: this module signs them
in advance, right before each wrk run, with Ed25519 (EdDSA) keys, in as many processes as the
machine has cores, and writes them as raw HTTP requests, one file per wrk thread, for
`lua/oneshot.lua` (which then only has to cut each file into requests: formatting 100,000s of
requests in Lua took longer than proofs may wait).

Needs the `cryptography` package (the rest of bench.py needs only the standard library).
"""

import base64
import json
import multiprocessing
import os
import shutil
import time

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_FORM = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
# How long a client assertion is valid (RFC 7523 wants it short; Portico takes at most 300 s).
ASSERTION_LIFETIME = 120


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact_json(value):
    return json.dumps(value, separators=(",", ":")).encode()


class Key:
    """An Ed25519 key: the private half for signing here, the public JWK for the server."""

    def __init__(self, kid=None, private=None):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        self.private = private or Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption())
        self.kid = kid
        public = Ed25519PrivateKey.from_private_bytes(self.private).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.x = b64url(public)

    def jwk(self):
        """The public key as a JWK (with its kid, if any)."""
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": self.x}
        if self.kid:
            jwk["kid"] = self.kid
        return jwk


def _signer(private):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    return Ed25519PrivateKey.from_private_bytes(private).sign


def _tuples(kind, indices, clients, htu, aud, tag):
    """(Authorization, DPoP, body) for each line number in `indices` (line i: client i mod n)."""
    signers = [_signer(c["private"]) for c in clients]
    # The header of each client's JWTs never changes: encoded once.
    if kind == "dpop":
        headers = [b64url(compact_json({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {
            "kty": "OKP", "crv": "Ed25519", "x": c["x"]}})) for c in clients]
    else:
        headers = [b64url(compact_json({"alg": "EdDSA", "kid": c["kid"]})) for c in clients]
    now, counted = int(time.time()), 0
    for i in indices:
        counted += 1
        if counted % 2048 == 0:
            now = int(time.time())
        c = i % len(clients)
        jti = f"{tag}-{i}"
        if kind == "dpop":
            claims = f'{{"htm":"POST","htu":"{htu}","iat":{now},"jti":"{jti}"}}'.encode()
        else:
            cid = clients[c]["client_id"]
            claims = (f'{{"iss":"{cid}","sub":"{cid}","aud":"{aud}","iat":{now},'
                      f'"exp":{now + ASSERTION_LIFETIME},"jti":"{jti}"}}').encode()
        signing_input = f"{headers[c]}.{b64url(claims)}"
        jwt = f"{signing_input}.{b64url(signers[c](signing_input.encode()))}"
        if kind == "dpop":
            yield clients[c]["basic"], jwt, "grant_type=client_credentials"
        else:
            yield None, None, (f"grant_type=client_credentials&client_assertion_type="
                               f"{JWT_BEARER_FORM}&client_assertion={jwt}")


def requests(kind, count, clients, htu, aud=None):
    """`count` single-use (Authorization, DPoP, body) triples, for sending from Python."""
    return list(_tuples(kind, range(count), clients, htu, aud, os.urandom(6).hex()))


def _raw(host, path, auth, dpop, body):
    """The request as wrk sends it (HTTP/1.1, keep-alive)."""
    head = [f"POST {path} HTTP/1.1", f"Host: {host}",
            "Content-Type: application/x-www-form-urlencoded"]
    if auth:
        head.append(f"Authorization: {auth}")
    if dpop:
        head.append(f"DPoP: {dpop}")
    head.append(f"Content-Length: {len(body)}")
    return "\r\n".join(head) + "\r\n\r\n" + body


# Ends every request in the files: a request's head ends in CRLF CRLF and a form body has no
# line break, so two line feeds in a row occur nowhere else.
SEPARATOR = "\n\n"


def _write_part(job):
    kind, part, first, end, threads, clients, base, path, aud, tag = job
    host = base.split("://", 1)[1]
    files = [open(f"{part}.{t}", "w", newline="") for t in range(threads)]
    for i, (auth, dpop, body) in zip(range(first, end), _tuples(
            kind, range(first, end), clients, base + path, aud, tag)):
        files[i % threads].write(_raw(host, path, auth, dpop, body) + SEPARATOR)
    for f in files:
        f.close()


def write(kind, prefix, threads, count, clients, base, path, aud=None, workers=None):
    """Writes `count` single-use requests of `kind` to POST `base` + `path` ("dpop":
    client_secret_basic plus a DPoP proof; "pkjwt": a client assertion for the audience `aud`),
    cycling over `clients` (dicts with "private", "x", and "basic" for dpop, "client_id" and
    "kid" for pkjwt), as raw HTTP requests each followed by SEPARATOR: request i in the file
    `prefix`.(i mod threads), one file per wrk thread. Signs in `workers` processes (default:
    one per core), each a contiguous share, so that every file mixes requests of every worker.
    Returns the seconds it took."""
    t0 = time.monotonic()
    workers = max(1, min(workers or os.cpu_count() or 1, count))
    tag = os.urandom(6).hex()  # jti prefix: unique across runs and restarts
    bounds = [count * w // workers for w in range(workers + 1)]
    jobs = [(kind, f"{prefix}.part{w}", bounds[w], bounds[w + 1], threads, clients, base, path,
             aud, tag) for w in range(workers)]
    if workers == 1:
        _write_part(jobs[0])
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pool.map(_write_part, jobs)
    for t in range(threads):
        with open(f"{prefix}.{t}", "wb") as out:
            for w in range(workers):
                part = f"{prefix}.part{w}.{t}"
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out)
                os.remove(part)
    return time.monotonic() - t0
