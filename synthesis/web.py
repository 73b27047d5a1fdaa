"""Web pages: start a synthesis from a licensed version, follow its progress, read its report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from marketplace.errors import ApplicationError
from marketplace.selectors.datasets import version_get_for_org
from marketplace.services.jobs import job_cancel
from marketplace.web.views import _org
from synthesis.selectors import synthesis_job_get_for_org, synthesis_job_list_for_org
from synthesis.services import METHODS, synthesis_job_create


@login_required
@require_http_methods(["GET", "POST"])
def synthesis_new(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    version = version_get_for_org(org=org, pk=int(request.GET.get("version") or request.POST.get("version") or 0))
    if version is None:
        raise Http404("Dataset version not found.")
    if request.method == "POST":
        try:
            synthesis = synthesis_job_create(
                organization=org,
                user=request.user,
                sources=[version.pk],
                method=request.POST.get("method", "auto"),
                rows=int(request.POST.get("rows") or 1000),
                params=_form_params(request),
            )
        except (ApplicationError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
        else:
            return redirect("synthesis:job", pk=synthesis.pk)
    return render(request, "synthesis/new.html", {"version": version, "methods": METHODS})


def _form_params(request: HttpRequest) -> dict[str, str]:
    """The form's column choices as the job's params: text and label columns for `llm`, a target for the others.
    The service checks that each names a column of the source."""
    if request.POST.get("method") == "llm":
        names = ("text_column", "label_column")
    else:
        names = ("target",)
    return {name: request.POST[name] for name in names if request.POST.get(name)}


@login_required
def synthesis_jobs(request: HttpRequest) -> HttpResponse:
    return render(request, "synthesis/jobs.html", {"jobs": synthesis_job_list_for_org(org=_org(request))[:100]})


@login_required
def synthesis_job(request: HttpRequest, pk: int) -> HttpResponse:
    synthesis = synthesis_job_get_for_org(org=_org(request), pk=pk)
    if synthesis is None:
        raise Http404("Synthesis job not found.")
    if request.headers.get("HX-Request"):
        response = render(request, "synthesis/_status.html", {"synthesis": synthesis, "job": synthesis.job})
        if synthesis.job.is_finished:
            response["HX-Refresh"] = "true"
        return response
    return render(
        request,
        "synthesis/job.html",
        {
            "synthesis": synthesis,
            "job": synthesis.job,
            # Rendered with json_script (escaped), read by the page's chart code.
            "plots": {
                "distributions": (synthesis.report or {}).get("distributions", {}),
                "pair_trends": ((synthesis.report or {}).get("quality") or {}).get("pair_trends"),
            },
        },
    )


@login_required
@require_POST
def synthesis_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    synthesis = synthesis_job_get_for_org(org=_org(request), pk=pk)
    if synthesis is None:
        raise Http404("Synthesis job not found.")
    if not synthesis.job.is_finished:
        job_cancel(job=synthesis.job)
    return redirect("synthesis:job", pk=pk)
