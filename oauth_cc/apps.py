from importlib.util import find_spec

from django.apps import AppConfig


class OAuthCCConfig(AppConfig):
    name = "oauth_cc"
    verbose_name = "OAuth2 client credentials"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oauth_cc import checks, signals  # noqa: F401 - registers checks and receivers

        # The [openapi] extra: drf-spectacular finds extensions by their being defined, as its
        # docs say, from an AppConfig.ready(). Without it, oauth_cc never imports it.
        if find_spec("drf_spectacular") is not None:
            from oauth_cc import openapi  # noqa: F401 - registers the OpenAPI extension
