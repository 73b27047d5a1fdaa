"""Synthesis jobs: check entitlements, run the engine, store the output as a buyer-owned version with lineage."""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from marketplace.errors import ApplicationError
from marketplace.job_errors import JobInputError
from marketplace.models import Dataset, DatasetVersion, Job, License, Organization, UsageRecord
from marketplace.pii import scan
from marketplace.pii.text import TextScrubber
from marketplace.selectors.datasets import version_get_for_org
from marketplace.services.billing import usage_record_job_reads
from marketplace.services.datasets import dataset_create
from marketplace.services.entitlements import Action, version_entitlement, version_source_licenses
from marketplace.services.ingest import version_store_frame
from marketplace.services.jobs import JobOutcome, Progress, job_create, job_run
from marketplace.terms import terms_combine
from synthesis.evaluation import (
    evaluate,
    exact_copy_rate,
)
from synthesis.llm import TEXT_MODELS
from synthesis.models import SynthesisJob
from synthesis.tabular import SYNTHESIZERS, TabularConfig, _comparable, synthesize_table
from synthesis.text import TextConfig, synthesize_text, text_report

logger = logging.getLogger(__name__)
METHODS = ("auto", "llm", *SYNTHESIZERS)
TEXT_PARAMS = {
    "mode",
    "text_column",
    "label_column",
    "template",
    "few_shot",
    "batch_size",
    "sequences_per_prompt",
    "max_new_tokens",
    "temperature",
    "top_p",
    "seed",
    "model",
    "min_chars",
    "max_chars",
    "consistency_filter",
    "top_up",
}


# Tabular methods' params: what each is, as (type, smallest allowed, largest allowed) for the numbers.
TABULAR_NUMBERS = {
    "time_budget_s": (float, 10, 3600),  # auto: seconds of fitting after which no new candidate is tried
    "epochs": (int, 1, 1000),  # neural synthesizers (CTGAN, TVAE, CopulaGAN; TabularARGN's epoch cap)
    "seed": (int, 0, 2**31 - 1),
}
TABULAR_PARAMS = {"target", "target_temperature", *TABULAR_NUMBERS}


def _check_numbers(params: dict[str, Any], numbers: dict[str, tuple[type, float, float]]) -> None:
    """Each named number present in `params` is of its type (an int is a float too, a bool neither) and in range."""
    for name, (kind, low, high) in numbers.items():
        if name not in params:
            continue
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
            raise ApplicationError(
                gettext("params.%(name)s must be %(value)s.")
                % {"name": name, "value": gettext("an integer") if kind is int else gettext("a number")},
                extra={"field": "params"},
            )
        if not low <= value <= high:
            raise ApplicationError(
                gettext("params.%(name)s must be between %(low)s and %(high)s.")
                % {"name": name, "low": low, "high": high},
                extra={"field": "params"},
            )


def _check_tabular_params(method: str, params: dict[str, Any]) -> None:
    """A tabular job's params are refused before any job exists when a name is unknown (a typo such as `targt` would
    otherwise be ignored and the job run without the target) or a value is of the wrong type or out of range (it would
    otherwise fail the job later, or run it with a budget or seed nobody asked for)."""
    unknown = set(params) - TABULAR_PARAMS
    if unknown:
        raise ApplicationError(
            gettext("Unknown params for method %(method)r: %(items)s. Known: %(known)s.")
            % {"method": method, "items": ", ".join(sorted(unknown)), "known": ", ".join(sorted(TABULAR_PARAMS))},
            extra={"field": "params"},
        )
    target = params.get("target")
    if target is not None and not isinstance(target, str):
        raise ApplicationError(
            gettext("params.target must be a column name (a string); got %(value)r.") % {"value": target},
            extra={"field": "params"},
        )
    _check_numbers(params, TABULAR_NUMBERS)


def _check_text_params(params: dict[str, Any]) -> None:
    unknown = set(params) - TEXT_PARAMS
    if unknown:
        raise ApplicationError(
            gettext("Unknown params for method 'llm': %(items)s.") % {"items": ", ".join(sorted(unknown))},
            extra={"field": "params"},
        )
    if params.get("mode", "generate") not in ("paraphrase", "generate"):
        raise ApplicationError(gettext("params.mode must be 'paraphrase' or 'generate'."), extra={"field": "params"})
    if not params.get("text_column"):
        raise ApplicationError(gettext("params.text_column names the column with the text."), extra={"field": "params"})
    if params.get("model", "smollm2-135m-instruct") not in TEXT_MODELS:
        raise ApplicationError(
            gettext("params.model must be one of: %(items)s.") % {"items": ", ".join(TEXT_MODELS)},
            extra={"field": "params"},
        )
    _check_numbers(
        params,
        {
            "few_shot": (int, 1, 20),
            "batch_size": (int, 1, 256),
            "sequences_per_prompt": (int, 1, 16),
            "max_new_tokens": (int, 1, 1024),
            "temperature": (float, 0.0, 5.0),
            "top_p": (float, 0.01, 1.0),
            "seed": (int, 0, 2**31 - 1),
            "min_chars": (int, 0, 100_000),
            "max_chars": (int, 1, 100_000),
        },
    )
    if params.get("consistency_filter", "auto") not in ("auto", "on", "off"):
        raise ApplicationError(
            gettext('params.consistency_filter must be "auto", "on" or "off".'), extra={"field": "params"}
        )
    if not isinstance(params.get("top_up", True), bool):
        raise ApplicationError(gettext("params.top_up must be true or false."), extra={"field": "params"})
    template = params.get("template")
    if template is not None:
        try:
            template.format(text="", label="", examples="")
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise ApplicationError(
                gettext("The template may only use {text}, {label} and {examples}."), extra={"field": "params"}
            ) from exc


MAX_ROWS = 1_000_000


def _lineage_entry(*, version: DatasetVersion, license: License | None, sources: list[License]) -> dict[str, Any]:
    """One source of a synthesis job: what it is, the licence it is used under, and its effective terms."""
    return {
        "version": version.pk,
        "dataset": version.dataset.title,
        "sha256": version.sha256,
        "license": license.pk if license else None,
        "provider": version.dataset.organization.name,
        "terms": terms_combine(source.terms for source in sources),
        "source_licenses": [source.pk for source in sources],
        "is_synthetic": version.is_synthetic,
    }


@transaction.atomic
def synthesis_job_create(
    *,
    organization: Organization,
    user: AbstractBaseUser | None,
    sources: list[int],
    method: str,
    rows: int,
    params: dict[str, Any] | None = None,
) -> SynthesisJob:
    """Queue a synthesis job after checking that the organisation may derive synthetic data from every source."""
    params = params or {}
    if not sources:
        raise ApplicationError(gettext("Name at least one source version."), extra={"field": "sources"})
    if method == "llm":
        _check_text_params(params)
    elif method not in METHODS:
        raise ApplicationError(
            gettext("Unknown method %(method)r. Use one of: %(items)s.")
            % {"method": method, "items": ", ".join(METHODS)},
            extra={"field": "method"},
        )
    else:
        _check_tabular_params(method, params)
    if method not in ("auto", "llm") and method not in settings.TESSERA_SYNTHESIZERS:
        raise ApplicationError(
            gettext("The synthesizer %(method)r is disabled on this platform (licence policy).") % {"method": method},
            extra={"field": "method"},
            status=403,
        )
    if not 1 <= rows <= MAX_ROWS:
        raise ApplicationError(
            gettext("rows must be between 1 and %(MAX_ROWS)s.") % {"MAX_ROWS": MAX_ROWS}, extra={"field": "rows"}
        )
    versions, lineage = [], []
    for pk in dict.fromkeys(sources):
        version = version_get_for_org(org=organization, pk=pk)
        if version is None:
            raise ApplicationError(
                gettext("Source version %(pk)s not found.") % {"pk": pk}, extra={"field": "sources"}, status=404
            )
        decision = version_entitlement(org=organization, version=version, action=Action.SYNTHESIZE)
        if not decision.allowed:
            raise ApplicationError(
                gettext("Version %(pk)s: %(reason)s") % {"pk": pk, "reason": decision.reason},
                extra={"field": "sources"},
                status=403,
            )
        versions.append(version)
        sources = version_source_licenses(version=version, license=decision.license)
        lineage.append(_lineage_entry(version=version, license=decision.license, sources=sources))
    columns = {tuple(c["name"] for c in v.schema) for v in versions}
    if len(columns) > 1:
        raise ApplicationError(
            gettext("Sources must share the same columns to be synthesized together."), extra={"field": "sources"}
        )
    names = next(iter(columns))
    for param in ("target", "text_column", "label_column"):
        if params.get(param) and params[param] not in names:
            raise ApplicationError(
                gettext("params.%(param)s names no column of the source: %(value)r. Its columns: %(items)s.")
                % {"param": param, "value": params[param], "items": ", ".join(names)},
                extra={"field": "params"},
            )
    if "target_temperature" in params:
        value = params["target_temperature"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise ApplicationError(
                gettext(
                    "params.target_temperature must be a number above 0 and at most 1 (1 draws the target with the "
                    "real rows' own spread); got %(value)r."
                )
                % {"value": value},
                extra={"field": "params"},
            )
    config = {"method": method, "rows": rows, "params": params}
    job = job_create(kind=Job.Kind.SYNTHESIS, organization=organization, user=user, config=config)
    synthesis = SynthesisJob.objects.create(
        job=job, organization=organization, method=method, rows=rows, params=params, lineage={"sources": lineage}
    )
    synthesis.sources.set(versions)
    transaction.on_commit(lambda: _enqueue(job.pk))
    return synthesis


def _enqueue(job_id: int) -> None:
    from synthesis.tasks import synthesis_run_task

    synthesis_run_task.delay(job_id)


def _usage_record(*, synthesis: SynthesisJob, job: Job) -> None:
    """What the job used of each licensed source: every row of it read, and the synthetic rows made from it."""
    output = DatasetVersion.objects.filter(pk=synthesis.output_version_id).first()
    rows = dict(synthesis.sources.values_list("pk", "row_count"))
    reads = []
    for source in synthesis.lineage.get("sources", []):
        if not source.get("license"):
            continue
        version, license = source["version"], source["license"]
        reads.append({"version": version, "license": license, "rows": rows.get(version) or 0})
        if output is not None and output.row_count:
            kind = UsageRecord.Kind.SYNTHETIC_ROWS
            reads.append({"version": version, "license": license, "rows": output.row_count, "kind": kind})
    usage_record_job_reads(
        job=job,
        reads=reads,
        subject_kind="synthetic_version",
        subject_id=output.pk if output else None,
        subject_name=f"{output.dataset.title} v{output.number}" if output else "",
    )


def synthesis_run(*, job_id: int) -> SynthesisJob | None:
    """Run a queued synthesis job through the job runner; safe to deliver twice (the claim lets one run, and a
    retried job finishes its own output version instead of making another)."""
    synthesis = SynthesisJob.objects.select_related("organization").filter(job_id=job_id).first()
    if synthesis is None:
        return None

    def run(job: Job, progress: Progress) -> JobOutcome:
        workdir = Path(tempfile.mkdtemp(prefix=f"synthesis-{job.pk}-", dir=settings.FILE_UPLOAD_TEMP_DIR))
        try:
            outcome = _run(synthesis=synthesis, job=job, workdir=workdir, progress=progress)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        _usage_record(synthesis=synthesis, job=job)
        return outcome

    if job_run(job_id=job_id, run=run) is None:
        return None  # finished or cancelled before this delivery
    synthesis.refresh_from_db()
    return synthesis


def _run(*, synthesis: SynthesisJob, job: Job, workdir: Path, progress: Progress) -> JobOutcome:
    report_progress = progress

    def progress(fraction: float, message: str) -> None:
        report_progress(0.05 + 0.8 * fraction, message)

    # Entitlements are checked again at the moment of use: a licence may have expired or been revoked since.
    frames = []
    for version in synthesis.sources.select_related("dataset"):
        decision = version_entitlement(org=synthesis.organization, version=version, action=Action.SYNTHESIZE)
        if not decision.allowed:
            raise ApplicationError(
                gettext("Version %(pk)s: %(reason)s") % {"pk": version.pk, "reason": decision.reason}
            )
        with default_storage.open(version.data_path, "rb") as handle:
            frames.append(pd.read_parquet(handle))
    real = pd.concat(frames, ignore_index=True)
    params = synthesis.params or {}
    if synthesis.method == "llm":
        return _run_text(synthesis=synthesis, job=job, workdir=workdir, real=real, progress=progress)
    config = TabularConfig(
        method=synthesis.method,
        rows=synthesis.rows,
        allowed=tuple(settings.TESSERA_SYNTHESIZERS),
        time_budget_s=float(params.get("time_budget_s", 180)),
        epochs=int(params.get("epochs", 100)),
        seed=int(params.get("seed", 0)),
        target=params.get("target"),
        target_temperature=float(params.get("target_temperature", TabularConfig.target_temperature)),
    )
    result = synthesize_table(
        real,
        config,
        progress=progress,
        should_cancel=lambda: Job.objects.filter(pk=job.pk, cancel_requested=True).exists(),
    )
    progress(0.9, "Evaluating quality and privacy")
    # The report judges the chosen synthesizer fitted on the training split only, so its holdout is truly unseen
    # (DCR share and quality mean something); the delivered rows come from a refit on every row and are checked for
    # copies of any real row.
    report = evaluate(
        _comparable(result.train),
        _comparable(result.holdout),
        _comparable(result.evaluation_data),
        target=config.target,
    ).to_dict()
    # The privacy guard of every method, named or chosen by auto, ran in synthesize_table: the DCR share, and the
    # delivery filter (no delivered row copies a rare real row, and no more copy a real row than the real table's own
    # share of repeated rows; the rows it removed were made up by drawing more).
    delivered = result.data
    report["rare_real_rows_copied_and_removed"] = result.rare_copies_removed
    report["real_duplicate_rate"] = result.real_duplicate_rate
    report["exact_copies_over_real_duplicate_rate_removed"] = result.excess_copies_removed
    report["delivered_exact_copy_rate"] = exact_copy_rate(_comparable(real), _comparable(delivered))
    if result.dcr_share is not None:  # the guard's own measure, on more synthetic rows than the report's sample
        report["dcr_share"], report["dcr_share_rows"] = result.dcr_share, result.dcr_share_rows
    report["dcr_share_limit"] = result.dcr_share_limit
    report["warnings"] = result.warnings
    report["relations"] = result.relations
    if result.target_aware:
        report["target_aware"] = result.target_aware
    report.update(
        {"method": result.method, "reason": result.reason, "candidates": result.candidates, "rows": len(delivered)}
    )
    report = _json_safe(report)
    output = _store_output(synthesis=synthesis, job=job, data=delivered, workdir=workdir, report=report)
    synthesis.output_version, synthesis.report = output, report
    synthesis.save(update_fields=["output_version", "report"])
    removed = f" ({result.copies_removed} copies of real records removed)" if result.copies_removed else ""
    return JobOutcome(f"{len(delivered)} synthetic rows with {result.method}{removed}", {"output_version": output.pk})


def _json_safe(value: Any) -> Any:
    """The report with NaN and infinities as null: PostgreSQL's JSON refuses them (SDMetrics gives NaN for a score
    it cannot compute, e.g. column pair trends with no usable pair)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def _pii_filter(texts: list[str]) -> list[bool]:
    """Keep a generated text only if the scrubbing engine's recognizers and NER find nothing personal in it."""
    return [not spans for spans in TextScrubber().find(texts)]


def _run_text(
    *, synthesis: SynthesisJob, job: Job, workdir: Path, real: pd.DataFrame, progress: Progress
) -> JobOutcome:
    params = dict(synthesis.params or {})
    model_name = params.pop("model", "smollm2-135m-instruct")
    config = TextConfig(
        rows=synthesis.rows, **{k: v for k, v in params.items() if k in TextConfig.__dataclass_fields__}
    )
    model_dir = TEXT_MODELS[model_name](Path(settings.TESSERA_MODEL_CACHE))
    result = synthesize_text(
        real,
        config,
        model_dir=model_dir,
        model_name=model_name,
        progress=progress,
        should_cancel=lambda: Job.objects.filter(pk=job.pk, cancel_requested=True).exists(),
        pii_filter=_pii_filter,
        cpu_dtype=settings.TESSERA_LLM_CPU_DTYPE,
    )
    if result.data.empty:
        raise JobInputError(
            f"Every generated text was filtered out ({result.dropped}); try more rows or another template."
        )
    report = {
        "method": "llm",
        "model": model_name,
        **text_report(real, result.data, config.text_column, config.label_column, result),
    }
    report = _json_safe(report)
    data = result.data.assign(provenance=result.data["provenance"].map(json.dumps))
    output = _store_output(synthesis=synthesis, job=job, data=data, workdir=workdir, report=report)
    synthesis.output_version, synthesis.report = output, report
    synthesis.save(update_fields=["output_version", "report"])
    message = f"{len(data)} synthetic texts kept of {result.generated} generated"
    if len(data) < result.rows_asked:
        message += f", fewer than the {result.rows_asked} asked: the filters removed more than generating again made up"
    return JobOutcome(message, {"output_version": output.pk})


def _store_output(
    *, synthesis: SynthesisJob, job: Job, data: pd.DataFrame, workdir: Path, report: dict[str, Any]
) -> DatasetVersion:
    # The output keeps its sources' column types: stored from the typed frame, not re-inferred from strings.
    types = {c["name"]: c.get("type", "string") for v in synthesis.sources.all() for c in v.schema}
    source_titles = ", ".join(s["dataset"] for s in synthesis.lineage.get("sources", []))
    dataset = Dataset.objects.filter(
        organization=synthesis.organization, title=f"Synthetic: {source_titles}"[:200]
    ).first()
    if dataset is None:
        dataset = dataset_create(
            organization=synthesis.organization,
            user=job.created_by,
            title=f"Synthetic: {source_titles}"[:200],
            description=f"Synthetic data generated by job {job.pk} ({synthesis.method}).",
            tags=["synthetic"],
        )
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        # A retried job (its worker died mid-store) finishes the version it started instead of making another.
        version = DatasetVersion.objects.filter(dataset=dataset, is_synthetic=True, lineage__job=job.pk).first()
        if version is None:
            number = (dataset.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
            version = DatasetVersion.objects.create(
                dataset=dataset,
                number=number,
                created_by=job.created_by,
                source_format="synthetic",
                is_synthetic=True,
                lineage={**synthesis.lineage, "job": job.pk, "method": report["method"]},
            )
    fields = version_store_frame(version=version, job=job, frame=data, types=types, workdir=workdir)
    pii = scan(data).to_dict()
    for key, value in fields.items():
        setattr(version, key, value)
    version.pii_report = {**pii, "note": "Re-scan of synthetic output; the sources were scrubbed before synthesis."}
    version.status, version.ready_at = DatasetVersion.Status.READY, timezone.now()
    version.save()
    # The output carries every licence its sources were used under, so their terms and state follow it.
    version.source_licenses.set(
        {pk for source in synthesis.lineage.get("sources", []) for pk in source.get("source_licenses", [])}
    )
    return version
