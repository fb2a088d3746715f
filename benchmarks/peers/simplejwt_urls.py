"""The demo's URLs and simplejwt's token-pair endpoint (a password grant; not measured)."""

from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView

from demo_project.urls import urlpatterns as demo_urlpatterns

urlpatterns = [
    path("api/token/", TokenObtainPairView.as_view(), name="token_obtain_pair"),
    *demo_urlpatterns,
]
