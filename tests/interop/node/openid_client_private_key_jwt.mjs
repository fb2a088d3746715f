// The client credentials grant with openid-client v6 as a private_key_jwt client (RFC 7523),
// configured by RFC 8414 discovery, then a call to the protected API with the token.
//
//   PRIVATE_KEY="$(cat key.pem)" node openid_client_private_key_jwt.mjs ISSUER CLIENT_ID ALG KID API_URL [SCOPE]
//
// PRIVATE_KEY is a PKCS#8 PEM (in the environment, not the command line); jose imports it as a
// CryptoKey for ALG (RS256, PS256, ES256 or EdDSA), which openid-client's PrivateKeyJwt signs
// each assertion with. Prints one JSON object on stdout: {"ok": true, "metadata": {...},
// "assertion": {"header": ..., "payload": ...}, "token": {...}, "api": {"status": ..., "body": ...}}
// on success, {"ok": false, "name": ..., "status": ..., "error": ...} (exit 1) on failure.
// Plain http is allowed (allowInsecureRequests) because the tests serve on loopback.
import { importPKCS8 } from "jose";
import * as client from "openid-client";

const [issuer, clientId, alg, kid, apiUrl, scope] = process.argv.slice(2);
const pem = process.env.PRIVATE_KEY;

function report(result, exitCode) {
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = exitCode;
}

try {
  if (!issuer || !clientId || !alg || !kid || !apiUrl || !pem) {
    throw new TypeError("usage: PRIVATE_KEY=... openid_client_private_key_jwt.mjs ISSUER CLIENT_ID ALG KID API_URL [SCOPE]");
  }
  const key = await importPKCS8(pem, alg);
  let assertion;
  const auth = client.PrivateKeyJwt({ key, kid }, {
    // Only to report what was signed: the header and claims are openid-client's own.
    [client.modifyAssertion]: (header, payload) => { assertion = { header: { ...header }, payload: { ...payload } }; },
  });
  const config = await client.discovery(
    new URL(issuer), clientId, undefined, auth,
    { algorithm: "oauth2", execute: [client.allowInsecureRequests] },
  );
  const tokens = await client.clientCredentialsGrant(config, scope ? { scope } : {});
  const response = await client.fetchProtectedResource(config, tokens.access_token, new URL(apiUrl), "GET");
  report({
    ok: true,
    metadata: config.serverMetadata(),
    assertion,
    token: {
      access_token: tokens.access_token,
      token_type: tokens.token_type,
      expires_in: tokens.expires_in,
      scope: tokens.scope,
    },
    api: { status: response.status, body: await response.json().catch(() => undefined) },
  }, 0);
} catch (err) {
  let body;
  if (err?.response && !err.response.bodyUsed) {
    body = await err.response.json().catch(() => undefined);
  }
  report({
    ok: false,
    name: err?.name,
    code: err?.code,
    message: err?.message,
    status: err?.status,
    error: err?.error ?? body?.error,
    error_description: err?.error_description ?? body?.error_description,
  }, 1);
}
