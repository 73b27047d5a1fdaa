"""Evaluation metrics for fine-tuned models, and the side-by-side comparison of an augmented run with its baseline."""

from __future__ import annotations

import math
import statistics
from typing import Any

# Metrics where a larger number is better; for the others (loss, perplexity) lift is computed as a reduction.
HIGHER_IS_BETTER = {"accuracy": True, "macro_f1": True, "loss": False, "perplexity": False}


def classification_metrics(truth: list[int], predicted: list[int], label_names: list[str]) -> dict[str, Any]:
    """Accuracy and macro-F1 over `label_names` (a true label unseen in training is -1 and always counts as wrong)."""
    total = len(truth)
    pairs = list(zip(truth, predicted, strict=True))
    accuracy = sum(1 for t, p in pairs if t == p) / total if total else 0.0
    f1s = []
    for index in range(len(label_names)):
        tp = sum(1 for t, p in pairs if t == p == index)
        fp = sum(1 for t, p in pairs if p == index and t != index)
        fn = sum(1 for t, p in pairs if t == index and p != index)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    majority = max((truth.count(i) for i in range(len(label_names))), default=0) / total if total else 0.0
    return {
        "accuracy": round(accuracy, 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
        "majority_baseline": round(majority, 4),
        "eval_rows": total,
    }


def language_model_metrics(loss_sum: float, tokens: int, rows: int) -> dict[str, Any]:
    """Mean cross-entropy per completion token (nats) and its perplexity exp(loss)."""
    loss = loss_sum / tokens if tokens else float("nan")
    return {
        "loss": round(loss, 4),
        "perplexity": round(math.exp(min(loss, 50.0)), 3) if tokens else None,
        "eval_tokens": tokens,
        "eval_rows": rows,
    }


def compare_to_baseline(
    augmented: dict[str, Any],
    baseline: dict[str, Any],
    *,
    headline: str | None = None,
    steps: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Both runs' metrics side by side, the lift of augmentation per metric (positive = augmentation helped), and a
    plain verdict on the headline metric against real rows alone trained for as many steps."""
    lift = {}
    for name, higher in HIGHER_IS_BETTER.items():
        a, b = augmented.get(name), baseline.get(name)
        if isinstance(a, int | float) and isinstance(b, int | float):
            lift[name] = round((a - b) if higher else (b - a), 4)
    comparison: dict[str, Any] = {"augmented": augmented, "real_only": baseline, "lift": lift}
    if steps:
        comparison["steps"] = steps
    if headline in lift:
        gain = lift[headline]
        fair = "real rows alone trained for as many optimiser steps" if steps else "real rows alone"
        if gain > 0:
            comparison["verdict"] = f"The synthetic rows helped: {headline} {gain:+} over {fair}."
        else:
            comparison["verdict"] = (
                f"The synthetic rows did not help: {fair} did as well or better ({headline} {gain:+}). "
                "Train without the synthetic versions."
            )
        comparison["helped"] = gain > 0
    return comparison


def summarize(values: list[float]) -> dict[str, Any]:
    """Mean and spread (population standard deviation, min, max) over seeds."""
    return {
        "mean": round(statistics.mean(values), 4),
        "stdev": round(statistics.pstdev(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "values": [round(v, 4) for v in values],
    }


def lift_interval(lifts: list[float]) -> dict[str, Any]:
    """Mean lift over seeds with a 95% Student-t confidence interval (None with a single seed)."""
    from scipy import stats

    mean = statistics.mean(lifts)
    if len(lifts) < 2:
        return {"lift_mean": round(mean, 4), "lift_ci95": None, "lifts": [round(x, 4) for x in lifts]}
    half = stats.t.ppf(0.975, len(lifts) - 1) * statistics.stdev(lifts) / math.sqrt(len(lifts))
    return {
        "lift_mean": round(mean, 4),
        "lift_ci95": [round(mean - half, 4), round(mean + half, 4)],
        "lifts": [round(x, 4) for x in lifts],
    }
