"""Refuse request bodies over the upload limit before Django reads them to disk; set the Content-Security-Policy."""

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


class ContentSecurityPolicyMiddleware:
    """Send `settings.TESSERA_CSP` on every response that has none: scripts only from this site's static files (no
    inline script, no eval), so markup injected into a page cannot run; nothing may frame the pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = "; ".join(f"{name} {value}" for name, value in settings.TESSERA_CSP.items())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
