"""API routes of the synthesis app, mounted under /api/v1/ (namespace "api")."""

urlpatterns: list = []
