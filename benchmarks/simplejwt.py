"""djangorestframework-simplejwt in-process: RS256 minting and its DRF authentication.

    python -m benchmarks.simplejwt [--quick] --json PATH

Settings ``benchmarks.peers.simplejwt_settings``: the demo's, with simplejwt signing RS256
with a 2048-bit key (prepared once and cached by simplejwt) and checking issuer and
audience. simplejwt has no client-credentials grant (its endpoint is a password grant, whose
cost is Django's password hasher), so its issuing figure is minting alone: an
``AccessToken.for_user(user)`` turned into a string. Its ``JWTAuthentication`` loads the user
row named by the token on every request, so a user row is created.
"""

from __future__ import annotations

import secrets
from typing import Any

from benchmarks import drf, harness


def main() -> None:
    args = harness.arguments(__doc__)
    seconds = 0.3 if args.quick else 2.0
    db = harness.setup_django("benchmarks.peers.simplejwt_settings", "simplejwt")
    from django.contrib.auth import get_user_model
    from rest_framework.permissions import IsAuthenticated
    from rest_framework_simplejwt.authentication import (
        JWTAuthentication,
        JWTStatelessUserAuthentication,
    )
    from rest_framework_simplejwt.tokens import AccessToken

    results: dict[str, Any] = {"machine": harness.machine(), "db": db}
    user = get_user_model().objects.create_user(f"bench-{secrets.token_hex(4)}",
                                                password=None)

    def mint() -> str:
        return str(AccessToken.for_user(user))

    token = mint()
    # IsAuthenticated stands where HasScope stands for us: simplejwt has no scopes.
    auth_classes = {"auth": JWTAuthentication, "stateless_auth": JWTStatelessUserAuthentication}
    callables = {}
    for name, cls in auth_classes.items():
        authenticate = drf.prepared_auth(cls(), IsAuthenticated(), token)
        for _ in range(20):
            authenticate()
        results[f"simplejwt_{name}_queries"] = harness.queries_per_call(authenticate, 50)["mean"]
        callables[f"simplejwt_{name}"] = authenticate
    view = drf.view_overhead([JWTAuthentication], [IsAuthenticated], token, seconds=seconds)
    results.update({f"simplejwt_{name}": value for name, value in view.items()})

    paired = harness.paired(vs_sign={"simplejwt_mint": mint}, vs_decode=callables,
                            seconds=seconds * 2, rounds=11 if args.quick else 41)
    results["paired"] = paired
    for name in ("simplejwt_mint", "simplejwt_auth", "simplejwt_stateless_auth"):
        results[f"{name}_us"] = paired[f"{name}_us"]
    harness.write_json(args.json, results)
    print(f"simplejwt ({db}): mint {results['simplejwt_mint_us']:.1f} µs, "
          f"auth {results['simplejwt_auth_us']:.1f} µs, cpu share {paired['cpu_share']:.2f}")


if __name__ == "__main__":
    main()
