"""Web pages of the training app, mounted at /training/ (namespace "training")."""

app_name = "training"
urlpatterns: list = []
