"""Augmentation that helps or says it does not: the arms of one training job and the choice between them.

A mix with synthetic rows trains several arms on the same real rows: the mix as weighted, smaller shares of its
synthetic rows, and real rows alone (share 0). Every arm takes as many optimiser steps as the mix as weighted took
and is early-stopped on the same validation rows (real rows that neither train nor evaluate), so the arms compare
fairly. A share with synthetic rows is delivered only when it is as accurate as real rows alone on the validation
rows and its loss is lower row by row by more than one standard error of the paired differences, the best such
share winning; otherwise the model is real rows alone. So a default model is never worse on validation than
real-only, and is not chosen on a few lucky validation rows. Extra
seeds retrain the chosen share and real rows alone to put an interval on the lift. The evaluation rows only report.

Django-free: the service passes `train_arm`, which trains one arm (with the job's events, progress and cancel).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from training.data import PreparedData, synthetic_scaled
from training.evaluation import compare_to_baseline, lift_interval
from training.trainer import TrainConfig, TrainResult, validation_score

# Fewest validation rows on which the paired comparison is trusted: the standard error of a handful of differences
# is itself a guess (at 32 reviews, 5 validation rows believed a share that lost 9 points on the test rows), so
# fewer rows fall back to the accuracy margin (`noise_margin`), which then keeps real rows alone unless the gain is
# large.
PAIRED_MIN_ROWS = 8
# Shares of the synthetic rows tried when the weights are chosen (`mix_weights: "auto"`), the mix as weighted first.
MIX_SCALES = (1.0, 0.5, 0.25, 0.0)

# train_arm(name, data, config, index, total) -> the arm's result; `index` of `total` arms, for progress.
TrainArm = Callable[[str, PreparedData, TrainConfig, int, int], TrainResult]


@dataclass
class MixOutcome:
    """Every arm's result and the one that became the model."""

    results: dict[str, TrainResult]  # by arm name
    scales: tuple[float, ...]  # shares trained with the first seed, in order
    chosen_scale: float  # share of the synthetic rows in the delivered model
    searched: bool  # whether the share was chosen on validation rows (else the mix as weighted, or as requested)
    seeds: int  # seeds the lift was measured over
    synthetic_rows: int  # synthetic training rows of the mix as weighted

    @property
    def chosen_name(self) -> str:
        return arm_name(self.chosen_scale, self.scales)

    @property
    def chosen(self) -> TrainResult:
        return self.results[self.chosen_name]


def arm_name(scale: float, scales: tuple[float, ...]) -> str:
    """ "model" for a single arm; "augmented" (the mix as weighted), "mix-0.5", ..., "baseline" (real rows alone)."""
    if len(scales) == 1:
        return "model"
    if scale == 0:
        return "baseline"
    return "augmented" if scale == 1 else f"mix-{scale:g}"


def plan_scales(data: PreparedData, config: TrainConfig, *, choose: bool, baseline: bool) -> tuple[float, ...]:
    """The shares to train: all of MIX_SCALES when choosing (synthetic rows, validation rows and early stopping are
    all there), the mix and real rows alone for a requested baseline, else the mix as weighted only."""
    synthetic = bool(data.train["_version"].isin(data.synthetic_versions).any())
    if choose and synthetic and config.early_stopping and not data.validation.empty:
        return MIX_SCALES
    return (1.0, 0.0) if baseline else (1.0,)


def train_mix(
    data: PreparedData, config: TrainConfig, *, scales: tuple[float, ...], seeds: int, train_arm: TrainArm
) -> MixOutcome:
    """Train every share in `scales` (then, with `seeds` > 1 and a real-only arm, the chosen share and real rows
    alone again per extra seed), each arm with the steps of the mix as weighted, and choose the delivered share."""
    seeds = seeds if 0.0 in scales else 1
    total = len(scales) + 2 * (seeds - 1)
    results: dict[str, TrainResult] = {}
    nominal = arm_name(1.0, scales)

    def run(scale: float, seed: int, name: str) -> None:
        prepared = synthetic_scaled(data, scale) if scale != 1.0 else data
        arm_config = replace(config, seed=seed)
        if name != nominal:
            # A fair comparison: every arm takes as many optimiser steps as the mix as weighted took. With the same
            # epochs real rows alone took fewer steps, and an under-trained real-only model made synthetic rows look
            # like a gain (MiniLM on 64 reviews: +6 points reported, -32 against real rows trained as long).
            passes = math.ceil(config.epochs * len(data.train) / max(len(prepared.train), 1)) + 1
            arm_config = replace(arm_config, epochs=passes, max_steps=results[nominal].steps)
        results[name] = train_arm(name, prepared, arm_config, len(results), total)

    for scale in scales:
        run(scale, config.seed, arm_name(scale, scales))
    searched = scales == MIX_SCALES
    chosen = scales[0]
    if searched:
        chosen = choose_share(
            {s: results[arm_name(s, scales)].validation["best"] for s in scales},
            rows=results[arm_name(0.0, scales)].validation["rows"],
            row_losses={s: results[arm_name(s, scales)].validation.get("best_row_losses") for s in scales},
        )
    # Extra seeds measure the spread of the chosen share's lift (of the whole mix when real rows alone were chosen).
    for i in range(1, seeds):
        run(chosen or 1.0, config.seed + i, f"seed-{i}/mix")
        run(0.0, config.seed + i, f"seed-{i}/baseline")
    synthetic_rows = int(data.train["_version"].isin(data.synthetic_versions).sum())
    return MixOutcome(results, scales, chosen, searched, seeds, synthetic_rows)


def noise_margin(real: dict[str, Any], rows: int) -> float:
    """How much better than real rows alone a synthetic share must score on `rows` validation rows before it is
    believed: one standard error of the difference of two accuracies near real-only's (sqrt(2 p (1 - p) / n)), or
    1% of the loss for causal-lm. On 8 validation rows that is about 2 rows: a choice made on fewer would follow
    noise (MiniLM on 64 reviews: share 0.5 won on 8 validation rows and lost 7 points on 300 test reviews)."""
    if "accuracy" not in real:
        return 0.01 * real["loss"]
    p = min(max(real["accuracy"], 1 / (2 * rows)), 1 - 1 / (2 * rows))
    return math.sqrt(2 * p * (1 - p) / rows)


def paired_gain(real: list[float] | None, share: list[float] | None) -> dict[str, float] | None:
    """How much lower a share's loss is than real rows alone's on the same validation rows, row by row: the mean of
    the per-row differences and its standard error. Pairing removes what the two models share (which rows are easy),
    so a real difference shows on a dozen rows where two accuracies would differ by noise alone."""
    if not real or not share or len(real) != len(share) or len(real) < PAIRED_MIN_ROWS:
        return None
    differences = [r - s for r, s in zip(real, share, strict=True)]
    n = len(differences)
    mean = sum(differences) / n
    variance = sum((d - mean) ** 2 for d in differences) / (n - 1)
    return {"mean": mean, "standard_error": math.sqrt(variance / n), "rows": n}


def choose_share(
    best: dict[float, dict[str, Any]], *, rows: int, row_losses: dict[float, list[float] | None] | None = None
) -> float:
    """The share of synthetic rows to deliver, from each share's best validation metrics (share 0: real rows alone).

    Do no harm: a share other than 0 is delivered only when it is believed better than real rows alone on the
    validation rows. With each row's loss (classification) on at least PAIRED_MIN_ROWS rows, that is: no lower
    accuracy, and a loss lower row by row by more than one standard error of the paired differences (`paired_gain`).
    Otherwise (fewer rows, or causal-LM), the share's score must beat real rows alone's by more than the validation
    rows' noise (`noise_margin`). Among the shares
    believed, the best validation score wins, ties going to fewer synthetic rows."""
    real = best[0.0]
    margin = noise_margin(real, rows)
    row_losses = row_losses or {}

    def beats_real(share: float, metrics: dict[str, Any]) -> bool:
        gain = paired_gain(row_losses.get(0.0), row_losses.get(share))
        if gain is not None and "accuracy" in real:
            return metrics["accuracy"] >= real["accuracy"] and gain["mean"] > max(gain["standard_error"], 0.0)
        if "accuracy" in real:
            return metrics["accuracy"] - real["accuracy"] > margin
        return real["loss"] - metrics["loss"] > margin

    winners = [share for share, metrics in best.items() if share > 0 and beats_real(share, metrics)]
    if not winners:
        return 0.0
    return max(winners, key=lambda share: (validation_score(best[share]), -share))


def mix_metrics(outcome: MixOutcome, *, headline: str) -> dict[str, Any]:
    """The delivered model's metrics with what the job learned on the way: the share chosen and why, the comparison
    with real rows alone (over seeds where there were several) and the early-stopping step."""
    metrics = dict(outcome.chosen.metrics)
    if outcome.searched:
        metrics["mix_selection"] = _selection(outcome)
    if "baseline" in outcome.results:
        metrics["baseline"] = _comparison(outcome, headline)
    validation = outcome.chosen.validation
    if validation:
        metrics["early_stopping"] = {key: validation[key] for key in ("rows", "every", "best_step", "best")}
    return metrics


def _selection(outcome: MixOutcome) -> dict[str, Any]:
    real = outcome.results[arm_name(0.0, outcome.scales)].validation
    candidates = []
    for scale in outcome.scales:
        result = outcome.results[arm_name(scale, outcome.scales)]
        gain = paired_gain(real.get("best_row_losses"), result.validation.get("best_row_losses"))
        candidates.append(
            {
                "synthetic_share": scale,
                "synthetic_rows": round(outcome.synthetic_rows * scale),
                "steps": result.steps,
                "best_step": result.validation.get("best_step"),
                "validation": result.validation.get("best"),
                "loss_gain_over_real": (
                    {key: round(gain[key], 5) for key in ("mean", "standard_error")} if gain and scale else None
                ),
            }
        )
    chosen = outcome.chosen_scale
    margin = round(noise_margin(real["best"], real["rows"]), 4)
    paired = len(real.get("best_row_losses") or ()) >= PAIRED_MIN_ROWS and "accuracy" in real["best"]
    if chosen == 0 and paired:
        reason = (
            "No share of the synthetic rows was as accurate as real rows alone on the validation rows with a loss "
            f"lower row by row by more than its standard error ({real['rows']} rows), so the model was trained "
            "without them."
        )
    elif chosen == 0:
        reason = (
            "No share of the synthetic rows scored better on the validation rows than real rows alone by more than "
            f"their noise ({margin} on {real['rows']} rows), so the model was trained without them."
        )
    elif paired:
        gain = next(c["loss_gain_over_real"] for c in candidates if c["synthetic_share"] == chosen)
        reason = (
            f"{chosen:g} of the synthetic rows ({round(outcome.synthetic_rows * chosen)}) scored best on the "
            "validation rows: as accurate as real rows alone or more, with a loss lower row by row by "
            f"{gain['mean']} (standard error {gain['standard_error']}, {real['rows']} rows)."
        )
    else:
        reason = (
            f"{chosen:g} of the synthetic rows ({round(outcome.synthetic_rows * chosen)}) scored best on the "
            f"validation rows, above real rows alone by more than their noise ({margin} on {real['rows']} rows)."
        )
    return {"candidates": candidates, "chosen_share": chosen, "margin": margin, "reason": reason}


def _comparison(outcome: MixOutcome, headline: str) -> dict[str, Any]:
    """The delivered model against real rows alone, both early-stopped, with as many optimiser steps, on the same
    evaluation rows."""
    chosen, real = outcome.chosen, outcome.results["baseline"]
    comparison = compare_to_baseline(
        chosen.metrics, real.metrics, headline=headline, steps={"augmented": chosen.steps, "real_only": real.steps}
    )
    comparison["synthetic_share"] = outcome.chosen_scale
    if outcome.chosen_scale == 0:
        comparison["verdict"] = (
            "The synthetic rows did not help on the validation rows, so this model was trained on the real rows "
            "alone; it is the real-only baseline."
        )
        comparison["helped"] = False
    if outcome.seeds > 1:
        share = outcome.chosen_scale or 1.0
        pairs = [(outcome.results[arm_name(share, outcome.scales)], real)]
        pairs += [
            (outcome.results[f"seed-{i}/mix"], outcome.results[f"seed-{i}/baseline"]) for i in range(1, outcome.seeds)
        ]
        lifts = [compare_to_baseline(a.metrics, b.metrics, headline=headline)["lift"][headline] for a, b in pairs]
        comparison["over_seeds"] = {"seeds": outcome.seeds, "synthetic_share": share, **lift_interval(lifts)}
    return comparison
