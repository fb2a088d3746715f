// DPoP (RFC 9449) with openid-client v6: a DPoP-bound token by the client credentials grant,
// then the protected API with it, with a proof (the DPoP handle) and without one (as Bearer).
//
//   CLIENT_SECRET=... node openid_client_dpop.mjs ISSUER CLIENT_ID API_URL ALG [SCOPE]
//
// ALG is the DPoP key's algorithm (ES256, RS256, PS256 or Ed25519); the key pair is made by
// randomDPoPKeyPair and used through client.getDPoPHandle. Prints one JSON object on stdout:
// {"ok": true, "metadata": {...}, "jkt": ..., "token": {...}, "api": {"status": ..., "body": ...},
//  "bearer": {"name": ..., "status": ..., "challenges": [...]}} on success, where "bearer" is
// what the same token sent without a proof got; {"ok": false, "name": ..., "status": ...,
// "error": ...} (exit 1) when getting the token or the proof-carrying call fails.
// Plain http is allowed (allowInsecureRequests) because the tests serve on loopback.
import * as client from "openid-client";

const [issuer, clientId, apiUrl, alg, scope] = process.argv.slice(2);
const secret = process.env.CLIENT_SECRET;

function report(result, exitCode) {
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = exitCode;
}

async function describe(err) {
  // A 401 with WWW-Authenticate is a WWWAuthenticateChallengeError, whose body is unread.
  let body;
  if (err?.response && !err.response.bodyUsed) {
    body = await err.response.json().catch(() => undefined);
  }
  return {
    name: err?.name,
    code: err?.code,
    message: err?.message,
    status: err?.status,
    error: err?.error ?? body?.error,
    error_description: err?.error_description ?? body?.error_description,
    challenges: err?.name === "WWWAuthenticateChallengeError" ? err.cause : undefined,
  };
}

try {
  if (!issuer || !clientId || !apiUrl || !alg || !secret) {
    throw new TypeError("usage: CLIENT_SECRET=... openid_client_dpop.mjs ISSUER CLIENT_ID API_URL ALG [SCOPE]");
  }
  const config = await client.discovery(
    new URL(issuer), clientId, undefined, client.ClientSecretBasic(secret),
    { algorithm: "oauth2", execute: [client.allowInsecureRequests] },
  );
  const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair(alg));
  const tokens = await client.clientCredentialsGrant(config, scope ? { scope } : {}, { DPoP });
  const response = await client.fetchProtectedResource(
    config, tokens.access_token, new URL(apiUrl), "GET", undefined, undefined, { DPoP });
  const api = { status: response.status, body: await response.json().catch(() => undefined) };
  // The same token, stolen: no DPoP handle, so openid-client sends it as a Bearer token.
  let bearer;
  try {
    const stolen = await client.fetchProtectedResource(
      config, tokens.access_token, new URL(apiUrl), "GET");
    bearer = { name: "none", status: stolen.status };
  } catch (err) {
    bearer = await describe(err);
  }
  report({
    ok: true,
    metadata: config.serverMetadata(),
    jkt: await DPoP.calculateThumbprint(),
    token: {
      access_token: tokens.access_token,
      token_type: tokens.token_type,
      expires_in: tokens.expires_in,
      scope: tokens.scope,
    },
    api,
    bearer,
  }, 0);
} catch (err) {
  report({ ok: false, ...(await describe(err)) }, 1);
}
