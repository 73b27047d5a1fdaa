"""Evaluation metrics for fine-tuned models."""

from __future__ import annotations

from typing import Any


def classification_metrics(truth: list[int], predicted: list[int], label_names: list[str]) -> dict[str, Any]:
    """Accuracy and macro-F1 (labels unseen in training count as wrong)."""
    total = len(truth)
    accuracy = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p) / total if total else 0.0
    f1s = []
    for index in range(len(label_names)):
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == index)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if p == index and t != index)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == index and p != index)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    majority = max((truth.count(i) for i in range(len(label_names))), default=0) / total if total else 0.0
    return {
        "accuracy": round(accuracy, 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
        "majority_baseline": round(majority, 4),
        "eval_rows": total,
    }
