"""Web pages of the synthesis app, mounted at /synthesis/ (namespace "synthesis")."""

app_name = "synthesis"
urlpatterns: list = []
