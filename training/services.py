"""Training jobs on a licensed mix, and the models they produce: cards, inherited terms, guarded use."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.db import transaction

from marketplace.errors import ApplicationError
from marketplace.models import DatasetVersion, Job, License, Organization
from marketplace.selectors.datasets import version_get_for_org
from marketplace.services.entitlements import Action, version_entitlement
from marketplace.services.jobs import job_claim, job_create, job_fail, job_mark_cancelled, job_progress, job_succeed
from marketplace.services.licensing import license_is_active, license_state
from training.data import MixPart, prepare_mix
from training.models import TrainedModel, TrainingJob
from training.registry import BASE_MODELS, base_model_get
from training.trainer import Cancelled, TrainConfig, predict, train_text_classifier

logger = logging.getLogger(__name__)
TASKS = ("text-classification",)
TERM_FLAGS = ("download", "synthetic_derivatives", "model_training", "commercial_use")
OWNED_TERMS = {flag: True for flag in TERM_FLAGS}


def _source_terms(*, org: Organization, version: DatasetVersion, license_id: int | None) -> list[dict[str, Any]]:
    """The licence terms behind a version: its own licence, or for a synthetic version, those of its sources."""
    if version.is_synthetic:
        return [
            {"license": s.get("license"), "terms": s.get("terms") or OWNED_TERMS, "version": s.get("version")}
            for s in version.lineage.get("sources", [])
        ]
    if license_id is None:
        return [{"license": None, "terms": OWNED_TERMS, "version": version.pk}]
    return [{"license": license_id, "terms": License.objects.get(pk=license_id).terms, "version": version.pk}]


def inherit_terms(term_sets: list[dict[str, Any]]) -> dict[str, Any]:
    """The most restrictive of the sources: a flag holds only if every source allows it."""
    return {flag: all(bool(terms.get(flag)) for terms in term_sets) for flag in TERM_FLAGS}


@transaction.atomic
def training_job_create(
    *,
    organization: Organization,
    user: AbstractBaseUser | None,
    base_model: str,
    task: str,
    mix: list[dict[str, Any]],
    text_column: str,
    label_column: str,
    evaluation: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
) -> TrainingJob:
    """Queue fine-tuning after checking that the organisation may train on every version of the mix."""
    if task not in TASKS:
        raise ApplicationError(
            f"Task {task!r} is not available; available: {', '.join(TASKS)}.", extra={"field": "task"}
        )
    try:
        spec = base_model_get(base_model)
    except KeyError as exc:
        raise ApplicationError(
            f"Unknown base model {base_model!r}. See /api/v1/base-models/.", extra={"field": "base_model"}
        ) from exc
    if task not in spec.tasks:
        raise ApplicationError(f"{base_model} cannot be trained for {task}.", extra={"field": "task"})
    if not mix:
        raise ApplicationError("The mix needs at least one dataset version.", extra={"field": "mix"})
    evaluation = evaluation or {"holdout_fraction": 0.2}
    params = params or {}
    try:
        config = TrainConfig(**{k: v for k, v in params.items() if k in TrainConfig.__dataclass_fields__})
    except TypeError as exc:
        raise ApplicationError(f"Invalid params: {exc}", extra={"field": "params"}) from exc
    lineage, versions = [], [item.get("version") for item in mix]
    eval_version = evaluation.get("version")
    for pk in [*versions, *([eval_version] if eval_version else [])]:
        version = version_get_for_org(org=organization, pk=pk) if isinstance(pk, int) else None
        if version is None:
            raise ApplicationError(f"Version {pk} not found.", extra={"field": "mix"}, status=404)
        decision = version_entitlement(org=organization, version=version, action=Action.TRAIN)
        if not decision.allowed:
            raise ApplicationError(f"Version {pk}: {decision.reason}", extra={"field": "mix"}, status=403)
        sources = _source_terms(
            org=organization, version=version, license_id=decision.license.pk if decision.license else None
        )
        if version.is_synthetic and not all(s["terms"].get("model_training") for s in sources):
            raise ApplicationError(f"Version {pk} is synthetic data whose sources forbid model training.", status=403)
        names = {c["name"] for c in version.schema}
        if {text_column, label_column} - names:
            raise ApplicationError(
                f"Version {pk} has no column {text_column!r} or {label_column!r}.", extra={"field": "text_column"}
            )
        lineage.append(
            {
                "version": version.pk,
                "dataset": version.dataset.title,
                "sha256": version.sha256,
                "provider": version.dataset.organization.name,
                "is_synthetic": version.is_synthetic,
                "license": decision.license.pk if decision.license else None,
                "sources": sources,
                "role": "evaluation" if pk == eval_version and pk not in versions else "training",
                "row_count": version.row_count,
            }
        )
    for item in mix:
        if not isinstance(item.get("weight", 1), int | float) or item.get("weight", 1) <= 0:
            raise ApplicationError("Mix weights must be positive numbers.", extra={"field": "mix"})
    job = job_create(
        kind=Job.Kind.TRAINING,
        organization=organization,
        user=user,
        config={"train": config.__dict__, "base_model": base_model, "task": task},
    )
    training = TrainingJob.objects.create(
        job=job,
        organization=organization,
        base_model=base_model,
        task=task,
        mix=mix,
        text_column=text_column,
        label_column=label_column,
        evaluation=evaluation,
        params=params,
        lineage={"versions": lineage},
    )
    transaction.on_commit(lambda: _enqueue(job.pk))
    return training


def _enqueue(job_id: int) -> None:
    from training.tasks import training_run_task

    training_run_task.delay(job_id)


def _read(version: DatasetVersion) -> pd.DataFrame:
    with default_storage.open(version.data_path, "rb") as handle:
        return pd.read_parquet(handle)


def training_run(*, job_id: int) -> TrainingJob | None:
    """Run a queued training job; a redelivered task resumes from the last checkpoint."""
    job = job_claim(job_id=job_id)
    if job is None:
        return None
    training = TrainingJob.objects.select_related("organization").get(job=job)
    try:
        _run(training=training, job=job)
    except Cancelled:
        job_mark_cancelled(job=job, message="Cancelled; the last checkpoint is kept")
    except (ApplicationError, ValueError, FloatingPointError) as exc:
        job_fail(job=job, error=str(getattr(exc, "message", exc)))
    except Exception as exc:
        logger.exception("training job %s failed", job.pk)
        job_fail(job=job, error=f"Training failed unexpectedly ({type(exc).__name__}: {exc}).")
    training.refresh_from_db()
    return training


def _run(*, training: TrainingJob, job: Job) -> None:
    org = training.organization
    parts = []
    for item in training.mix:
        version = DatasetVersion.objects.select_related("dataset").get(pk=item["version"])
        decision = version_entitlement(org=org, version=version, action=Action.TRAIN)
        if not decision.allowed:  # checked again at the moment of use
            raise ApplicationError(f"Version {version.pk}: {decision.reason}")
        frame = _read(version)[[training.text_column, training.label_column]].dropna()
        parts.append(
            MixPart(
                frame=frame, weight=float(item.get("weight", 1)), synthetic=version.is_synthetic, version=version.pk
            )
        )
    evaluation = None
    if training.evaluation.get("version"):
        eval_version = DatasetVersion.objects.get(pk=training.evaluation["version"])
        if eval_version.is_synthetic:
            raise ApplicationError("Evaluation must use real data, not a synthetic version.")
        evaluation = _read(eval_version)[[training.text_column, training.label_column]].dropna()
    params = training.params or {}
    config = TrainConfig(**{k: v for k, v in params.items() if k in TrainConfig.__dataclass_fields__})
    data = prepare_mix(
        parts,
        holdout_fraction=float(training.evaluation.get("holdout_fraction", 0.2)),
        evaluation=evaluation,
        seed=config.seed,
    )
    output_dir = Path(settings.TESSERA_MODEL_CACHE) / "trained" / f"job-{job.pk}"
    events: list[dict[str, Any]] = list(training.events)

    def on_event(payload: dict[str, Any]) -> None:
        events.append(payload)
        if payload["step"] % 5 == 0 or payload["step"] == payload["total_steps"]:
            TrainingJob.objects.filter(pk=training.pk).update(events=events[-2000:])
        message = f"step {payload['step']}/{payload['total_steps']} · loss {payload['loss']:.4f}"
        if job_progress(job=job, progress=0.05 + 0.9 * payload["step"] / payload["total_steps"], message=message):
            cancel_flag["set"] = True

    cancel_flag = {"set": False}
    result = train_text_classifier(
        base_model_get(training.base_model),
        data.train[training.text_column].astype(str).tolist(),
        data.train[training.label_column].astype(str).tolist(),
        data.evaluation[training.text_column].astype(str).tolist(),
        data.evaluation[training.label_column].astype(str).tolist(),
        output_dir,
        config,
        event=on_event,
        should_cancel=lambda: cancel_flag["set"],
    )
    TrainingJob.objects.filter(pk=training.pk).update(events=events[-2000:])
    if params.get("baseline"):
        # The same configuration on the real rows of the mix alone, judged on the same held-out rows: the lift.
        synthetic_versions = {part.version for part in parts if part.synthetic}
        real_rows = data.train[~data.train["_version"].isin(synthetic_versions)]
        if real_rows.empty:
            raise ApplicationError("A baseline needs real rows in the mix.")
        job_progress(job=job, progress=0.96, message="Training the real-only baseline")
        baseline = train_text_classifier(
            base_model_get(training.base_model),
            real_rows[training.text_column].astype(str).tolist(),
            real_rows[training.label_column].astype(str).tolist(),
            data.evaluation[training.text_column].astype(str).tolist(),
            data.evaluation[training.label_column].astype(str).tolist(),
            output_dir.with_name(output_dir.name + "-baseline"),
            config,
            should_cancel=lambda: cancel_flag["set"],
        )
        result.metrics = {
            **result.metrics,
            "baseline_real_only": baseline.metrics,
            "lift_accuracy": round(result.metrics["accuracy"] - baseline.metrics["accuracy"], 4),
        }
    model = _register_model(
        training=training, data_counts=data.rows_per_version, result=result, output_dir=output_dir, config=config
    )
    training.model, training.metrics = model, result.metrics
    training.save(update_fields=["model", "metrics"])
    job_succeed(
        job=job, message=f"accuracy {result.metrics['accuracy']:.3f} on held-out real rows", result={"model": model.pk}
    )


def _register_model(
    *, training: TrainingJob, data_counts: dict[int, int], result, output_dir: Path, config: TrainConfig
) -> TrainedModel:
    total = sum(data_counts.values()) or 1
    lineage = []
    for entry in training.lineage["versions"]:
        rows = data_counts.get(entry["version"], 0)
        lineage.append({**entry, "training_rows": rows, "share_of_training_rows": round(rows / total, 4)})
    term_sets = [source["terms"] for entry in lineage for source in entry["sources"]]
    inherited = inherit_terms(term_sets)
    card = {
        "name": f"{training.base_model} fine-tuned on job {training.job_id}",
        "base_model": training.base_model,
        "task": training.task,
        "labels": result.labels,
        "metrics": result.metrics,
        "training": {"steps": result.steps, "config": config.__dict__, "tokens_per_s": result.tokens_per_s},
        "lineage": lineage,
        "inherited_terms": inherited,
        "evaluation": "held-out real rows only; synthetic rows never evaluate the model",
    }
    return TrainedModel.objects.create(
        organization=training.organization,
        name=card["name"],
        base_model=training.base_model,
        task=training.task,
        path=str(output_dir),
        labels=result.labels,
        lineage=lineage,
        inherited_terms=inherited,
        metrics=result.metrics,
        card=card,
    )


def model_card_markdown(model: TrainedModel) -> str:
    lines = [f"# {model.name}", "", f"Base model: `{model.base_model}` · task: {model.task}", "", "## Metrics", ""]
    lines += [f"- {key}: {value}" for key, value in model.metrics.items()]
    lines += [
        "",
        "## Lineage",
        "",
        "| version | dataset | provider | SHA-256 | licence | synthetic | share |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in model.lineage:
        lines.append(
            f"| {entry['version']} | {entry['dataset']} | {entry['provider']} | `{entry['sha256']}` | "
            f"{entry['license'] or 'owned'} | {'yes' if entry['is_synthetic'] else 'no'} | "
            f"{entry.get('share_of_training_rows', 0):.1%} |"
        )
    lines += ["", "## Inherited terms", ""]
    lines += [
        f"- {flag.replace('_', ' ')}: {'allowed' if allowed else 'not allowed'}"
        for flag, allowed in model.inherited_terms.items()
    ]
    return "\n".join(lines) + "\n"


def model_use_check(*, model: TrainedModel) -> None:
    """Every source licence must still be active to use the model on the platform."""
    for entry in model.lineage:
        for source in entry.get("sources", []):
            license_id = source.get("license")
            if license_id is None:
                continue
            license = License.objects.filter(pk=license_id).first()
            if license is None or not license_is_active(license):
                state = license_state(license) if license else "missing"
                raise ApplicationError(
                    f"Source licence {license_id} (version {source.get('version')}) is {state}; the model cannot be "
                    "used until it is renewed.",
                    status=403,
                )


def model_predict(*, model: TrainedModel, inputs: list[str]) -> list[dict[str, Any]]:
    model_use_check(model=model)
    if not inputs or not all(isinstance(x, str) for x in inputs) or len(inputs) > 256:
        raise ApplicationError("inputs must be a list of 1 to 256 strings.", extra={"field": "inputs"})
    return predict(Path(model.path), inputs)


def model_archive(*, model: TrainedModel) -> bytes:
    """A zip of weights + card, only when every source licence allows download."""
    model_use_check(model=model)
    if not model.inherited_terms.get("download"):
        raise ApplicationError(
            "This model was trained on compute-only data: it can be used through predict but not downloaded.",
            status=403,
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        root = Path(model.path)
        for file in sorted(root.rglob("*")):
            if file.is_file() and file.name != "checkpoint.pt":
                archive.write(file, file.relative_to(root))
        archive.writestr("MODEL_CARD.md", model_card_markdown(model))
        archive.writestr("model_card.json", json.dumps(model.card, indent=2))
    return buffer.getvalue()


def base_models_list() -> list[dict[str, Any]]:
    return [
        {"name": spec.name, "tasks": list(spec.tasks), "source": spec.source, "description": spec.description}
        for spec in BASE_MODELS.values()
    ]
