// The client credentials grant with openid-client v6, configured by RFC 8414 discovery.
//
//   CLIENT_SECRET=... node openid_client_grant.mjs ISSUER CLIENT_ID basic|post [SCOPE]
//
// Prints one JSON object on stdout: {"ok": true, "metadata": {...}, "token": {...}} on success,
// {"ok": false, "name": ..., "status": ..., "error": ..., "challenges": ...} (exit 1) on failure.
// Plain http is allowed (allowInsecureRequests) because the tests serve on loopback.
import * as client from "openid-client";

const [issuer, clientId, method, scope] = process.argv.slice(2);
const secret = process.env.CLIENT_SECRET;
const methods = { basic: client.ClientSecretBasic, post: client.ClientSecretPost };

function report(result, exitCode) {
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = exitCode;
}

try {
  if (!issuer || !clientId || !secret || !(method in methods)) {
    throw new TypeError("usage: CLIENT_SECRET=... openid_client_grant.mjs ISSUER CLIENT_ID basic|post [SCOPE]");
  }
  const config = await client.discovery(
    new URL(issuer), clientId, undefined, methods[method](secret),
    { algorithm: "oauth2", execute: [client.allowInsecureRequests] },
  );
  const tokens = await client.clientCredentialsGrant(config, scope ? { scope } : {});
  report({
    ok: true,
    metadata: config.serverMetadata(),
    token: {
      access_token: tokens.access_token,
      token_type: tokens.token_type,
      expires_in: tokens.expires_in,
      scope: tokens.scope,
    },
  }, 0);
} catch (err) {
  // A 401 with WWW-Authenticate is a WWWAuthenticateChallengeError, whose body is unread.
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
    challenges: err?.name === "WWWAuthenticateChallengeError" ? err.cause : undefined,
  }, 1);
}
