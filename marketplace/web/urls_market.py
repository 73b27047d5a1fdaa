"""Web pages of the marketplace proper (catalogue, listings, licences, sales)."""

urlpatterns: list = []
