"""Refuse request bodies over the upload limit before Django reads them to disk."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

# Multipart framing and the other form fields ride on top of the file itself.
FORM_OVERHEAD_BYTES = 1024 * 1024


class UploadLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit_mb = settings.TESSERA_MAX_UPLOAD_MB
        if length > limit_mb * 1024 * 1024 + FORM_OVERHEAD_BYTES:
            message = f"The request is {length / 1e6:.1f} MB; uploads are limited to {limit_mb} MB."
            if request.path.startswith("/api/"):
                return JsonResponse({"message": message, "extra": {"limit_mb": limit_mb}}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
