from django.urls import path

from marketplace.api import views

urlpatterns = [
    path("health/", views.HealthApi.as_view(), name="health"),
    path("auth/register/", views.RegisterApi.as_view(), name="register"),
    path("auth/token/", views.TokenCreateApi.as_view(), name="token-create"),
    path("auth/tokens/", views.TokenListApi.as_view(), name="token-list"),
    path("auth/tokens/<int:pk>/", views.TokenRevokeApi.as_view(), name="token-revoke"),
    path("me/", views.MeApi.as_view(), name="me"),
    path("datasets/", views.DatasetListCreateApi.as_view(), name="dataset-list"),
    path("datasets/<int:pk>/", views.DatasetDetailApi.as_view(), name="dataset-detail"),
    path("datasets/<int:pk>/versions/", views.VersionCreateApi.as_view(), name="version-create"),
    path("versions/<int:pk>/", views.VersionDetailApi.as_view(), name="version-detail"),
    path("versions/<int:pk>/preview/", views.VersionPreviewApi.as_view(), name="version-preview"),
    path("versions/<int:pk>/download/", views.VersionDownloadApi.as_view(), name="version-download"),
    path("versions/<int:pk>/rescrub/", views.VersionRescrubApi.as_view(), name="version-rescrub"),
    path("jobs/", views.JobListApi.as_view(), name="job-list"),
    path("jobs/<int:pk>/", views.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:pk>/cancel/", views.JobCancelApi.as_view(), name="job-cancel"),
]
