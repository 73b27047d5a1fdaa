"""Web pages of the training app, mounted at /training/ (namespace "training")."""

from django.urls import path

from training import web

app_name = "training"
urlpatterns = [
    path("", web.training_jobs, name="jobs"),
    path("new/", web.training_new, name="new"),
    path("jobs/<int:pk>/", web.training_job, name="job"),
    path("jobs/<int:pk>/cancel/", web.training_cancel, name="cancel"),
    path("models/<int:pk>/", web.model_detail, name="model"),
    path("models/<int:pk>/compress/", web.model_compress_view, name="model-compress"),
]
