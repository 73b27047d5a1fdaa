"""API routes of the training app, mounted under /api/v1/ (namespace "api")."""

from django.urls import path

from training import api

urlpatterns = [
    path("base-models/", api.BaseModelListApi.as_view(), name="base-model-list"),
    path("training-jobs/", api.TrainingJobListCreateApi.as_view(), name="training-job-list"),
    path("training-jobs/<int:pk>/", api.TrainingJobDetailApi.as_view(), name="training-job-detail"),
    path("training-jobs/<int:pk>/cancel/", api.TrainingJobCancelApi.as_view(), name="training-job-cancel"),
    path("models/", api.TrainedModelListApi.as_view(), name="model-list"),
    path("models/<int:pk>/", api.TrainedModelDetailApi.as_view(), name="model-detail"),
    path("models/<int:pk>/predict/", api.TrainedModelPredictApi.as_view(), name="model-predict"),
    path("models/<int:pk>/download/", api.TrainedModelDownloadApi.as_view(), name="model-download"),
    path("models/<int:pk>/compress/", api.TrainedModelCompressApi.as_view(), name="model-compress"),
    path("receipts/", api.ReceiptListApi.as_view(), name="receipt-list"),
    path("receipts/public-key/", api.ReceiptPublicKeyApi.as_view(), name="receipt-public-key"),
    path("receipts/<uuid:pk>/", api.ReceiptDetailApi.as_view(), name="receipt-detail"),
]
