"""Include with ``path("", include("oauth_cc.urls"))``; the paths are the contract's."""

from django.urls import path

from oauth_cc import views

app_name = "oauth_cc"

urlpatterns = [
    path("oauth/token", views.TokenView.as_view(), name="token"),
    path("oauth/introspect", views.IntrospectionView.as_view(), name="introspection"),
    path("oauth/revoke", views.RevocationView.as_view(), name="revocation"),
    path(".well-known/jwks.json", views.JWKSView.as_view(), name="jwks"),
    path(".well-known/oauth-authorization-server", views.MetadataView.as_view(),
         name="metadata"),
    # RFC 8414 §3.1: for an issuer with a path, the path follows the well-known segment.
    path(".well-known/oauth-authorization-server/<path:issuer_path>",
         views.MetadataView.as_view(), name="metadata-for-issuer-path"),
]
