"""Training data from a licensed mix: rows sampled by weight, and evaluation rows held out from REAL data only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class MixPart:
    frame: pd.DataFrame  # the version's rows
    weight: float  # relative share of training rows drawn from it
    synthetic: bool  # synthetic rows never reach evaluation
    version: int  # the version's id, recorded per row for the card


@dataclass
class PreparedData:
    train: pd.DataFrame  # with a "_version" column
    evaluation: pd.DataFrame  # real rows only
    rows_per_version: dict[int, int]


def prepare_mix(
    parts: list[MixPart], *, holdout_fraction: float, evaluation: pd.DataFrame | None = None, seed: int = 0
) -> PreparedData:
    """Hold out real rows for evaluation (unless an evaluation set is given), then sample the training rows.

    Each part contributes rows in proportion to its weight, up to the size the largest weighted part allows without
    repeating rows; synthetic parts are never split into evaluation."""
    rng = np.random.default_rng(seed)
    pools, held_out = [], []
    for part in parts:
        frame = part.frame.assign(_version=part.version).sample(frac=1.0, random_state=int(rng.integers(1 << 31)))
        if not part.synthetic and evaluation is None and holdout_fraction > 0:
            cut = max(1, int(round(len(frame) * holdout_fraction)))
            held_out.append(frame.iloc[:cut])
            frame = frame.iloc[cut:]
        pools.append((part, frame))
    total_weight = sum(part.weight for part, _ in pools) or 1.0
    # The number of training rows is bounded by the part whose rows run out first at its weight.
    budget = min(len(frame) / (part.weight / total_weight) for part, frame in pools if part.weight > 0)
    train_parts, counts = [], {}
    for part, frame in pools:
        take = int(budget * part.weight / total_weight)
        train_parts.append(frame.iloc[:take])
        counts[part.version] = take
    train = pd.concat(train_parts).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    if evaluation is None:
        if not held_out:
            raise ValueError("Evaluation needs real rows: add a real (non-synthetic) version or an evaluation version.")
        evaluation = pd.concat(held_out).reset_index(drop=True)
    return PreparedData(train=train, evaluation=evaluation, rows_per_version=counts)
