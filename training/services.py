"""Training jobs on a licensed mix, and the models they produce: cards, inherited terms, guarded use."""

from __future__ import annotations

import functools
import io
import json
import logging
import math
import shutil
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from marketplace.errors import ApplicationError
from marketplace.job_errors import JobCancelled
from marketplace.models import DatasetVersion, Job, License, Organization
from marketplace.selectors.datasets import version_get_for_org
from marketplace.services.billing import usage_record_job_reads
from marketplace.services.datasets import storage_is_local
from marketplace.services.entitlements import (
    Action,
    derivative_entitlement,
    version_entitlement,
    version_source_licenses,
)
from marketplace.services.jobs import JobOutcome, Progress, job_create, job_run
from marketplace.services.licensing import license_state
from marketplace.terms import terms_combine
from training import compression, receipts
from training.data import MixPart, PreparedData, prepare_mix, synthetic_scaled
from training.evaluation import classification_metrics
from training.mixing import mix_metrics, plan_scales, train_mix
from training.models import BaseModel, TrainedModel, TrainingJob, TrainingReceipt
from training.registry import BASE_MODELS, TASKS, BaseModelSpec, base_model_get, directory_spec
from training.tabular import NotANumber, TabularEncoder
from training.trainer import CHECKPOINT, TrainConfig, TrainData, TrainResult, auto_epochs, predict, train

logger = logging.getLogger(__name__)
# Params of the job rather than of one run: how the mix weights are set, how many seeds, the validation share.
JOB_PARAMS = {"mix_weights": "auto", "seeds": 1, "validation_fraction": 0.15}
# Request params a caller may set; `task` comes from the request itself, the rest keep TrainConfig's defaults.
PARAMS = tuple(name for name in TrainConfig.__dataclass_fields__ if name != "task") + tuple(JOB_PARAMS)
PARAM_LIMITS = {
    "epochs": (1, 100),
    "batch_size": (1, 512),
    "max_length": (8, 4096),
    "learning_rate": (1e-7, 1.0),
    "validations": (1, 1000),
    "seeds": (1, 5),
    "validation_fraction": (0.0, 0.5),
    "processes": (1, 8),
    "dropout": (-1.0, 0.9),
}
HEADLINE = {"text-classification": "accuracy", "tabular-classification": "accuracy", "causal-lm": "perplexity"}


def _source_terms(*, sources: list[License]) -> list[dict[str, Any]]:
    """The licences a mix version is used under (transitively through synthetic versions) and their terms."""
    return [{"license": source.pk, "terms": source.terms, "version": source.dataset_version_id} for source in sources]


def base_model_resolve(name: str) -> BaseModelSpec:
    """A built-in base model or an active operator-registered directory; 400 with the list otherwise."""
    extra = dict(BaseModel.objects.filter(is_active=True).values_list("name", "path"))
    try:
        return base_model_get(name, extra)
    except KeyError as exc:
        raise ApplicationError(
            gettext("Unknown base model %(name)r. See /api/v1/base-models/.") % {"name": name},
            extra={"field": "base_model"},
        ) from exc
    except FileNotFoundError as exc:
        raise ApplicationError(
            gettext("Base model %(name)r is unusable: %(error)s") % {"name": name, "error": exc},
            extra={"field": "base_model"},
        ) from exc


def training_config_build(*, task: str, params: dict[str, Any]) -> TrainConfig:
    """The frozen config of a request, with every param checked (bad input is a 400, never a 500)."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ApplicationError(
            gettext("Unknown params: %(items)s. Allowed: %(items2)s.")
            % {"items": ", ".join(unknown), "items2": ", ".join(PARAMS)},
            extra={"field": "params"},
        )
    fields = TrainConfig.__dataclass_fields__
    values: dict[str, Any] = {}
    for name, value in params.items():
        if name == "epochs" and value == "auto":
            continue  # chosen from the number of training rows when the job runs (`epochs_for`)
        if name == "mix_weights":
            if value not in ("auto", "fixed"):
                raise ApplicationError(
                    gettext('params.mix_weights must be "auto" or "fixed".'), extra={"field": "params"}
                )
            continue
        expected = type(fields[name].default if name in fields else JOB_PARAMS[name])
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not expected:
            also = ' or "auto"' if name == "epochs" else ""
            raise ApplicationError(
                gettext("params.%(name)s must be a %(__name__)s%(also)s.")
                % {"name": name, "__name__": expected.__name__, "also": also},
                extra={"field": "params"},
            )
        low, high = PARAM_LIMITS.get(name, (None, None))
        if low is not None and not low <= value <= high:
            raise ApplicationError(
                gettext("params.%(name)s must be between %(low)s and %(high)s.")
                % {"name": name, "low": low, "high": high},
                extra={"field": "params"},
            )
        if name in fields:
            values[name] = value
    return TrainConfig(task=task, **values)


def job_params_read(params: dict[str, Any]) -> dict[str, Any]:
    """The job-level params of a request (checked by `training_config_build`), defaults filled in."""
    return {name: params.get(name, default) for name, default in JOB_PARAMS.items()}


def epochs_are_auto(params: dict[str, Any]) -> bool:
    """Whether a request leaves the epochs to `auto_epochs` (`epochs: "auto"`, or no epochs at all)."""
    return params.get("epochs", "auto") == "auto"


def epochs_for(*, params: dict[str, Any], config: TrainConfig, rows: int) -> TrainConfig:
    """The config with automatic epochs resolved for `rows` training rows."""
    if not epochs_are_auto(params):
        return config
    return replace(config, epochs=auto_epochs(rows, config.batch_size))


def _required_columns(task: str, text_column: str, label_column: str) -> set[str]:
    if not label_column:
        raise ApplicationError(gettext("label_column names the column to predict."), extra={"field": "label_column"})
    if task == "tabular-classification":
        return {label_column}
    if not text_column:
        raise ApplicationError(
            gettext("text_column names the input text (the prompt, for causal-lm)."), extra={"field": "text_column"}
        )
    return {text_column, label_column}


def _check_same_columns(first: tuple[int, dict[str, str]], other: tuple[int, dict[str, str]]) -> None:
    (first_pk, first_types), (pk, types) = first, other
    problems = []
    if missing := sorted(set(first_types) - set(types)):
        problems.append(f"lacks {', '.join(map(repr, missing))}")
    if extra := sorted(set(types) - set(first_types)):
        problems.append(f"has extra {', '.join(map(repr, extra))}")
    numeric = {"integer", "float", "boolean"}  # the profiler's types (marketplace.dataio)
    clashes = [
        f"{name!r} ({types[name]} vs {first_types[name]})"
        for name in sorted(set(types) & set(first_types))
        if (types[name] in numeric) != (first_types[name] in numeric)
    ]
    if clashes:
        problems.append(f"types differ for {', '.join(clashes)}")
    if problems:
        raise ApplicationError(
            gettext(
                "Tabular training needs the same columns in every version: version %(pk)s, "
                "compared with version %(first_pk)s, %(items)s."
            )
            % {"pk": pk, "first_pk": first_pk, "items": "; ".join(problems)},
            extra={"field": "mix"},
        )


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
    baseline: bool = False,
) -> TrainingJob:
    """Queue fine-tuning after checking that the organisation may train on every version of the mix.

    For causal-lm, `text_column` holds the prompt and `label_column` the completion; tabular-classification uses
    every other column as a feature. `baseline` also trains on the mix's real rows alone, to measure the lift."""
    if task not in TASKS:
        raise ApplicationError(
            gettext("Task %(task)r is not available; available: %(items)s.")
            % {"task": task, "items": ", ".join(TASKS)},
            extra={"field": "task"},
        )
    spec = base_model_resolve(base_model)
    if task not in spec.tasks:
        raise ApplicationError(
            gettext("%(base_model)s cannot be trained for %(task)s; it supports %(items)s.")
            % {"base_model": base_model, "task": task, "items": ", ".join(spec.tasks)},
            extra={"field": "task"},
        )
    if not mix:
        raise ApplicationError(gettext("The mix needs at least one dataset version."), extra={"field": "mix"})
    for item in mix:
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight < math.inf:
            raise ApplicationError(gettext("Mix weights must be positive finite numbers."), extra={"field": "mix"})
    evaluation = evaluation or {"holdout_fraction": 0.2}
    holdout = evaluation.get("holdout_fraction", 0.2)
    if not evaluation.get("version") and not (isinstance(holdout, int | float) and 0 < holdout < 1):
        raise ApplicationError(gettext("eval.holdout_fraction must be between 0 and 1."), extra={"field": "eval"})
    params = dict(params or {})
    # `baseline` is a request field; it is also accepted inside params, where earlier clients sent it.
    baseline = bool(baseline or params.pop("baseline", False))
    config = training_config_build(task=task, params=params)
    columns = _required_columns(task, text_column, label_column)
    lineage, versions = [], [item.get("version") for item in mix]
    if len(set(versions)) != len(versions):
        raise ApplicationError(
            gettext("Each version may appear once in the mix; use its weight instead."), extra={"field": "mix"}
        )
    eval_version = evaluation.get("version")
    first_schema: tuple[int, dict[str, str]] | None = None  # tabular: (version, {column: type}) of the first version
    for pk in [*versions, *([eval_version] if eval_version else [])]:
        version = version_get_for_org(org=organization, pk=pk) if isinstance(pk, int) else None
        if version is None:
            raise ApplicationError(
                gettext("Version %(pk)s not found.") % {"pk": pk}, extra={"field": "mix"}, status=404
            )
        decision = version_entitlement(org=organization, version=version, action=Action.TRAIN)
        if not decision.allowed:
            raise ApplicationError(
                gettext("Version %(pk)s: %(reason)s") % {"pk": pk, "reason": decision.reason},
                extra={"field": "mix"},
                status=403,
            )
        sources = _source_terms(sources=version_source_licenses(version=version, license=decision.license))
        if version.is_synthetic and pk == eval_version:
            raise ApplicationError(
                gettext("Version %(pk)s is synthetic: evaluation uses real data only.") % {"pk": pk},
                extra={"field": "eval"},
            )
        missing = columns - {c["name"] for c in version.schema}
        if missing:
            raise ApplicationError(
                gettext("Version %(pk)s has no column %(items)s.")
                % {"pk": pk, "items": ", ".join(map(repr, sorted(missing)))},
                extra={"field": "text_column"},
            )
        if task == "tabular-classification":
            # Every other column is a feature: versions that disagree on them would be trained on NaN-filled
            # columns or fail mid-run, so they are refused here with what differs.
            types = {c["name"]: c.get("type", "string") for c in version.schema}
            if first_schema is None:
                first_schema = (pk, types)
            else:
                _check_same_columns(first_schema, (pk, types))
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
    if not eval_version and all(entry["is_synthetic"] for entry in lineage):
        raise ApplicationError(
            gettext("Evaluation holds out real rows: add a real version to the mix or name a real eval.version."),
            extra={"field": "eval"},
        )
    job = job_create(
        kind=Job.Kind.TRAINING,
        organization=organization,
        user=user,
        config={"train": asdict(config), "base_model": base_model, "task": task, "baseline": baseline},
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
        baseline=baseline,
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
    """Run a queued training job through the job runner; a redelivered task resumes from the last checkpoint and
    a retried job that already registered its model finds it (`_register_model`)."""
    training = TrainingJob.objects.select_related("organization").filter(job_id=job_id).first()
    if training is None:
        return None
    ran = job_run(
        job_id=job_id,
        run=lambda job, progress: _run(training=training, job=job, progress=progress),
        cancelled_message="Cancelled; the last checkpoint is kept",
    )
    if ran is None:
        return None  # finished or cancelled before this delivery
    training.refresh_from_db()
    return training


def _columns(training: TrainingJob, frame: pd.DataFrame) -> pd.DataFrame:
    """The columns the task trains on; rows without a label (or text) cannot teach anything and are dropped."""
    if training.task == "tabular-classification":
        return frame.dropna(subset=[training.label_column])
    return frame[[training.text_column, training.label_column]].dropna()


def _training_data(*, training: TrainingJob, config: TrainConfig, validation_fraction: float) -> PreparedData:
    org = training.organization
    parts = []
    for item in training.mix:
        version = DatasetVersion.objects.select_related("dataset").get(pk=item["version"])
        decision = version_entitlement(org=org, version=version, action=Action.TRAIN)
        if not decision.allowed:  # checked again at the moment of use: a licence may have ended since the request
            raise ApplicationError(
                gettext("Version %(pk)s: %(reason)s") % {"pk": version.pk, "reason": decision.reason}
            )
        parts.append(
            MixPart(
                frame=_columns(training, _read(version)),
                weight=float(item.get("weight", 1)),
                synthetic=version.is_synthetic,
                version=version.pk,
            )
        )
    evaluation = None
    if training.evaluation.get("version"):
        eval_version = DatasetVersion.objects.get(pk=training.evaluation["version"])
        if eval_version.is_synthetic:
            raise ApplicationError(gettext("Evaluation must use real data, not a synthetic version."))
        evaluation = _columns(training, _read(eval_version))
    return prepare_mix(
        parts,
        holdout_fraction=float(training.evaluation.get("holdout_fraction", 0.2)),
        evaluation=evaluation,
        seed=config.seed,
        validation_fraction=validation_fraction,
    )


def _run(*, training: TrainingJob, job: Job, progress: Progress) -> JobOutcome:
    params = training.params or {}
    config = training_config_build(task=training.task, params=params)
    options = job_params_read(params)
    spec = base_model_resolve(training.base_model)
    data = _training_data(training=training, config=config, validation_fraction=options["validation_fraction"])
    # Every arm trains with the epochs of the mix as weighted: the same configuration, then the same step budget.
    config = epochs_for(params=params, config=config, rows=len(data.train))
    scales = plan_scales(data, config, choose=options["mix_weights"] == "auto", baseline=training.baseline)
    root = Path(settings.TESSERA_TRAINED_MODELS) / f"job-{job.pk}"
    single = len(scales) == 1
    # A redelivered job keeps the events of its earlier attempt up to the checkpoint it resumes from.
    events: list[dict[str, Any]] = list(training.events)
    cancel = {"requested": False}

    def train_arm(name: str, prepared: PreparedData, arm_config: TrainConfig, index: int, total: int) -> TrainResult:
        start, span = 0.05 + 0.9 * index / total, 0.9 / total
        return _train_one(
            training=training,
            spec=spec,
            prepared=prepared,
            directory=root if single else root / name,
            config=arm_config,
            name=name,
            events=events,
            cancel=cancel,
            report=lambda fraction, message: progress(start + span * fraction, message),
        )

    outcome = train_mix(data, config, scales=scales, seeds=options["seeds"], train_arm=train_arm)
    result, headline = outcome.chosen, HEADLINE[training.task]
    metrics = mix_metrics(outcome, headline=headline)
    for name in outcome.results:
        if name != outcome.chosen_name:  # the other arms were measured; only the delivered model is kept
            shutil.rmtree(root / name / "model", ignore_errors=True)
    chosen_data = synthetic_scaled(data, outcome.chosen_scale) if outcome.chosen_scale != 1.0 else data
    model = _register_model(
        training=training,
        data_counts=chosen_data.rows_per_version,
        result=result,
        metrics=metrics,
        output_dir=root if single else root / outcome.chosen_name,
        config=config,
    )
    training.model, training.metrics = model, metrics
    training.save(update_fields=["model", "metrics"])
    receipt_issue(training=training, model=model, result=result, config=config)
    _usage_record(training=training, model=model, config=config)
    model_publish(local_dir=model_dir(model))
    _checkpoints_forget(root)
    return JobOutcome(f"{headline} {result.metrics[headline]} on held-out real rows", {"model": model.pk})


def _train_one(
    *,
    training: TrainingJob,
    spec: BaseModelSpec,
    prepared: PreparedData,
    directory: Path,
    config: TrainConfig,
    name: str,
    events: list[dict[str, Any]],
    cancel: dict[str, bool],
    report: Callable[[float, str], None],
) -> TrainResult:
    """One arm of a job: its step events go to the job's loss curve under `name`, its progress to the job. With an
    S3 store its checkpoints go to the store as they are written, so a worker on another host that takes the job over
    resumes from the last one instead of starting again."""
    checkpoints = _CheckpointSync(directory)
    checkpoints.fetch()

    def on_event(payload: dict[str, Any]) -> None:
        checkpoints.publish()
        payload = {**payload, "run": name}
        if events and events[-1].get("run") == name and events[-1]["step"] >= payload["step"]:
            # Resumed from a checkpoint behind the last recorded step: the steps after it are being redone.
            events[:] = [e for e in events if not (e.get("run") == name and e["step"] >= payload["step"])]
        events.append(payload)
        if payload["step"] % 5 == 0 or payload["step"] == payload["total_steps"]:
            TrainingJob.objects.filter(pk=training.pk).update(events=events[-2000:])
        message = f"{name}: step {payload['step']}/{payload['total_steps']} · loss {payload['loss']:.4f}"
        try:
            report(payload["step"] / payload["total_steps"], message)
        except JobCancelled:  # the trainer stops before its next step, with a checkpoint
            cancel["requested"] = True

    try:
        return train(
            spec,
            TrainData(
                prepared.train,
                prepared.evaluation,
                training.text_column,
                training.label_column,
                validation=prepared.validation,
            ),
            directory,
            config,
            cache_dir=Path(settings.TESSERA_MODEL_CACHE),
            event=on_event,
            should_cancel=lambda: cancel["requested"],
        )
    finally:  # cancelled or failed runs keep their loss curve too, and their last checkpoint
        TrainingJob.objects.filter(pk=training.pk).update(events=events[-2000:])
        checkpoints.publish()


def _checkpoints_forget(root: Path) -> int:
    """Delete the stored checkpoints of a finished job's runs (`root` and its arms); returns how many."""
    if storage_is_local():
        return 0

    def walk(prefix: str) -> int:
        try:
            folders, files = default_storage.listdir(prefix)
        except FileNotFoundError:
            return 0
        gone = 0
        for file in files:
            if file == CHECKPOINT:
                default_storage.delete(f"{prefix}/{file}")
                gone += 1
        return gone + sum(walk(f"{prefix}/{folder}") for folder in folders)

    return walk(_model_store_name(root))


class _CheckpointSync:
    """A training run's checkpoint (`training.trainer.CHECKPOINT`) mirrored in the store, when it is not this disk:
    published whenever the trainer wrote a newer one, fetched before a run that has none locally."""

    def __init__(self, directory: Path) -> None:
        self.local = directory / CHECKPOINT
        self.key = f"{_model_store_name(directory)}/{CHECKPOINT}"
        self.published_mtime = 0.0

    def fetch(self) -> bool:
        if storage_is_local() or self.local.exists() or not default_storage.exists(self.key):
            return False
        self.local.parent.mkdir(parents=True, exist_ok=True)
        staging = self.local.with_name(f".{CHECKPOINT}.{uuid.uuid4().hex[:8]}")
        with default_storage.open(self.key, "rb") as source, staging.open("wb") as out:
            shutil.copyfileobj(source, out, 1024 * 1024)
        staging.replace(self.local)
        self.published_mtime = self.local.stat().st_mtime
        return True

    def publish(self) -> bool:
        if storage_is_local():
            return False
        try:
            mtime = self.local.stat().st_mtime
        except FileNotFoundError:
            return False
        if mtime <= self.published_mtime:
            return False
        if default_storage.exists(self.key):
            default_storage.delete(self.key)
        with self.local.open("rb") as handle:
            default_storage.save(self.key, File(handle))
        self.published_mtime = mtime
        return True


def _register_model(
    *,
    training: TrainingJob,
    data_counts: dict[int, int],
    result: TrainResult,
    metrics: dict[str, Any],
    output_dir: Path,
    config: TrainConfig,
) -> TrainedModel:
    """The model row and its card; a redelivered job that already registered its model gets the same row back."""
    existing = TrainedModel.objects.filter(
        path=model_folder_name(output_dir), organization=training.organization
    ).first()
    if existing is not None:
        return existing
    total = sum(data_counts.values()) or 1
    lineage = []
    for entry in training.lineage["versions"]:
        rows = data_counts.get(entry["version"], 0) if entry["role"] == "training" else 0
        lineage.append({**entry, "training_rows": rows, "share_of_training_rows": round(rows / total, 4)})
    term_sets = [source["terms"] for entry in lineage for source in entry["sources"]]
    inherited = terms_combine(term_sets)
    card = {
        "name": f"{training.base_model} fine-tuned on job {training.job_id}",
        "base_model": training.base_model,
        "task": training.task,
        "labels": result.labels,
        "metrics": metrics,
        "training": {
            "steps": result.steps,
            "config": asdict(config),
            "epochs_chosen": "auto" if epochs_are_auto(training.params or {}) else "requested",
            "tokens_per_s": result.tokens_per_s,
            "trainable_parameters": result.trainable_parameters,
            "columns": {"text": training.text_column, "label": training.label_column},
        },
        "lineage": lineage,
        "inherited_terms": inherited,
        "evaluation": "held-out real rows only; synthetic rows never evaluate the model",
    }
    model = TrainedModel.objects.create(
        organization=training.organization,
        name=card["name"],
        base_model=training.base_model,
        task=training.task,
        path=model_folder_name(output_dir),
        labels=result.labels,
        lineage=lineage,
        inherited_terms=inherited,
        metrics=metrics,
        card=card,
    )
    model.source_licenses.set({source["license"] for entry in lineage for source in entry["sources"]})
    return model


def _usage_record(*, training: TrainingJob, model: TrainedModel, config: TrainConfig) -> None:
    """The rows of each licensed version that went into the model: its rows in the mix (weights counted) times the
    passes over them. The arms measured only to choose the mix are not counted; the delivered model's rows are."""
    usage_record_job_reads(
        job=training.job,
        reads=[
            {
                "version": entry["version"],
                "license": entry["license"],
                "rows": entry.get("training_rows", 0) * config.epochs,
                "detail": {
                    "training_rows": entry.get("training_rows", 0),
                    "epochs": config.epochs,
                    "share_of_training_rows": entry.get("share_of_training_rows"),
                },
            }
            for entry in model.lineage
            if entry["role"] == "training"
        ],
        subject_kind="model",
        subject_id=model.pk,
        subject_name=model.name,
    )


def _signing_key():
    return receipts.private_key_from_seed(settings.TESSERA_SIGNING_KEY)


def receipt_public_key() -> dict[str, str]:
    return {"algorithm": receipts.ALGORITHM, "public_key": receipts.public_key_b64(_signing_key())}


@transaction.atomic
def receipt_issue(
    *, training: TrainingJob, model: TrainedModel, result: TrainResult, config: TrainConfig
) -> TrainingReceipt:
    """The signed receipt of a finished training job: the model, its base model, and each version it read with its
    SHA-256, the licence it was used under, the rows read from it and the passes over them. Issued once per model
    (a redelivered job gets the same receipt back)."""
    existing = TrainingReceipt.objects.filter(model=model).first()
    if existing is not None:
        return existing
    receipt_id = uuid.uuid4()
    sources = [
        {
            "version": entry["version"],
            "dataset": entry["dataset"],
            "provider": entry["provider"],
            "sha256": entry["sha256"],
            "license": entry["license"],
            "is_synthetic": entry["is_synthetic"],
            "role": entry["role"],
            "rows_read": entry.get("training_rows", 0),
            "epochs": config.epochs if entry["role"] == "training" else 0,
            "source_licenses": [source["license"] for source in entry["sources"]],
        }
        for entry in model.lineage
    ]
    payload = {
        "receipt_id": str(receipt_id),
        "issuer": "tessera",
        "issued_at": timezone.now().isoformat(timespec="seconds"),
        "model": {
            "id": model.pk,
            "name": model.name,
            "organization": model.organization.name,
            "base_model": model.base_model,
            "task": model.task,
        },
        "training_job": training.job_id,
        "optimizer_steps": result.steps,
        "sources": sources,
    }
    receipt = TrainingReceipt.objects.create(
        id=receipt_id, model=model, payload=payload, signature=receipts.sign(_signing_key(), payload)
    )
    versions = {entry["version"] for entry in model.lineage} | {
        source["version"] for entry in model.lineage for source in entry["sources"]
    }
    receipt.providers.set(
        set(DatasetVersion.objects.filter(pk__in=versions).values_list("dataset__organization", flat=True))
    )
    return receipt


def model_card_markdown(model: TrainedModel) -> str:
    """The model card as Markdown, in the active language (the API's Accept-Language, the page's language); the
    figures, names and hashes are the same in every language. Verdicts the engines wrote in English are translated
    through the same catalogue as the pages."""
    from marketplace.web.engine_words import translate
    from marketplace.web.term_words import terms_in_words

    _ = gettext
    lines = [
        f"# {model.name}",
        "",
        _("Base model: %(base)s · task: %(task)s") % {"base": f"`{model.base_model}`", "task": model.task},
        "",
        "## " + _("Metrics"),
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in model.metrics.items() if not isinstance(value, dict | list)]
    stopping = model.metrics.get("early_stopping")
    if stopping:
        lines += [
            "",
            _(
                "Early stopping: the weights of step %(step)s, the best on %(rows)s validation rows (real rows used "
                "neither to train nor to evaluate), are this model's."
            )
            % {"step": stopping["best_step"], "rows": stopping["rows"]},
        ]
    selection = model.metrics.get("mix_selection")
    if selection:
        lines += ["", "## " + _("Share of the synthetic rows, chosen on validation rows"), ""]
        lines += [translate(selection["reason"]), ""]
        header = (_("synthetic share"), _("synthetic rows"), _("steps"), _("best step"), _("validation"))
        lines += ["| " + " | ".join(header) + " |", "|---|---|---|---|---|"]
        lines += [
            f"| {c['synthetic_share']:g} | {c['synthetic_rows']} | {c['steps']} | {c['best_step']} | "
            + " · ".join(f"{name} {value}" for name, value in (c["validation"] or {}).items())
            + " |"
            for c in selection["candidates"]
        ]
    comparison = model.metrics.get("baseline")
    if comparison:
        header = (_("metric"), _("augmented"), _("real only"), _("lift"))
        lines += ["", "## " + _("Lift from synthetic data"), "", "| " + " | ".join(header) + " |", "|---|---|---|---|"]
        lines += [
            f"| {name} | {comparison['augmented'][name]} | {comparison['real_only'][name]} | {lift:+} |"
            for name, lift in comparison["lift"].items()
        ]
        if comparison.get("verdict"):
            lines += ["", translate(comparison["verdict"])]
        seeds = comparison.get("over_seeds")
        if seeds and seeds.get("lift_ci95"):
            low, high = seeds["lift_ci95"]
            lines += [
                "",
                _(
                    "Over %(seeds)s seeds, %(share)s of the synthetic rows against real rows alone: lift %(mean)s "
                    "(95%% interval %(low)s to %(high)s)."
                )
                % {
                    "seeds": seeds["seeds"],
                    "share": f"{seeds['synthetic_share']:g}",
                    "mean": f"{seeds['lift_mean']:+}",
                    "low": f"{low:+}",
                    "high": f"{high:+}",
                },
            ]
    header = (_("version"), _("dataset"), _("provider"), "SHA-256", _("licence"), _("synthetic"), _("share"))
    lines += ["", "## " + _("Lineage"), "", "| " + " | ".join(header) + " |", "|---|---|---|---|---|---|---|"]
    owned, yes, no = _("owned"), _("yes"), _("no")
    for entry in model.lineage:
        lines.append(
            f"| {entry['version']} | {entry['dataset']} | {entry['provider']} | `{entry['sha256']}` | "
            f"{entry['license'] or owned} | {yes if entry['is_synthetic'] else no} | "
            f"{entry.get('share_of_training_rows', 0):.1%} |"
        )
    lines += ["", "## " + _("Source licences"), ""]
    states = model_source_license_states(model=model)
    state_words = {"active": _("active"), "expired": _("expired"), "revoked": _("revoked")}
    lines += [
        "- "
        + _("licence %(pk)s (%(listing)s, %(provider)s): %(state)s")
        % {"pk": s["license"], "listing": s["listing"], "provider": s["provider"], "state": state_words[s["state"]]}
        + (f" — {s['revoked_reason']}" if s["revoked_reason"] else "")
        for s in states
    ] or ["- " + _("none: trained on data the organisation owns")]
    receipt = TrainingReceipt.objects.filter(model=model).values_list("pk", flat=True).first()
    if receipt:
        lines += [
            "",
            "## " + _("Training receipt"),
            "",
            _("Signed receipt %(receipt)s: %(get)s, verified with the key at %(key)s.")
            % {
                "receipt": f"`{receipt}`",
                "get": f"`GET /api/v1/receipts/{receipt}/`",
                "key": "`GET /api/v1/receipts/public-key/`",
            },
        ]
    summary = model.metrics.get("compression")
    if summary:
        small = summary["compressed"]
        size, parameters = _("size on disk (bytes)"), _("parameters")
        # Both timed on one device (the CPU where the two are served on two); cards made before it was recorded
        # name none.
        latency = (
            _("predict p50, %(rows)s rows, both on %(device)s (ms)")
            if summary.get("timed_on")
            else _("predict p50, %(rows)s rows (ms)")
        ) % {"rows": summary["batch_rows"], "device": summary.get("timed_on")}
        accuracy = _("accuracy on %(rows)s evaluation rows") % {"rows": summary["eval_rows"]}
        lines += [
            "",
            "## "
            + _("Compressed (%(method)s) from model %(teacher)s")
            % {"method": summary["method"], "teacher": summary["teacher_model"]},
            "",
            "| | " + _("teacher") + " | " + _("this model") + " |",
            "|---|---|---|",
            f"| {size} | {summary['teacher']['size_bytes']} | {small['size_bytes']} |",
            f"| {parameters} | {summary['teacher']['parameters']} | {small['parameters']} |",
            f"| {latency} | {summary['teacher']['predict_p50_ms']} | {small['predict_p50_ms']} |",
            f"| {accuracy} | {summary['teacher']['metrics']['accuracy']} | {small['metrics']['accuracy']} |",
        ]
        if summary.get("agreement_with_teacher") is not None:
            agree = _("rows labelled as the teacher labels them")
            lines.append(f"| {agree} | 1 | {summary['agreement_with_teacher']} |")
        if distilled := summary.get("distill"):
            lines += [
                "",
                _(
                    "A student of %(layers)s of the teacher's %(teacher_layers)s transformer layers, initialised from "
                    "them and trained for %(steps)s steps on the teacher's soft labels (temperature %(temperature)s) "
                    "over its %(rows)s training rows, with the true labels weighted %(hard)s. Its KL divergence from "
                    "the teacher on those rows went from %(before)s to %(after)s."
                )
                % {
                    "layers": distilled["layers"],
                    "teacher_layers": distilled["teacher_layers"],
                    "steps": distilled["steps"],
                    "temperature": distilled["temperature"],
                    "rows": distilled["rows"],
                    "hard": distilled["hard_label_weight"],
                    "before": distilled["kl_to_teacher_before"],
                    "after": distilled["kl_to_teacher_after"],
                },
            ]
            if distilled.get("width", 1.0) < 1:
                lines.append(
                    _("Each of its layers keeps %(share)s of the teacher's feed-forward units (%(kept)s of %(all)s).")
                    % {
                        "share": distilled["width"],
                        "kept": distilled["feed_forward_units"],
                        "all": distilled["teacher_feed_forward_units"],
                    }
                )
            if distilled.get("augmented_rows"):
                lines.append(
                    _(
                        "It also learnt from %(copies)s altered copies of each training row (words masked, swapped "
                        "or cut away; %(altered)s texts in all), labelled by the teacher alone."
                    )
                    % {"copies": distilled["augment"], "altered": distilled["augmented_rows"]}
                )
    lines += ["", "## " + _("Inherited terms"), ""]
    lines += [f"- {sentence}" for _granted, sentence in terms_in_words(model.inherited_terms)]
    return "\n".join(lines) + "\n"


def model_entitlement(*, model: TrainedModel, action: Action) -> None:
    """Raise 403 unless every source licence of the model is still active and allows `action` (PREDICT: use on the
    platform; DOWNLOAD: take the weights away), naming the licence that refuses."""
    decision = derivative_entitlement(
        sources=model.source_licenses.select_related("listing"), action=action, what="model"
    )
    if not decision.allowed:
        raise ApplicationError(decision.reason, status=403, extra={"license": getattr(decision.license, "pk", None)})


def model_source_license_states(*, model: TrainedModel) -> list[dict[str, Any]]:
    """Each licence the model was built under, with its live state: the card shows them and so does the API."""
    return [
        {
            "license": source.pk,
            "listing": source.listing.title,
            "provider": source.listing.organization.name,
            "state": license_state(source),
            "revoked_reason": source.revoked_reason,
            "expires_at": source.expires_at.isoformat() if source.expires_at else None,
        }
        for source in model.source_licenses.select_related("listing__organization").order_by("pk")
    ]


def model_predict(*, model: TrainedModel, inputs: list[Any]) -> list[dict[str, Any]]:
    """Predictions of a model whose source licences are all still active: texts (prompts for causal-lm) or, for
    tabular models, rows as {column: value} objects."""
    model_entitlement(model=model, action=Action.PREDICT)
    expected = dict if model.task == "tabular-classification" else str
    if not inputs or len(inputs) > 256 or not all(isinstance(x, expected) for x in inputs):
        kind = "objects (one per row)" if expected is dict else "strings"
        raise ApplicationError(
            gettext("inputs must be a list of 1 to 256 %(kind)s.") % {"kind": kind}, extra={"field": "inputs"}
        )
    if model.task == "causal-lm" and len(inputs) > 32:
        raise ApplicationError(gettext("Text generation takes at most 32 prompts per call."), extra={"field": "inputs"})
    local = model_local_dir(model)
    if model.task == "tabular-classification":
        _check_tabular_inputs(local, inputs)
    return predict(local, inputs)


@functools.lru_cache(maxsize=64)
def _tabular_encoder(path: str) -> TabularEncoder | None:
    """A saved model's encoder, read once per process: predict is the hot path, and a model's files never change."""
    file = Path(path)
    return TabularEncoder.from_json(json.loads(file.read_text())) if file.exists() else None


def _check_tabular_inputs(local: Path, inputs: list[dict[str, Any]]) -> None:
    """A row whose number column holds text that is no number is refused here, with the column and row named, before
    it joins a batch: in the batch it failed every concurrent caller's request with Python's own words (HTTP 500)."""
    encoder = _tabular_encoder(str(local / "model" / "encoder.json"))
    if encoder is None:
        return
    frame = pd.DataFrame(inputs)
    for column in encoder.numeric:
        if column not in frame:
            continue
        try:
            encoder.values(frame[column], column)
        except NotANumber as exc:
            message = (
                gettext("Row %(row)s: %(column)s is %(value)r, not a date.")
                if exc.kind == "date"
                else gettext("Row %(row)s: %(column)s is %(value)r, not a number.")
            )
            raise ApplicationError(
                message % {"row": exc.row, "column": exc.column, "value": exc.value}, extra={"field": "inputs"}
            ) from exc


MODEL_STORE_PREFIX = "models"  # where model files live in the store: models/<job-N or compress-N>/...
# Not part of a finished model: a running job's checkpoint travels on its own (`_CheckpointSync`) and is forgotten
# once the job has its model.
_MODEL_FILE_SKIPPED = {CHECKPOINT, "events.jsonl"}


def _model_store_name(local_dir: Path) -> str:
    """The model folder's name in the store, from its own folder names (job-N[/arm] or compress-N), so that hosts
    whose TESSERA_TRAINED_MODELS differ still agree."""
    parts = local_dir.parts
    starts = [i for i, part in enumerate(parts) if part.startswith(("job-", "compress-"))]
    return "/".join((MODEL_STORE_PREFIX, *parts[starts[-1] if starts else len(parts) - 1 :]))


def model_publish(*, local_dir: Path) -> int:
    """Copy a finished model's files into the store when it is not this machine's disk (TESSERA_STORAGE_URL), so a
    web or worker process on another host can predict with it, compress it or serve its download; returns how many
    files were written."""
    if storage_is_local():
        return 0
    name = _model_store_name(local_dir)
    written = 0
    for file in sorted(local_dir.rglob("*")):
        if not file.is_file() or file.name in _MODEL_FILE_SKIPPED:
            continue
        key = f"{name}/{file.relative_to(local_dir).as_posix()}"
        if default_storage.exists(key):
            default_storage.delete(key)  # a redelivered job publishes its files again
        with file.open("rb") as handle:
            default_storage.save(key, File(handle))
        written += 1
    return written


def model_folder_name(local_dir: Path) -> str:
    """What `TrainedModel.path` holds: the folder relative to TESSERA_TRAINED_MODELS (job-N[/arm] or compress-N),
    the same name on every host whatever its folders; an absolute path only for a folder outside it."""
    try:
        return local_dir.relative_to(settings.TESSERA_TRAINED_MODELS).as_posix()
    except ValueError:
        return str(local_dir)


def model_dir(model: TrainedModel) -> Path:
    """Where the model's folder is, or will be once fetched, on this machine."""
    path = Path(model.path)
    return path if path.is_absolute() else Path(settings.TESSERA_TRAINED_MODELS) / path


def model_local_dir(model: TrainedModel) -> Path:
    """The model's folder on this machine: as trained here, or fetched from the store into this machine's models
    folder (a folder that another host trained). Fetched into a temporary sibling and renamed, so a half copy is
    never used."""
    local = model_dir(model)
    if local.exists() or storage_is_local():
        return local
    name = _model_store_name(local)
    staging = local.with_name(f".{local.name}-{uuid.uuid4().hex[:8]}")

    def fetch(prefix: str, target: Path) -> int:
        folders, files = default_storage.listdir(prefix)
        target.mkdir(parents=True, exist_ok=True)
        count = 0
        for file in files:
            with default_storage.open(f"{prefix}/{file}", "rb") as source, (target / file).open("wb") as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
            count += 1
        return count + sum(fetch(f"{prefix}/{folder}", target / folder) for folder in folders)

    if fetch(name, staging) == 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise ApplicationError(gettext("The model's files are not on this machine nor in the store."), status=409)
    try:
        staging.rename(local)
    except OSError:  # another request fetched it first
        shutil.rmtree(staging, ignore_errors=True)
    return local


def model_archive(*, model: TrainedModel) -> bytes:
    """A zip of weights + card, only when every source licence allows download."""
    model_entitlement(model=model, action=Action.DOWNLOAD)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        root = model_local_dir(model)
        for file in sorted(root.rglob("*")):
            if file.is_file() and file.name != "checkpoint.pt":
                archive.write(file, file.relative_to(root))
        archive.writestr("MODEL_CARD.md", model_card_markdown(model))
        archive.writestr("model_card.json", json.dumps(model.card, indent=2))
    return buffer.getvalue()


def base_models_list() -> list[dict[str, Any]]:
    """Built-in base models, then the operator-registered directories that are active."""
    specs = list(BASE_MODELS.values())
    for row in BaseModel.objects.filter(is_active=True):
        try:
            spec = base_model_get(row.name, {row.name: row.path})
        except FileNotFoundError:
            continue  # a directory missing on this machine is not offered
        specs.append(
            BaseModelSpec(spec.name, spec.tasks, spec.source, row.description or spec.description, spec.location)
        )
    return [
        {"name": spec.name, "tasks": list(spec.tasks), "source": spec.source, "description": spec.description}
        for spec in specs
    ]


def base_model_save(*, base_model: BaseModel) -> BaseModel:
    """Register (or update) an operator's local transformers directory, refusing a path that is not one."""
    if base_model.name in BASE_MODELS:
        raise ApplicationError(
            gettext("%(name)r is a built-in base model; choose another name.") % {"name": base_model.name}
        )
    try:
        directory_spec(base_model.name, base_model.path)
    except FileNotFoundError as exc:
        raise ApplicationError(str(exc), extra={"field": "path"}) from exc
    base_model.save()
    return base_model


COMPRESSION_METHODS = ("int8", "distill")
# distill's params: (type, low, high), checked before the job is queued.
DISTILL_PARAMS = {
    "layers": (int, 1, 11),
    "width": (float, 0.1, 1.0),
    "epochs": (int, 1, 20),
    "temperature": (float, 1.0, 10.0),
    "learning_rate": (float, 1e-6, 1e-2),
    "hard_label_weight": (float, 0.0, 1.0),
    "augment": (int, 0, 16),
}


def _compression_params(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    if method == "int8":
        if params:
            raise ApplicationError(gettext("int8 compression takes no params."), extra={"field": "params"})
        return {}
    clean = {}
    for name, value in (params or {}).items():
        if name not in DISTILL_PARAMS:
            raise ApplicationError(
                gettext("Unknown params: %(items)s. Allowed: %(items2)s.")
                % {"items": name, "items2": ", ".join(DISTILL_PARAMS)},
                extra={"field": "params"},
            )
        kind, low, high = DISTILL_PARAMS[name]
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (kind is int and not float(value).is_integer()) or not low <= value <= high:
            raise ApplicationError(
                gettext("params.%(name)s must be between %(low)s and %(high)s.")
                % {"name": name, "low": low, "high": high},
                extra={"field": "params"},
            )
        clean[name] = kind(value)
    return clean


@transaction.atomic
def model_compress_create(
    *, model: TrainedModel, user: AbstractBaseUser | None, method: str, params: dict[str, Any] | None = None
) -> Job:
    """Queue a smaller copy of `model` (int8 quantization) with the same lineage and terms, measured against it."""
    if method not in COMPRESSION_METHODS:
        raise ApplicationError(
            gettext("Unknown compression method %(method)r; available: %(items)s.")
            % {"method": method, "items": ", ".join(COMPRESSION_METHODS)},
            extra={"field": "method"},
        )
    clean = _compression_params(method, params)
    tasks = compression.DISTILLABLE_TASKS if method == "distill" else compression.COMPRESSIBLE_TASKS
    if model.task not in tasks:
        raise ApplicationError(
            gettext("%(method)s compression is available for %(items)s models, not %(task)s.")
            % {"method": method, "items": ", ".join(tasks), "task": model.task},
            extra={"field": "method"},
        )
    if model.teacher_id is not None:
        raise ApplicationError(gettext("This model is already compressed; compress its teacher instead."), status=409)
    model_entitlement(model=model, action=Action.PREDICT)  # its data must still be usable to measure it
    job = job_create(
        kind=Job.Kind.COMPRESSION,
        organization=model.organization,
        user=user,
        config={"model": model.pk, "method": method, "params": clean},
    )
    transaction.on_commit(lambda: _enqueue_compression(job.pk))
    return job


def _enqueue_compression(job_id: int) -> None:
    from training.tasks import model_compress_task

    model_compress_task.delay(job_id)


def model_compress_run(*, job_id: int) -> Job | None:
    return job_run(job_id=job_id, run=lambda job, progress: _compress(job=job, progress=progress))


def _compress(*, job: Job, progress: Progress) -> JobOutcome:
    teacher = TrainedModel.objects.select_related("organization").get(pk=job.config["model"])
    model_entitlement(model=teacher, action=Action.PREDICT)
    training = TrainingJob.objects.filter(model=teacher).first()
    if training is None:
        raise ApplicationError(
            gettext("The model's training job is gone, so its evaluation rows cannot be read again.")
        )
    output_dir = Path(settings.TESSERA_TRAINED_MODELS) / f"compress-{job.pk}"
    teacher_dir = model_local_dir(teacher)
    method = job.config["method"]
    params = training.params or {}
    config = training_config_build(task=training.task, params=params)
    progress(0.05, "Reading the teacher's training and evaluation rows")
    data = _training_data(
        training=training, config=config, validation_fraction=job_params_read(params)["validation_fraction"]
    )
    distilled: dict[str, Any] = {}
    if method == "distill":
        progress(0.1, "Training a smaller student on the teacher's soft labels")
        rows = data.train
        distilled = compression.distill(
            teacher_dir,
            output_dir,
            rows[training.text_column].astype(str).tolist(),
            rows[training.label_column].astype(str).tolist(),
            params=job.config.get("params") or {},
            seed=config.seed,
            max_length=config.max_length,
            on_step=lambda step, total: progress(
                0.1 + 0.5 * step / max(total, 1), f"Distilling: step {step + 1}/{total}"
            ),
        )
    else:
        progress(0.1, "Quantizing the linear layers to int8")
        compression.quantize_int8(teacher_dir, output_dir)
    progress(0.6, "Measuring both models on the teacher's evaluation rows")
    evaluation = data.evaluation
    if training.task == "tabular-classification":
        inputs = evaluation.drop(columns=[training.label_column]).to_dict("records")
    else:
        inputs = evaluation[training.text_column].astype(str).tolist()
    truth = evaluation[training.label_column].astype(str).tolist()
    measured = {}
    predictions: dict[str, list[str]] = {}
    for name, directory in (("teacher", teacher_dir), ("compressed", output_dir)):
        predicted = predictions[name] = [p["label"] for p in predict(directory, inputs)]
        labels = teacher.labels
        metrics = classification_metrics(
            [labels.index(t) if t in labels else -1 for t in truth], [labels.index(p) for p in predicted], labels
        )
        measured[name] = {"metrics": metrics, "size_bytes": compression.size_on_disk(directory)}
    progress(0.7, "Timing predict on the same batch")
    batch = inputs[:32]
    p50s, timed_on = compression.latency_p50_ms([teacher_dir, output_dir], batch)
    for name, p50 in zip(("teacher", "compressed"), p50s, strict=True):
        measured[name]["predict_p50_ms"] = p50
    from training.trainer import _load_saved

    for name, directory in (("teacher", teacher_dir), ("compressed", output_dir)):
        measured[name]["parameters"] = compression.parameter_count(_load_saved(directory)[1])
    summary = {
        "method": method,
        **({"distill": distilled} if distilled else {}),
        "teacher_model": teacher.pk,
        "size_ratio": round(measured["compressed"]["size_bytes"] / measured["teacher"]["size_bytes"], 3),
        "speedup_p50": round(measured["teacher"]["predict_p50_ms"] / measured["compressed"]["predict_p50_ms"], 2),
        "accuracy_change": round(
            measured["compressed"]["metrics"]["accuracy"] - measured["teacher"]["metrics"]["accuracy"], 4
        ),
        # The share of evaluation rows labelled as the teacher labels them: on a few hundred rows an accuracy change
        # of a point is a handful of rows that flipped either way, and this says how many flipped at all.
        "agreement_with_teacher": compression.agreement(predictions["teacher"], predictions["compressed"]),
        "eval_rows": len(truth),
        "batch_rows": len(batch),
        "timed_on": timed_on,  # both models' latency, on one device ("cpu" where they are served on two)
        **measured,
    }
    model = TrainedModel.objects.filter(path=model_folder_name(output_dir), organization=teacher.organization).first()
    if model is None:
        card = {
            **teacher.card,
            "name": f"{teacher.name} ({job.config['method']})",
            "metrics": measured["compressed"]["metrics"],
            "compression": summary,
        }
        model = TrainedModel.objects.create(
            organization=teacher.organization,
            name=card["name"][:200],
            base_model=teacher.base_model,
            task=teacher.task,
            path=model_folder_name(output_dir),
            labels=teacher.labels,
            lineage=teacher.lineage,
            inherited_terms=teacher.inherited_terms,
            metrics={**measured["compressed"]["metrics"], "compression": summary},
            card=card,
            teacher=teacher,
        )
        # The same licences: a compressed model is the teacher's derivative and stops with it.
        model.source_licenses.set(teacher.source_licenses.all())
    model_publish(local_dir=output_dir)
    return JobOutcome(
        f"{method}: {summary['size_ratio']}x the size, {summary['speedup_p50']}x faster, accuracy "
        f"{summary['accuracy_change']:+}",
        {"model": model.pk},
    )
