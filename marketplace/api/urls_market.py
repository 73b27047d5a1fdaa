"""API routes of the marketplace proper (listings, catalogue, licences, audit), mounted under /api/v1/."""

urlpatterns: list = []
