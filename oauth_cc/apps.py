from django.apps import AppConfig


class OAuthCCConfig(AppConfig):
    name = "oauth_cc"
    verbose_name = "OAuth2 client credentials"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oauth_cc import checks, signals  # noqa: F401 - registers checks and receivers
