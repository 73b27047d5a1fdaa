"""Web pages: train a model on licensed and synthetic versions, follow the loss curve, use the model."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from marketplace.errors import ApplicationError
from marketplace.models import DatasetVersion
from marketplace.selectors.datasets import version_list_usable
from marketplace.services.entitlements import Action
from marketplace.services.jobs import job_cancel
from marketplace.web.views import _org
from training.registry import TASKS
from training.selectors import (
    model_get_for_org,
    model_list_for_org,
    training_job_get_for_org,
    training_job_list_for_org,
)
from training.services import (
    base_models_list,
    model_card_markdown,
    model_compress_create,
    model_entitlement,
    model_predict,
    training_job_create,
)


def _trainable_versions(org) -> list[DatasetVersion]:
    return version_list_usable(org=org, action=Action.TRAIN)


def _form_number(request: HttpRequest, name: str, label: str) -> float | None:
    raw = request.POST.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ApplicationError(
            gettext("%(label)s must be a number, not %(value)r.") % {"label": label, "value": raw[:40]}
        ) from None


@login_required
@require_http_methods(["GET", "POST"])
def training_new(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    versions = _trainable_versions(org)
    if request.method == "POST":
        try:
            mix = []
            for v in versions:
                label = gettext("The weight of %(title)s v%(number)s") % {"title": v.dataset.title, "number": v.number}
                weight = _form_number(request, f"weight_{v.pk}", label) or 0
                if weight > 0:
                    mix.append({"version": v.pk, "weight": weight})
            epochs = request.POST.get("epochs", "").strip() or "auto"
            params: dict = {"epochs": int(epochs) if epochs.isdigit() else epochs}  # anything else: a clear 400
            learning_rate = _form_number(request, "learning_rate", gettext("The learning rate"))
            if learning_rate is not None:
                params["learning_rate"] = learning_rate
            if request.POST.get("lora"):
                params["lora"] = True
            if request.POST.get("mix_weights"):
                params["mix_weights"] = request.POST["mix_weights"]
            seeds = _form_number(request, "seeds", gettext("Seeds"))
            if seeds is not None:
                params["seeds"] = int(seeds) if seeds.is_integer() else seeds  # a fraction: the service's clear 400
            validation = _form_number(request, "validation_fraction", gettext("The validation share"))
            if validation is not None:
                params["validation_fraction"] = validation
            training = training_job_create(
                organization=org,
                user=request.user,
                base_model=request.POST.get("base_model", ""),
                task=request.POST.get("task") or "text-classification",
                mix=mix,
                text_column=request.POST.get("text_column", ""),
                label_column=request.POST.get("label_column", ""),
                params=params,
                baseline=bool(request.POST.get("baseline")),
            )
        except (ApplicationError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
        else:
            return redirect("training:job", pk=training.pk)
    return render(
        request,
        "training/new.html",
        {"versions": versions, "columns": _columns_of(versions), "base_models": base_models_list(), "tasks": TASKS},
    )


def _columns_of(versions) -> list[dict]:
    """Every column of the versions the organisation may train on, with its type and the versions that have it: the
    choices for the text and label columns (the service checks them against the chosen mix)."""
    columns: dict[str, dict] = {}
    for version in versions:
        for column in version.schema or []:
            entry = columns.setdefault(column["name"], {"name": column["name"], "type": column["type"], "versions": []})
            entry["versions"].append(f"{version.dataset.title} v{version.number}")
    return list(columns.values())


@login_required
def training_jobs(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    return render(
        request,
        "training/jobs.html",
        {
            "jobs": training_job_list_for_org(org=org)[:100],
            "models": model_list_for_org(org=org)[:100],
        },
    )


@login_required
def training_job(request: HttpRequest, pk: int) -> HttpResponse:
    training = training_job_get_for_org(org=_org(request), pk=pk)
    if training is None:
        raise Http404("Training job not found.")
    # One curve per run (the model, and the real-only baseline when asked for).
    losses: dict[str, list[dict]] = {}
    for e in training.events:
        losses.setdefault(e.get("run", "model"), []).append({"step": e["step"], "loss": e["loss"]})
    context = {
        "training": training,
        "job": training.job,
        "losses": losses,
        "last": training.events[-1] if training.events else None,
    }
    if request.headers.get("HX-Request"):
        response = render(request, "training/_status.html", context)
        if training.job.is_finished:
            response["HX-Refresh"] = "true"
        return response
    return render(request, "training/job.html", context)


@login_required
@require_POST
def training_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    training = training_job_get_for_org(org=_org(request), pk=pk)
    if training is None:
        raise Http404("Training job not found.")
    if not training.job.is_finished:
        job_cancel(job=training.job)
    return redirect("training:job", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    model = model_get_for_org(org=_org(request), pk=pk)
    if model is None:
        raise Http404("Model not found.")
    predictions, blocked, download_refusal = None, None, None
    try:
        model_entitlement(model=model, action=Action.PREDICT)
    except ApplicationError as exc:
        blocked = exc.message
    try:
        model_entitlement(model=model, action=Action.DOWNLOAD)
    except ApplicationError as exc:
        download_refusal = exc.message
    if request.method == "POST" and not blocked:
        inputs: list = [line for line in request.POST.get("inputs", "").splitlines() if line.strip()]
        try:
            if model.task == "tabular-classification":  # one JSON object per line
                inputs = [json.loads(line) for line in inputs]
            predictions = list(zip(inputs, model_predict(model=model, inputs=inputs), strict=True))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        except json.JSONDecodeError as exc:
            messages.error(
                request,
                gettext('Each line must be one JSON object, e.g. {"age": 41} (%(error)s).') % {"error": exc.msg},
            )
    baseline = getattr(model, "training_job", None)
    return render(
        request,
        "training/model.html",
        {
            "model": model,
            "card_markdown": model_card_markdown(model),
            "predictions": predictions,
            "blocked": blocked,
            "download_refusal": download_refusal,
            "baseline": baseline.metrics.get("baseline") if baseline else None,
            "scalar_metrics": [(k, v) for k, v in model.metrics.items() if not isinstance(v, dict | list)],
        },
    )


@login_required
@require_POST
def model_compress_view(request: HttpRequest, pk: int) -> HttpResponse:
    model = model_get_for_org(org=_org(request), pk=pk)
    if model is None:
        raise Http404("Model not found.")
    try:
        width = request.POST.get("width")
        try:
            params = {"width": float(width)} if width else None
        except ValueError:
            raise ApplicationError(gettext("params.width must be a number.")) from None
        job = model_compress_create(
            model=model, user=request.user, method=request.POST.get("method", "int8"), params=params
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(
            request,
            gettext("Compression queued as job %(id)s; the smaller model appears below when it is done.")
            % {"id": job.pk},
        )
    return redirect("training:model", pk=pk)
