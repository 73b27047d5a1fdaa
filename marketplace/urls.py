from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# Each app adds its API routes here; all of them live under /api/v1/ in the "api" namespace.
api_v1 = [
    path("", include("marketplace.api.urls")),
    path("", include("marketplace.api.urls_market")),
    path("", include("synthesis.urls")),
    path("", include("training.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the switcher in the header
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("synthesis/", include("synthesis.web_urls")),
    path("training/", include("training.web_urls")),
    path("", include("marketplace.web.urls")),
]
