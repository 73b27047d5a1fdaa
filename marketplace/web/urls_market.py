"""Web pages of the marketplace proper (catalogue, listings, licences, sales)."""

from django.urls import path

from marketplace.web import market_views as views

urlpatterns = [
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/<int:pk>/", views.catalog_detail, name="catalog-detail"),
    path("catalog/<int:pk>/license/", views.catalog_license, name="catalog-license"),
    path("licenses/", views.licenses, name="licenses"),
    path("listings/", views.listings, name="listings"),
    path("listings/<int:pk>/<str:action>/", views.listing_action, name="listing-action"),
    path("sales/", views.sales, name="sales"),
    path("billing/", views.billing, name="billing"),
    path("billing/invoices/<int:pk>/retry/", views.invoice_retry_view, name="invoice-retry"),
    path("sales/<int:pk>/revoke/", views.sale_revoke, name="sale-revoke"),
    path("access-requests/", views.access_requests, name="access-requests"),
]
