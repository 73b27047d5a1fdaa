"""Tabular synthesis: SDV synthesizers behind one config, own preprocessing, and `auto` model selection.

`auto` fits every allowed candidate on a training split within a time budget, scores each on the holdout with
SDMetrics' QualityReport, keeps the best and refits it on all rows. The report says which won and why.
Licence: SDV and CTGAN are under the Business Source License 1.1, which forbids offering them as a commercial
synthetic-data service; deployments choose the allowed synthesizers (TESSERA_SYNTHESIZERS) accordingly.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthesis.evaluation import comparable, id_like_columns, quality, sdv_metadata

TABLE = "data"


def _gaussian_copula(metadata, config: TabularConfig):
    from sdv.single_table import GaussianCopulaSynthesizer

    return GaussianCopulaSynthesizer(metadata)


def _gaussian_copula_truncnorm(metadata, config: TabularConfig):
    from sdv.single_table import GaussianCopulaSynthesizer

    return GaussianCopulaSynthesizer(metadata, default_distribution="truncnorm")


def _ctgan(metadata, config: TabularConfig):
    from sdv.single_table import CTGANSynthesizer

    return CTGANSynthesizer(metadata, epochs=config.epochs, verbose=False)


def _tvae(metadata, config: TabularConfig):
    from sdv.single_table import TVAESynthesizer

    return TVAESynthesizer(metadata, epochs=config.epochs)


def _copulagan(metadata, config: TabularConfig):
    from sdv.single_table import CopulaGANSynthesizer

    return CopulaGANSynthesizer(metadata, epochs=config.epochs, verbose=False)


def _tabular_argn(metadata, config: TabularConfig):
    # Not an SDV synthesizer: `_fit_sample` drives MOSTLY AI's engine directly (see `_fit_sample_argn`).
    raise NotImplementedError


SYNTHESIZERS: dict[str, Callable] = {
    "gaussian_copula": _gaussian_copula,
    "gaussian_copula_truncnorm": _gaussian_copula_truncnorm,
    "gaussian_copula_plain": _gaussian_copula,
    "gaussian_copula_truncnorm_plain": _gaussian_copula_truncnorm,
    "gaussian_copula_mass": _gaussian_copula,
    "gaussian_copula_truncnorm_mass": _gaussian_copula_truncnorm,
    "tabular_argn": _tabular_argn,
    "tvae": _tvae,
    "ctgan": _ctgan,
    "copulagan": _copulagan,
}
# Cheapest first: when the time budget runs out, the candidates already scored still give a choice.
AUTO_ORDER = [
    "gaussian_copula",
    "gaussian_copula_truncnorm",
    "gaussian_copula_plain",
    "gaussian_copula_truncnorm_plain",
    "gaussian_copula_mass",
    "gaussian_copula_truncnorm_mass",
    "tabular_argn",
    "tvae",
    "ctgan",
    "copulagan",
]
# "_plain" variants skip the log and category transforms below (identifiers are still regenerated): on some tables
# (zero-inflated amounts) the transforms hurt, and `auto` lets the holdout decide.
PLAIN = {"gaussian_copula_plain", "gaussian_copula_truncnorm_plain", "tabular_argn"}
# "_mass" variants also model point masses (a number that is mostly 0) apart, see `_Plan.mass_values`: a large gain on
# zero-inflated tables (credit_data's Debt and Assets), a small loss of pair trends elsewhere; the holdout decides.
MASS = {"gaussian_copula_mass", "gaussian_copula_truncnorm_mass"}
# Licences, for the report and the README: SDV/CTGAN are BSL 1.1 (no commercial synthetic-data service without a
# DataCebo licence); MOSTLY AI's engine is Apache-2.0.
LICENCES = {name: "BSL-1.1 (SDV)" for name in SYNTHESIZERS} | {"tabular_argn": "Apache-2.0 (mostlyai-engine)"}


CATEGORY_MAX = 10  # integers with at most this many distinct values are modelled as categories
MASS_SHARE = 0.2  # a number whose most frequent value holds this share of the rows is modelled as mass + rest
MASS_SUFFIX = "__tessera_mass"


@dataclass(frozen=True)
class TabularConfig:
    """How to synthesize a table."""

    method: str = "auto"  # "auto" or a key of SYNTHESIZERS
    rows: int = 1000  # synthetic rows to sample
    allowed: tuple[str, ...] = tuple(SYNTHESIZERS)  # synthesizers this deployment may use (licence policy)
    time_budget_s: float = 180.0  # auto: stop trying new candidates once fitting has taken this long
    holdout_fraction: float = 0.5  # auto and the report: share of real rows held out for scoring
    epochs: int = 100  # neural synthesizers (CTGAN, TVAE, CopulaGAN; TabularARGN's epoch cap)
    argn_max_minutes: float = 3.0  # TabularARGN: training-time cap per fit in minutes (it also stops early itself)
    seed: int = 0  # sampling seed (numpy and torch)
    target: str | None = None  # a column to predict, for the ML-efficacy part of the report


@dataclass
class TabularResult:
    data: pd.DataFrame  # synthetic rows, same columns and dtypes as the input
    method: str  # the synthesizer that produced them
    candidates: list[dict[str, Any]] = field(default_factory=list)  # every candidate tried, score and seconds
    reason: str = ""  # why this method was chosen
    train: pd.DataFrame | None = None  # the split the candidates were fitted on (for the privacy report)
    holdout: pd.DataFrame | None = None  # the split they were scored on
    # Rows sampled from the chosen synthesizer fitted on `train` only (as many as `holdout`): what the quality and
    # privacy report must judge, since `data` comes from a refit on every row and has seen the holdout.
    evaluation_data: pd.DataFrame | None = None


class Cancelled(Exception):
    pass


@dataclass
class _Plan:
    """Own preprocessing where SDV's defaults are weak; inverted after sampling."""

    id_columns: dict[str, str] = field(default_factory=dict)  # name -> "int" | "str": regenerated unique
    as_category: list[str] = field(default_factory=list)  # low-cardinality integers modelled as categories
    log_columns: list[str] = field(default_factory=list)  # skewed non-negative amounts modelled on log1p
    # numbers with a point mass (Debt: 83% zeros): a companion category says "mass" / "other" / "missing", and the
    # number itself models only the other values (a copula smears a point mass over its neighbourhood otherwise)
    mass_values: dict[str, float] = field(default_factory=dict)
    dtypes: dict[str, Any] = field(default_factory=dict)


def _plan(frame: pd.DataFrame, *, masses: bool = False) -> _Plan:
    """The preprocessing of `frame`; `masses` also models point masses apart (the "_mass" variants)."""
    plan = _Plan(dtypes=frame.dtypes.to_dict())
    ids = set(id_like_columns(frame))
    for name in frame.columns:
        series = frame[name]
        distinct = series.nunique(dropna=True)
        if name in ids:
            plan.id_columns[name] = "int" if pd.api.types.is_integer_dtype(series) else "str"
        elif (
            pd.api.types.is_integer_dtype(series)
            and not pd.api.types.is_bool_dtype(series)
            and distinct <= CATEGORY_MAX
        ):
            plan.as_category.append(name)
        elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            values = series.dropna().astype(float)
            if masses and len(values) > 20:
                shares = values.value_counts(normalize=True)
                if shares.iloc[0] >= MASS_SHARE and shares.iloc[0] < 1:
                    plan.mass_values[name] = float(shares.index[0])
                    values = values[values != shares.index[0]]
            if len(values) > 20 and values.min() >= 0 and values.skew() > 2:
                plan.log_columns.append(name)
    return plan


def _to_model_frame(frame: pd.DataFrame, plan: _Plan) -> pd.DataFrame:
    out = frame.drop(columns=list(plan.id_columns)).copy()
    for name in out.columns:
        series = out[name]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[name] = series.dt.tz_convert("UTC").dt.tz_localize(None)
        elif pd.api.types.is_bool_dtype(series):
            out[name] = series.astype(object).where(series.notna(), None)
        elif pd.api.types.is_numeric_dtype(series):
            out[name] = series.astype(float)
        else:
            out[name] = series.astype(object).where(series.notna(), None)
    for name in plan.as_category:
        out[name] = out[name].map(lambda v: None if pd.isna(v) else str(int(v)))
    rng = np.random.default_rng(0)
    for name, mass in plan.mass_values.items():
        series = out[name]
        kind = np.where(series.isna(), "missing", np.where(series == mass, "mass", "other"))
        others = series[kind == "other"].to_numpy()
        # Rows at the mass (or missing) get a draw of the other values, so the number's model sees one smooth shape.
        filled = series.to_numpy(copy=True)
        filled[kind != "other"] = rng.choice(others, size=int((kind != "other").sum())) if len(others) else mass
        out[name] = filled
        out[name + MASS_SUFFIX] = kind.astype(object)
    for name in plan.log_columns:
        out[name] = np.log1p(out[name])
    return out


def _from_model_frame(sample: pd.DataFrame, plan: _Plan, columns: list[str], seed: int) -> pd.DataFrame:
    out = sample.copy()
    for name in plan.log_columns:
        out[name] = np.expm1(out[name]).clip(lower=0)
    for name, mass in plan.mass_values.items():
        kind = out.pop(name + MASS_SUFFIX).to_numpy()
        values = pd.to_numeric(out[name], errors="coerce").astype(float).to_numpy(copy=True)
        values[kind == "mass"] = mass
        values[kind == "missing"] = np.nan
        out[name] = values
    for name in plan.as_category:
        out[name] = pd.to_numeric(out[name], errors="coerce")
    rng = np.random.default_rng(seed)
    for name, kind in plan.id_columns.items():
        # New identifiers: unique, and unrelated to the real ones.
        numbers = rng.permutation(len(out)) + 1
        out[name] = numbers if kind == "int" else [f"syn-{n:07d}" for n in numbers]
    out = out[columns]
    for name, dtype in plan.dtypes.items():
        try:
            if pd.api.types.is_integer_dtype(dtype):
                out[name] = pd.to_numeric(out[name], errors="coerce").round().astype("Int64")
            elif isinstance(dtype, pd.DatetimeTZDtype):
                out[name] = pd.to_datetime(out[name]).dt.tz_localize("UTC")
            elif pd.api.types.is_bool_dtype(dtype):
                out[name] = out[name].astype("boolean")
            elif pd.api.types.is_float_dtype(dtype):
                out[name] = pd.to_numeric(out[name], errors="coerce").astype("Float64")
        except (TypeError, ValueError):
            continue
    return out.reset_index(drop=True)


def _fit_sample(name: str, frame: pd.DataFrame, rows: int, config: TabularConfig) -> pd.DataFrame:
    import torch
    from sdv.metadata import Metadata

    plan = _plan(frame, masses=name in MASS)
    if name in PLAIN:
        plan.as_category, plan.log_columns = [], []
    model_frame = _to_model_frame(frame, plan)
    if name == "tabular_argn":
        return _from_model_frame(_fit_sample_argn(model_frame, rows, config), plan, list(frame.columns), config.seed)
    metadata = Metadata.detect_from_dataframes({TABLE: model_frame})
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthesizer = SYNTHESIZERS[name](metadata, config)
        synthesizer.fit({TABLE: model_frame})
        sampled = synthesizer.sample(rows)
    sampled = sampled[TABLE] if isinstance(sampled, dict) else sampled
    return _from_model_frame(sampled, plan, list(frame.columns), config.seed)


def _fit_sample_argn(model_frame: pd.DataFrame, rows: int, config: TabularConfig) -> pd.DataFrame:
    """MOSTLY AI's TabularARGN (Apache-2.0): an autoregressive network over binned columns. It does its own
    quantile binning of numbers and rare-category protection, so it gets the frame without our log/category
    transforms (identifiers are still dropped and regenerated)."""
    import tempfile

    import torch
    from mostlyai.engine import TabularARGN

    frame = model_frame.copy()
    booleans = [name for name in frame.columns if frame[name].map(lambda v: isinstance(v, bool | np.bool_)).any()]
    for name in frame.columns:
        if frame[name].dtype == object:
            # Plain strings: the engine infers categorical encodings from string columns; booleans round-trip below.
            frame[name] = frame[name].map(lambda v: None if v is None or pd.isna(v) else str(v))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory(prefix="tessera-argn-") as workspace, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = TabularARGN(
            max_training_time=config.argn_max_minutes,
            max_epochs=config.epochs,
            workspace_dir=workspace,
            random_state=config.seed,
            device=device,
            verbose=0,
        )
        model.fit(frame)
        sample = model.sample(n_samples=rows, device=device)
        model.close()
    out = sample.reset_index(drop=True)
    for name in out.columns:
        # Back to the dtypes `_from_model_frame` expects: floats for numbers, objects (None for missing) otherwise.
        if pd.api.types.is_numeric_dtype(model_frame[name]):
            out[name] = pd.to_numeric(out[name], errors="coerce").astype(float)
        else:
            out[name] = out[name].astype(object).where(out[name].notna(), None)
        if name in booleans:
            out[name] = out[name].map({"True": True, "False": False})
    return out


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Kept for callers of the old name; see `synthesis.evaluation.comparable`."""
    return comparable(frame)


def split(frame: pd.DataFrame, holdout_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    holdout = frame.sample(frac=holdout_fraction, random_state=seed)
    return frame.drop(holdout.index).reset_index(drop=True), holdout.reset_index(drop=True)


def synthesize_table(
    real: pd.DataFrame,
    config: TabularConfig,
    *,
    progress: Callable[[float, str], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> TabularResult:
    """Fit a synthesizer (or choose one with `auto`) on `real` and sample `config.rows` rows."""
    progress = progress or (lambda fraction, message: None)
    should_cancel = should_cancel or (lambda: False)
    if len(real) < 10:
        raise ValueError("At least 10 real rows are needed to synthesize a table.")
    if config.method != "auto" and config.method not in SYNTHESIZERS:
        raise ValueError(f"Unknown method {config.method!r}. Use 'auto' or one of: {', '.join(SYNTHESIZERS)}.")
    allowed = [name for name in AUTO_ORDER if name in config.allowed]
    if config.method != "auto" and config.method not in allowed:
        raise ValueError(f"The synthesizer {config.method!r} is not enabled on this platform.")
    train, holdout = split(real, config.holdout_fraction, config.seed)
    if config.method != "auto":
        # Two fits: one on the training split for an honest report (its holdout unseen), one on every row to deliver.
        progress(0.05, f"Fitting {config.method} on the training split for the report")
        evaluation = _fit_sample(config.method, train, len(holdout), config)
        if should_cancel():
            raise Cancelled()
        progress(0.45, f"Fitting {config.method} on all rows")
        data = _fit_sample(config.method, real, config.rows, config)
        return TabularResult(data, config.method, [], f"{config.method} was requested.", train, holdout, evaluation)

    candidates: list[dict[str, Any]] = []
    samples: dict[str, pd.DataFrame] = {}  # candidate -> its rows from the train-only fit (for the report)
    started = time.monotonic()
    holdout_cmp = _comparable(holdout)
    metadata = sdv_metadata(holdout_cmp)
    for index, name in enumerate(allowed):
        if should_cancel():
            raise Cancelled()
        if candidates and time.monotonic() - started > config.time_budget_s:
            candidates.append({"method": name, "skipped": "time budget spent"})
            continue
        progress(0.05 + 0.75 * index / len(allowed), f"Trying {name} ({index + 1}/{len(allowed)})")
        fit_start = time.monotonic()
        try:
            sample = _fit_sample(name, train, len(holdout), config)
        except Exception as exc:  # a candidate that cannot model this table is skipped, not fatal
            candidates.append({"method": name, "error": f"{type(exc).__name__}: {exc}"[:300]})
            continue
        samples[name] = sample
        score = quality(holdout_cmp, _comparable(sample), metadata)
        candidates.append(
            {
                "method": name,
                "quality": score["overall"],
                "column_shapes": score["column_shapes"],
                "column_pair_trends": score["column_pair_trends"],
                "fit_sample_seconds": round(time.monotonic() - fit_start, 2),
            }
        )
    scored = [c for c in candidates if "quality" in c]
    if not scored:
        raise ValueError(
            "No synthesizer could model this table: "
            + "; ".join(f"{c['method']}: {c.get('error', c.get('skipped'))}" for c in candidates)
        )
    best = max(scored, key=lambda c: c["quality"])
    runner_up = sorted((c for c in scored if c is not best), key=lambda c: -c["quality"])[:1]
    reason = f"{best['method']} scored {best['quality']:.3f} on the holdout"
    if runner_up:
        reason += f", ahead of {runner_up[0]['method']} ({runner_up[0]['quality']:.3f})"
    if should_cancel():
        raise Cancelled()
    progress(0.85, f"Refitting {best['method']} on all rows")
    data = _fit_sample(best["method"], real, config.rows, config)
    return TabularResult(data, best["method"], candidates, reason + ".", train, holdout, samples[best["method"]])
