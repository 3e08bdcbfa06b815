#!/usr/bin/env node
// Portico driven by openid-client v6 (panva), a client library that knows nothing of Portico:
// discovery, private_key_jwt client authentication, DPoP-bound tokens, pushed authorization
// requests, the authorization code flow with PKCE, refresh, UserInfo and introspection, and
// the errors the library surfaces when Portico refuses something.
//
// Run by tests/api/independent_js.rs:
//
//   node portico.mjs keys DIR [NAME...]
//                                 generates the keys (WebCrypto; all of KEYS below, or those
//                                 named), writes them with their private parts to
//                                 DIR/keys.json and prints the public JWKs (JSON) for the test
//                                 to register;
//   node portico.mjs flows FILE   FILE (JSON): { issuer, redirect_uri, session, keys,
//                                 clients: { a: { client_id }, b: { client_id, client_secret } } }
//                                 runs the flows and prints what happened (JSON); exits 1 when a
//                                 step that must succeed failed;
//   node portico.mjs nonce FILE   the same FILE without app B, against a server that requires
//                                 DPoP nonces: the main flows, the library retrying each once.
//
// The browser's part of the authorization code flow (the signed-in user's authorization and
// consent pages) is done with fetch and the user's session cookie: that is no library's job.

import { readFile, writeFile } from 'node:fs/promises'
import { webcrypto } from 'node:crypto'
import { join } from 'node:path'

// Node 18 (Debian's) has WebCrypto, but not as a global by default.
globalThis.crypto ??= webcrypto
const client = await import('openid-client')

// ---------------------------------------------------------------------------------------------
// Keys

const ALGORITHMS = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  Ed25519: { name: 'Ed25519' },
}

function generateParams(alg) {
  if (alg === 'PS256') {
    return { ...ALGORITHMS.PS256, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }
  }
  return ALGORITHMS[alg]
}

// Client authentication keys (registered with their kid) and DPoP keys (never registered).
const KEYS = {
  a_es256: { alg: 'ES256', kid: 'a-es256' },
  b_ed25519: { alg: 'Ed25519', kid: 'b-ed25519' },
  b_ps256: { alg: 'PS256', kid: 'b-ps256' },
  dpop_es256: { alg: 'ES256' },
  dpop_other: { alg: 'ES256' },
  dpop_ps256: { alg: 'PS256' },
  dpop_ed25519: { alg: 'Ed25519' },
}

async function keysMode(dir, names) {
  const wanted = names.length ? names : Object.keys(KEYS)
  // In parallel: WebCrypto generates on libuv's threads, and an RSA key takes a while.
  const made = await Promise.all(
    wanted.map(async (name) => {
      const spec = KEYS[name]
      if (!spec) throw new Error(`no key named ${name}`)
      const pair = await crypto.subtle.generateKey(generateParams(spec.alg), true, ['sign', 'verify'])
      const priv = await crypto.subtle.exportKey('jwk', pair.privateKey)
      const { ext, key_ops, ...pub } = await crypto.subtle.exportKey('jwk', pair.publicKey)
      if (spec.kid) pub.kid = spec.kid
      // WebCrypto exports Ed25519 keys with the fully-specified `alg: "Ed25519"` (RFC 9864);
      // Portico's registration accepts only "EdDSA" there, so the member is left out.
      if (pub.kty === 'OKP') delete pub.alg
      return [name, { ...spec, private: priv, public: pub }]
    }),
  )
  const stored = Object.fromEntries(made)
  const published = Object.fromEntries(made.map(([name, { private: _, ...rest }]) => [name, rest]))
  await writeFile(join(dir, 'keys.json'), JSON.stringify(stored), { mode: 0o600 })
  process.stdout.write(JSON.stringify(published) + '\n')
}

async function importPair(k) {
  const alg = ALGORITHMS[k.alg]
  return {
    privateKey: await crypto.subtle.importKey('jwk', k.private, alg, false, ['sign']),
    // DPoP puts the public key in the proof's header: it must be extractable.
    publicKey: await crypto.subtle.importKey('jwk', { ...k.public, key_ops: ['verify'] }, alg, true, [
      'verify',
    ]),
  }
}

// ---------------------------------------------------------------------------------------------
// Reporting

/** What an error carries, as openid-client (oauth4webapi) surfaces it. */
function describe(e) {
  const d = { name: e?.name, code: e?.code, message: e?.message }
  for (const k of ['error', 'error_description', 'status']) {
    if (e?.[k] !== undefined) d[k] = e[k]
  }
  if (e?.name === 'WWWAuthenticateChallengeError' && Array.isArray(e.cause)) {
    d.challenges = e.cause
  } else if (e?.name === 'ResponseBodyError' && e.cause) {
    d.body = e.cause
  } else if (e?.name === 'AuthorizationResponseError' && e.cause instanceof URLSearchParams) {
    d.params = Object.fromEntries(e.cause)
  } else if (e?.cause instanceof Error) {
    d.cause = describe(e.cause)
  }
  return d
}

const report = {}
const failed = []
// Milliseconds each step took, to see where a slow run spends its time.
const timings = {}
const started = performance.now()
async function timed(name, fn) {
  const t0 = performance.now()
  try {
    return await fn()
  } finally {
    timings[name] = Math.round(performance.now() - t0)
  }
}

/** A step that must succeed: its result, or the error (and the run fails). */
async function must(name, fn) {
  try {
    const value = await timed(name, fn)
    report[name] = value
    return value
  } catch (e) {
    report[name] = { failed: describe(e) }
    failed.push(name)
    return undefined
  }
}

/** A step whose outcome is reported either way (refusals, and behaviour under study). */
async function outcome(name, fn) {
  try {
    report[name] = { ok: (await timed(name, fn)) ?? true }
  } catch (e) {
    report[name] = { refused: describe(e) }
  }
  return report[name]
}

// Every response of the token endpoint as it came over the wire (openid-client lowercases
// `token_type`; Portico's own spelling is checked here).
const wire = []
async function recordingFetch(url, options) {
  const response = await fetch(url, options)
  const entry = { method: options.method, url: String(url), status: response.status }
  const h = options.headers ?? {}
  const sent = h instanceof Headers ? Object.fromEntries(h) : h
  entry.dpop = Object.keys(sent).some((k) => k.toLowerCase() === 'dpop')
  entry.authorization = (sent.authorization ?? sent.Authorization ?? '').split(' ')[0] || null
  if (String(url).endsWith('/oauth2/v0/token')) {
    try {
      const body = await response.clone().json()
      entry.token_type = body.token_type ?? null
      entry.error = body.error ?? null
    } catch {
      // Not JSON: the library will say so.
    }
  }
  if (response.headers.get('dpop-nonce')) entry.dpop_nonce = true
  const challenge = response.headers.get('www-authenticate')
  if (challenge) entry.www_authenticate = challenge
  wire.push(entry)
  return response
}

// ---------------------------------------------------------------------------------------------
// The browser

/** The consent form's hidden inputs (names and values are HTML-escaped in the page). */
function hiddenInputs(html) {
  const unescape = (s) =>
    s
      .replaceAll('&quot;', '"')
      .replaceAll('&#x27;', "'")
      .replaceAll('&#x2f;', '/')
      .replaceAll('&lt;', '<')
      .replaceAll('&gt;', '>')
      .replaceAll('&amp;', '&')
  // The consent form only (the page's header has sign-out forms of its own).
  const start = html.indexOf('<form method="post" action="/oauth2/v0/authorize"')
  const body = start < 0 ? '' : html.slice(start, html.indexOf('</form>', start))
  const form = new URLSearchParams()
  for (const m of body.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    form.append(unescape(m[1]), unescape(m[2]))
  }
  return form
}

/** The signed-in user opens `url`, consents if asked; returns where the browser is sent. */
async function authorizeInBrowser(cfg, url) {
  const cookie = `portico_session=${cfg.session}`
  const page = await fetch(url, { headers: { cookie }, redirect: 'manual' })
  // A consent given before stands: straight back to the app.
  if (page.status === 303) return { consent_page: false, to: new URL(page.headers.get('location'), url) }
  const html = await page.text()
  if (page.status !== 200 || !html.includes('to access your data?')) {
    throw new Error(`expected the consent page, got ${page.status}: ${html.slice(0, 300)}`)
  }
  const form = hiddenInputs(html)
  form.append('decision', 'allow')
  const answer = await fetch(new URL('/oauth2/v0/authorize', url), {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
    redirect: 'manual',
  })
  if (answer.status !== 303) throw new Error(`the consent form answered ${answer.status}`)
  return {
    consent_page: true,
    hidden: [...form.keys()].filter((k) => k !== 'decision'),
    to: new URL(answer.headers.get('location'), url),
  }
}

// ---------------------------------------------------------------------------------------------
// The flows

const remapEd25519 = {
  // oauth4webapi signs with Ed25519 keys as `alg: "Ed25519"` (RFC 9864); the documented way back
  // to the polymorphic "EdDSA" for servers that only know that name.
  [client.modifyAssertion]: (header) => {
    if (header.alg === 'Ed25519') header.alg = 'EdDSA'
  },
}

function insecure(config) {
  client.allowInsecureRequests(config) // Portico runs on http://127.0.0.1 in the tests.
  config[client.customFetch] = recordingFetch
  return config
}

/** A Configuration for the same server and client with another client authentication. */
function reconfigure(config, clientId, auth, metadata) {
  return insecure(new client.Configuration(config.serverMetadata(), clientId, metadata, auth))
}

const introspected = (r) => ({
  active: r.active,
  token_type: r.token_type,
  client_id: r.client_id,
  sub: r.sub,
  scope: r.scope,
  cnf: r.cnf ?? null,
})

/** Discovery for app A (OpenID Connect's configuration) and app B (RFC 8414's metadata). */
async function setup(file) {
  const cfg = JSON.parse(await readFile(file, 'utf8'))
  const keys = JSON.parse(await readFile(cfg.keys, 'utf8'))
  const pair = {}
  for (const [name, k] of Object.entries(keys)) pair[name] = await importPair(k)
  const issuer = new URL(cfg.issuer)
  const options = { execute: [client.allowInsecureRequests], [client.customFetch]: recordingFetch }
  const configA = insecure(
    await client.discovery(
      issuer,
      cfg.clients.a.client_id,
      undefined,
      client.PrivateKeyJwt({ key: pair.a_es256.privateKey, kid: 'a-es256' }),
      options,
    ),
  )
  // ID tokens are verified with the published JWKS too (by default the library trusts the
  // token endpoint's TLS).
  client.enableNonRepudiationChecks(configA)
  let configB
  if (cfg.clients.b) {
    configB = insecure(
      await client.discovery(
        issuer,
        cfg.clients.b.client_id,
        undefined,
        client.PrivateKeyJwt({ key: pair.b_ps256.privateKey, kid: 'b-ps256' }),
        { ...options, algorithm: 'oauth2' },
      ),
    )
  }
  return { cfg, pair, configA, configB, dpop: client.getDPoPHandle(configA, pair.dpop_es256) }
}

/** Client credentials, DPoP-bound, then introspected (the cnf.jkt is the DPoP key's). */
async function clientCredentials({ configA, dpop }) {
  const t = await client.clientCredentialsGrant(configA, { scope: 'expense.report.read' }, { DPoP: dpop })
  return {
    token_type: t.token_type,
    scope: t.scope,
    refresh_token: t.refresh_token !== undefined,
    introspection: introspected(await client.tokenIntrospection(configA, t.access_token)),
  }
}

/** The authorization code flow through PAR, with PKCE, OpenID Connect and DPoP. */
async function codeFlow({ cfg, configA, dpop }) {
  const codeVerifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = await client.buildAuthorizationUrlWithPAR(
    configA,
    {
      redirect_uri: cfg.redirect_uri,
      scope: 'openid profile expense.report.read',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    },
    { DPoP: dpop },
  )
  const browser = await authorizeInBrowser(cfg, url)
  const t = await client.authorizationCodeGrant(
    configA,
    browser.to,
    { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
    undefined,
    { DPoP: dpop },
  )
  const claims = t.claims()
  const result = {
    authorization_url: {
      params: [...url.searchParams.keys()].sort(),
      request_uri: url.searchParams.get('request_uri'),
    },
    consent_page: browser.consent_page,
    consent_form: browser.hidden ?? null,
    callback: {
      url: `${browser.to.origin}${browser.to.pathname}`,
      iss: browser.to.searchParams.get('iss'),
    },
    token_type: t.token_type,
    scope: t.scope,
    refresh_token: t.refresh_token !== undefined,
    id_token: { sub: claims.sub, aud: claims.aud, iss: claims.iss },
    introspection: introspected(await client.tokenIntrospection(configA, t.access_token)),
  }
  // Not in the report.
  Object.defineProperty(result, 'tokens', { value: t, enumerable: false })
  return result
}

async function userInfo({ configA, dpop }, code) {
  const info = await client.fetchUserInfo(configA, code.tokens.access_token, code.id_token.sub, { DPoP: dpop })
  return { sub: info.sub, preferred_username: info.preferred_username ?? null }
}

async function refresh({ configA, dpop }, refreshToken) {
  const t = await client.refreshTokenGrant(configA, refreshToken, undefined, { DPoP: dpop })
  const result = {
    token_type: t.token_type,
    rotated: t.refresh_token !== undefined && t.refresh_token !== refreshToken,
    id_token_sub: t.claims()?.sub ?? null,
    introspection: introspected(await client.tokenIntrospection(configA, t.access_token)),
  }
  Object.defineProperty(result, 'tokens', { value: t, enumerable: false })
  return result
}

async function flowsMode(file) {
  const ctx = await setup(file)
  const { cfg, pair, configA, configB, dpop } = ctx
  const b = cfg.clients.b
  const meta = configA.serverMetadata()
  report.discovery = {
    issuer: meta.issuer,
    oauth2_issuer: configB.serverMetadata().issuer,
    pushed_authorization_request_endpoint: meta.pushed_authorization_request_endpoint ?? null,
    dpop_signing_alg_values_supported: meta.dpop_signing_alg_values_supported ?? null,
    token_endpoint_auth_methods_supported: meta.token_endpoint_auth_methods_supported ?? null,
    supports_pkce: meta.supportsPKCE(),
  }

  await must('client_credentials', () => clientCredentials(ctx))
  const code = await must('authorization_code', () => codeFlow(ctx))
  // UserInfo with the DPoP-bound token (Authorization: DPoP, a proof with ath); the same
  // token as a bearer token is refused.
  await must('userinfo', () => userInfo(ctx, code))
  await outcome('userinfo_as_bearer', () =>
    client.fetchUserInfo(configA, code.tokens.access_token, code.id_token.sub),
  )

  // Refresh with a proof of the same key. The grant's key is the one it started with:
  // another key, or none, is refused, and the refusals leave the refresh token usable.
  const refreshed = await must('refresh', () => refresh(ctx, code.tokens.refresh_token))
  const next = refreshed?.tokens.refresh_token
  await outcome('refresh_with_another_key', () =>
    client.refreshTokenGrant(configA, next, undefined, {
      DPoP: client.getDPoPHandle(configA, pair.dpop_other),
    }),
  )
  await outcome('refresh_without_dpop', () => client.refreshTokenGrant(configA, next))
  await must('refresh_after_refusals', async () => {
    const t = await client.refreshTokenGrant(configA, next, undefined, { DPoP: dpop })
    return { token_type: t.token_type }
  })

  // App A's tokens are DPoP-bound: a token request without a proof is refused.
  await outcome('client_credentials_without_dpop', () => client.clientCredentialsGrant(configA, {}))

  // App A requires PAR: a plain authorization request comes back as an error response, which
  // the library turns into an AuthorizationResponseError.
  await outcome('plain_authorization_request', async () => {
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const url = client.buildAuthorizationUrl(configA, {
      redirect_uri: cfg.redirect_uri,
      scope: 'expense.report.read',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    })
    const browser = await authorizeInBrowser(cfg, url)
    return client.authorizationCodeGrant(configA, browser.to, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    })
  })

  // RFC 9449 §10.1: a PAR request with a DPoP proof binds the code to that key, so redeeming
  // the code with another key must fail.
  await outcome('par_code_redeemed_with_another_key', async () => {
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const url = await client.buildAuthorizationUrlWithPAR(
      configA,
      {
        redirect_uri: cfg.redirect_uri,
        scope: 'expense.report.read',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      },
      { DPoP: dpop },
    )
    const browser = await authorizeInBrowser(cfg, url)
    const t = await client.authorizationCodeGrant(
      configA,
      browser.to,
      { pkceCodeVerifier: verifier, expectedState: state },
      undefined,
      { DPoP: client.getDPoPHandle(configA, pair.dpop_other) },
    )
    return {
      token_type: t.token_type,
      cnf: (await client.tokenIntrospection(configA, t.access_token)).cnf ?? null,
    }
  })

  // App B: RSA-PSS (PS256) and Ed25519 keys; its tokens are bound only when it asks.
  await must('b_ps256_bearer', async () => {
    const t = await client.clientCredentialsGrant(configB, { scope: 'expense.report.read' })
    return {
      token_type: t.token_type,
      introspection: introspected(await client.tokenIntrospection(configB, t.access_token)),
    }
  })
  await must('b_ps256_dpop_ps256', async () => {
    const t = await client.clientCredentialsGrant(configB, {}, {
      DPoP: client.getDPoPHandle(configB, pair.dpop_ps256),
    })
    return {
      token_type: t.token_type,
      introspection: introspected(await client.tokenIntrospection(configB, t.access_token)),
    }
  })
  // Ed25519 as the library signs by default (alg "Ed25519"), then remapped to "EdDSA".
  const edKey = { key: pair.b_ed25519.privateKey, kid: 'b-ed25519' }
  await outcome('b_ed25519_assertion_default', async () => {
    const c = reconfigure(configB, b.client_id, client.PrivateKeyJwt(edKey))
    return { token_type: (await client.clientCredentialsGrant(c, {})).token_type }
  })
  await must('b_ed25519_assertion_eddsa', async () => {
    const c = reconfigure(configB, b.client_id, client.PrivateKeyJwt(edKey, remapEd25519))
    return { token_type: (await client.clientCredentialsGrant(c, {})).token_type }
  })
  await outcome('b_dpop_ed25519_default', async () => {
    const t = await client.clientCredentialsGrant(configB, {}, {
      DPoP: client.getDPoPHandle(configB, pair.dpop_ed25519),
    })
    return { token_type: t.token_type }
  })
  await must('b_dpop_ed25519_eddsa', async () => {
    const t = await client.clientCredentialsGrant(configB, {}, {
      DPoP: client.getDPoPHandle(configB, pair.dpop_ed25519, remapEd25519),
    })
    return {
      token_type: t.token_type,
      introspection: introspected(await client.tokenIntrospection(configB, t.access_token)),
    }
  })
  // App B also keeps its secret.
  await must('b_client_secret_basic', async () => {
    const c = reconfigure(configB, b.client_id, client.ClientSecretBasic(b.client_secret))
    return { token_type: (await client.clientCredentialsGrant(c, {})).token_type }
  })
  // A client assertion sent twice (the same jti): the second is a replay, invalid_client.
  const jti = `replayed-${client.randomState()}`
  const sameJti = { [client.modifyAssertion]: (_header, payload) => void (payload.jti = jti) }
  const replaying = reconfigure(
    configB,
    b.client_id,
    client.PrivateKeyJwt({ key: pair.b_ps256.privateKey, kid: 'b-ps256' }, sameJti),
  )
  await must('assertion_first_use', async () => ({
    token_type: (await client.clientCredentialsGrant(replaying, {})).token_type,
  }))
  await outcome('assertion_replayed', () => client.clientCredentialsGrant(replaying, {}))
}

/** Against a server that requires DPoP nonces (RFC 9449 §8, §9): the library retries. */
async function nonceMode(file) {
  const ctx = await setup(file)
  await must('client_credentials', () => clientCredentials(ctx))
  const code = await must('authorization_code', () => codeFlow(ctx))
  // A new DPoP handle knows no nonce yet: UserInfo asks for one too (401, use_dpop_nonce).
  const fresh = { ...ctx, dpop: client.getDPoPHandle(ctx.configA, ctx.pair.dpop_es256) }
  await must('userinfo', () => userInfo(fresh, code))
  await must('refresh', () => refresh(ctx, code.tokens.refresh_token))
}

// ---------------------------------------------------------------------------------------------

const modes = { keys: keysMode, flows: flowsMode, nonce: nonceMode }
const [mode, arg, ...rest] = process.argv.slice(2)
try {
  if (!modes[mode] || !arg) {
    process.stderr.write('usage: node portico.mjs keys DIR [NAME...] | flows CONFIG.json | nonce CONFIG.json\n')
    process.exitCode = 2
  } else {
    await modes[mode](arg, rest)
    if (mode !== 'keys') {
      timings.total = Math.round(performance.now() - started)
      process.stdout.write(JSON.stringify({ ...report, wire, failed, timings }) + '\n')
      process.exitCode = failed.length ? 1 : 0
    }
  }
} catch (e) {
  process.stdout.write(JSON.stringify({ ...report, wire, failed, fatal: describe(e), stack: e?.stack }) + '\n')
  process.exitCode = 1
}
