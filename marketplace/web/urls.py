from django.contrib.auth import views as auth_views
from django.urls import include, path

from marketplace.web import views
from marketplace.web.forms import GuardedAuthenticationForm

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="marketplace/login.html", authentication_form=GuardedAuthenticationForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("datasets/new/", views.dataset_new, name="dataset-new"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset"),
    path("datasets/<int:pk>/upload/", views.version_new, name="version-new"),
    path("versions/<int:pk>/", views.version_detail, name="version"),
    path("versions/<int:pk>/status/", views.version_status, name="version-status"),
    path("versions/<int:pk>/rescrub/", views.version_rescrub_view, name="version-rescrub"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke_view, name="token-revoke"),
    path("account/webhooks/", views.webhooks_page, name="webhooks"),
    path("account/webhooks/<int:pk>/delete/", views.webhook_delete_view, name="webhook-delete"),
    path(
        "account/webhooks/<int:pk>/deliveries/<int:delivery_pk>/redeliver/",
        views.webhook_redeliver_view,
        name="webhook-redeliver",
    ),
    path("", include("marketplace.web.urls_market")),
]
