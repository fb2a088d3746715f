// Verify an access token with jose against the issuer's published JWK Set (RFC 9068 profile).
//
//   node verify_jose.mjs JWKS_URL ISSUER AUDIENCE TOKEN
//
// Prints one JSON object on stdout: {"ok": true, "protectedHeader": {...}, "payload": {...}}
// when the token verifies, {"ok": false, "name": ..., "code": ..., "message": ...} (exit 1)
// when it does not.
import { createRemoteJWKSet, jwtVerify } from "jose";

const [jwksUrl, issuer, audience, token] = process.argv.slice(2);

function report(result, exitCode) {
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = exitCode;
}

try {
  if (!jwksUrl || !issuer || !audience || !token) {
    throw new TypeError("usage: verify_jose.mjs JWKS_URL ISSUER AUDIENCE TOKEN");
  }
  const JWKS = createRemoteJWKSet(new URL(jwksUrl));
  const { payload, protectedHeader } = await jwtVerify(token, JWKS, {
    issuer,
    audience,
    typ: "at+jwt",
  });
  report({ ok: true, protectedHeader, payload }, 0);
} catch (err) {
  report({ ok: false, name: err?.name, code: err?.code, message: err?.message }, 1);
}
