"""API routes of the training app, mounted under /api/v1/ (namespace "api")."""

urlpatterns: list = []
