"""Web pages of the synthesis app, mounted at /synthesis/ (namespace "synthesis")."""

from django.urls import path

from synthesis import web

app_name = "synthesis"
urlpatterns = [
    path("", web.synthesis_jobs, name="jobs"),
    path("new/", web.synthesis_new, name="new"),
    path("jobs/<int:pk>/", web.synthesis_job, name="job"),
    path("jobs/<int:pk>/cancel/", web.synthesis_cancel, name="cancel"),
]
