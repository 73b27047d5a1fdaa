"""API routes of the marketplace proper (listings, catalogue, licences, audit), mounted under /api/v1/."""

from django.urls import path

from marketplace.api import billing, market, webhooks

urlpatterns = [
    path("listings/", market.ListingListCreateApi.as_view(), name="listing-list"),
    path("listings/<int:pk>/", market.ListingDetailApi.as_view(), name="listing-detail"),
    path("listings/<int:pk>/submit/", market.ListingSubmitApi.as_view(), name="listing-submit"),
    path("listings/<int:pk>/purchase/", market.ListingPurchaseApi.as_view(), name="listing-purchase"),
    path("listings/<int:pk>/croissant.json", billing.ListingCroissantApi.as_view(), name="listing-croissant"),
    path("listings/<int:pk>/contract.yaml", billing.ListingContractApi.as_view(), name="listing-contract"),
    path("catalog/", market.CatalogListApi.as_view(), name="catalog-list"),
    path("catalog/<int:pk>/", market.CatalogDetailApi.as_view(), name="catalog-detail"),
    path("licenses/", market.LicenseListApi.as_view(), name="license-list"),
    path("licenses/<int:pk>/revoke/", market.LicenseRevokeApi.as_view(), name="license-revoke"),
    path("access-requests/", market.AccessRequestListApi.as_view(), name="access-request-list"),
    path("access-requests/<int:pk>/approve/", market.AccessRequestDecideApi.as_view(), name="access-request-approve"),
    path("access-requests/<int:pk>/deny/", market.AccessRequestDenyApi.as_view(), name="access-request-deny"),
    path("sales/", market.SalesApi.as_view(), name="sales"),
    path("audit/", market.AuditListApi.as_view(), name="audit"),
    path("usage/", billing.UsageListApi.as_view(), name="usage-list"),
    path("invoices/", billing.InvoiceListApi.as_view(), name="invoice-list"),
    path("invoices/<int:pk>/", billing.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("invoices/<int:pk>/retry/", billing.InvoiceRetryApi.as_view(), name="invoice-retry"),
    path("royalties/", billing.RoyaltiesApi.as_view(), name="royalties"),
    path("webhooks/", webhooks.WebhookListCreateApi.as_view(), name="webhook-list"),
    path("webhooks/<int:pk>/", webhooks.WebhookDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<int:pk>/deliveries/", webhooks.WebhookDeliveryListApi.as_view(), name="webhook-deliveries"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/redeliver/",
        webhooks.WebhookRedeliverApi.as_view(),
        name="webhook-redeliver",
    ),
]
