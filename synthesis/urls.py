"""API routes of the synthesis app, mounted under /api/v1/ (namespace "api")."""

from django.urls import path

from synthesis import api

urlpatterns = [
    path("synthesis-jobs/", api.SynthesisJobListCreateApi.as_view(), name="synthesis-job-list"),
    path("synthesis-jobs/<int:pk>/", api.SynthesisJobDetailApi.as_view(), name="synthesis-job-detail"),
    path("synthesis-jobs/<int:pk>/cancel/", api.SynthesisJobCancelApi.as_view(), name="synthesis-job-cancel"),
]
