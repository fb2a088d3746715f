from django.apps import AppConfig


class AddressesConfig(AppConfig):
    name = "demo_project.addresses"
    label = "demo_addresses"
    verbose_name = "Demo address API"
