"""The demo's API, with the seed document's URLs. The views arrive with issue #4."""

urlpatterns: list[object] = []
