"""The demo API's scopes, as the seed's portal describes them."""

SCOPES = {
    "address": "Access to address autocomplete, verification, and metadata APIs",
    "phone": "Access to phone verification API",
    "email": "Access to email verification API",
}
