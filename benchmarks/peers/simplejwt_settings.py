"""The demo's settings plus djangorestframework-simplejwt signing RS256 with a 2048-bit key.

simplejwt prepares (loads) its PEM keys once and caches the key objects
(``TokenBackend.prepared_signing_key``), so signing and verifying cost what PyJWT costs with a
key object. Issuer and audience are set so it checks the same claims oauth_cc checks.
"""

from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from demo_project.settings import *  # noqa: F403
from demo_project.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework_simplejwt"]
ROOT_URLCONF = "benchmarks.peers.simplejwt_urls"


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode()


_PRIVATE_PEM, _PUBLIC_PEM = _key_pair()
_ISSUER = "http://127.0.0.1:8000"

SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": _PRIVATE_PEM,
    "VERIFYING_KEY": _PUBLIC_PEM,
    "ISSUER": _ISSUER,
    "AUDIENCE": _ISSUER,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=900),
    "UPDATE_LAST_LOGIN": False,
}
