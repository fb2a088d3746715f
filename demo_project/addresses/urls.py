"""The demo's API, with the product document's URLs (mounted under ``api/``)."""

from django.urls import path

from demo_project.addresses import views

app_name = "demo_addresses"

urlpatterns = [
    path("au/address/autocomplete/", views.AutocompleteView.as_view(country="au"),
         name="au-autocomplete"),
    path("nz/address/autocomplete/", views.AutocompleteView.as_view(country="nz"),
         name="nz-autocomplete"),
    path("au/address/v2/verification/", views.AddressVerificationView.as_view(country="au"),
         name="au-verification"),
    path("phone/verification/", views.PhoneVerificationView.as_view(), name="phone-verification"),
    path("email/verification/", views.EmailVerificationView.as_view(), name="email-verification"),
]
