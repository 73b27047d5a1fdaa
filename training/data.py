"""Training data from a licensed mix: rows sampled by weight, evaluation rows held out from REAL data only, and
the tensors each task trains on (classification batches; causal-LM examples with completion-only labels, packed).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from marketplace.job_errors import JobInputError

IGNORE_INDEX = -100  # label value that torch's cross-entropy (and so every transformers loss) skips


@dataclass(frozen=True)
class MixPart:
    """One dataset version of a training mix."""

    frame: pd.DataFrame  # the version's rows
    weight: float  # relative share of training rows drawn from it
    synthetic: bool  # synthetic rows never reach evaluation
    version: int  # the version's id, recorded per row for the card


@dataclass
class PreparedData:
    """Training rows (each tagged with its `_version`) and the real rows held out to evaluate on."""

    train: pd.DataFrame  # with a "_version" column
    evaluation: pd.DataFrame  # real rows only
    rows_per_version: dict[int, int]  # training rows drawn from each version (for the card's shares)
    synthetic_versions: frozenset[int] = frozenset()  # versions whose rows are synthetic
    # Real rows kept apart from both: early stopping and the choice of mix weights read them, so the evaluation
    # rows stay unseen by every decision and the report on them is not biased by the choice.
    validation: pd.DataFrame = field(default_factory=pd.DataFrame)


# Validation rows are carved out only when the real training rows can spare them: below this many, every row trains.
MIN_ROWS_FOR_VALIDATION = 20


def prepare_mix(
    parts: list[MixPart],
    *,
    holdout_fraction: float,
    evaluation: pd.DataFrame | None = None,
    seed: int = 0,
    validation_fraction: float = 0.0,
) -> PreparedData:
    """Hold out real rows for evaluation (unless an evaluation set is given) and for validation, then sample the
    training rows.

    Each part contributes rows in proportion to its weight, up to the size the largest weighted part allows without
    repeating rows; synthetic parts are never split into evaluation or validation."""
    rng = np.random.default_rng(seed)
    pools, held_out, validation = [], [], []
    for part in parts:
        frame = part.frame.assign(_version=part.version).sample(frac=1.0, random_state=int(rng.integers(1 << 31)))
        if not part.synthetic and evaluation is None and holdout_fraction > 0:
            cut = max(1, int(round(len(frame) * holdout_fraction)))
            held_out.append(frame.iloc[:cut])
            frame = frame.iloc[cut:]
        pools.append((part, frame))
    real_rows = sum(len(frame) for part, frame in pools if not part.synthetic)
    if validation_fraction > 0 and real_rows >= MIN_ROWS_FOR_VALIDATION:
        for index, (part, frame) in enumerate(pools):
            if not part.synthetic and len(frame) > 1:
                cut = max(1, int(round(len(frame) * validation_fraction)))
                validation.append(frame.iloc[:cut])
                pools[index] = (part, frame.iloc[cut:])
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
            raise JobInputError(
                "Evaluation needs real rows: add a real (non-synthetic) version or an evaluation version."
            )
        evaluation = pd.concat(held_out).drop(columns="_version").reset_index(drop=True)
    synthetic = frozenset(part.version for part in parts if part.synthetic)
    return PreparedData(
        train=train,
        evaluation=evaluation,
        rows_per_version=counts,
        synthetic_versions=synthetic,
        validation=(
            pd.concat(validation).drop(columns="_version").reset_index(drop=True) if validation else pd.DataFrame()
        ),
    )


def synthetic_scaled(data: PreparedData, scale: float) -> PreparedData:
    """The mix with `scale` times its synthetic training rows (the first ones of each synthetic version; rows are
    shuffled) and every real row: 0 is the real-only baseline, 1 the mix as weighted. Evaluation and validation
    rows are the same in every scaled mix, so their scores compare."""
    synthetic = data.train["_version"].isin(data.synthetic_versions)
    if scale == 0 and not (~synthetic).any():
        raise JobInputError("The mix has no real training rows to train a real-only baseline on.")
    rank = data.train.groupby("_version").cumcount()
    keep = ~synthetic | (rank < data.train["_version"].map(lambda v: round(data.rows_per_version[v] * scale)))
    counts = {v: (round(n * scale) if v in data.synthetic_versions else n) for v, n in data.rows_per_version.items()}
    return PreparedData(
        data.train[keep].reset_index(drop=True), data.evaluation, counts, data.synthetic_versions, data.validation
    )


def real_only(data: PreparedData) -> PreparedData:
    """The baseline of an augmented mix: the same real training rows, the same evaluation rows, no synthetic rows."""
    return synthetic_scaled(data, 0)


# --- text classification -------------------------------------------------------------------------------------------


GROUP_BATCHES = 32  # batches' worth of rows sorted by length together when grouping by length


def classification_batches(
    tokenizer,
    texts: list[str],
    label_ids: list[int],
    *,
    batch_size: int,
    max_length: int,
    seed: int,
    group_by_length: bool = True,
) -> list[dict]:
    """Batches with dynamic padding: rows put into batches in a seeded order, each padded to its longest row.

    With `group_by_length`, rows are shuffled, then sorted by token count within windows of GROUP_BATCHES batches,
    so a batch holds rows of similar length and little of it is padding (the trainer shuffles the batch order
    every epoch, so the model still sees lengths in random order)."""
    import torch

    order = np.random.default_rng(seed).permutation(len(texts))
    if group_by_length:
        lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
        order = _grouped_by_length(order, lengths, batch_size)
    batches = []
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        encoded = tokenizer(
            [texts[i] for i in chosen], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
        )
        encoded["labels"] = torch.tensor([label_ids[i] for i in chosen])
        batches.append(dict(encoded))
    return batches


def _grouped_by_length(order: np.ndarray, lengths: list[int], batch_size: int) -> np.ndarray:
    """`order` sorted by length within windows of GROUP_BATCHES batches: consecutive rows have similar lengths."""
    window = batch_size * GROUP_BATCHES
    return np.concatenate(
        [sorted(order[start : start + window], key=lambda i: lengths[i]) for start in range(0, len(order), window)]
    ).astype(int)


# --- causal-LM supervised fine-tuning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SftExample:
    """One tokenised prompt + completion; the loss is taken on the completion only."""

    input_ids: list[int]  # prompt tokens then completion tokens (ending with EOS)
    labels: list[int]  # IGNORE_INDEX on prompt tokens, else equal to input_ids


def format_prompt(tokenizer, prompt: str) -> str:
    """The prompt as the model saw it in training: its chat template with a generation prompt, when it has one."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
    return prompt + "\n"


def encode_sft(tokenizer, prompts: list[str], completions: list[str], *, max_length: int) -> list[SftExample]:
    """Tokenise prompt and completion separately so the boundary is exact, mask the prompt out of the labels.

    Too long examples lose the START of the prompt (the instruction nearest the answer and the whole generation
    prompt survive) and at most the end of the completion, keeping at least half the window for the completion."""
    eos = tokenizer.eos_token_id
    examples = []
    for prompt, completion in zip(prompts, completions, strict=True):
        prompt_ids = tokenizer(format_prompt(tokenizer, prompt), add_special_tokens=False)["input_ids"]
        if tokenizer.bos_token_id is not None and not getattr(tokenizer, "chat_template", None):
            prompt_ids = [tokenizer.bos_token_id, *prompt_ids]
        completion_ids = [*tokenizer(str(completion), add_special_tokens=False)["input_ids"], eos]
        completion_ids = completion_ids[: max_length - min(len(prompt_ids), max_length // 2)]
        prompt_ids = prompt_ids[-(max_length - len(completion_ids)) :]
        labels = [IGNORE_INDEX] * len(prompt_ids) + completion_ids
        # The first token has nothing before it in its own sequence; with packing the token before it belongs to
        # another example, so it must never be a target.
        labels[0] = IGNORE_INDEX
        examples.append(SftExample([*prompt_ids, *completion_ids], labels))
    return examples


@dataclass(frozen=True)
class PackedRow:
    """Several examples laid end to end; position ids restart at 0 at each example boundary."""

    input_ids: list[int]  # concatenated tokens
    labels: list[int]  # concatenated labels
    position_ids: list[int]  # 0..len-1 per example: transformers turns restarts into a block-diagonal causal mask


def pack(examples: list[SftExample], *, max_length: int) -> list[PackedRow]:
    """Best-fit decreasing: longest examples first, each into the fullest row it still fits in (a new row if none).

    Never more rows than filling them in order, often fewer when lengths vary widely (on the benchmark's 42-63 token
    samples in rows of 128 both give 24: only two fit either way); batches are shuffled later (`packed_batches`)."""
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i].input_ids))
    members: list[list[int]] = []  # example indices per row
    free: list[tuple[int, int]] = []  # (space left, row index), sorted
    for index in order:
        size = min(len(examples[index].input_ids), max_length)
        slot = bisect.bisect_left(free, (size, -1))
        if slot < len(free):
            space, row = free.pop(slot)
            members[row].append(index)
        else:
            row, space = len(members), max_length
            members.append([index])
        if space - size > 0:
            bisect.insort(free, (space - size, row))
    rows = []
    for chosen in members:
        chosen.sort()  # dataset order within a row
        rows.append(
            PackedRow(
                [t for i in chosen for t in examples[i].input_ids],
                [t for i in chosen for t in examples[i].labels],
                [p for i in chosen for p in range(len(examples[i].input_ids))],
            )
        )
    return rows


def packed_batches(rows: list[PackedRow], *, batch_size: int, pad_id: int, seed: int) -> list[dict]:
    """Batches of packed rows (seeded order). No attention mask: the restarting position ids define it; padding is
    one more segment of its own whose labels are ignored.

    Rows are grouped by length as in `classification_batches`: best-fit leaves rows of uneven length (two 45-token
    samples in one, two 62-token ones in the next), and a batch pads every row to its longest."""
    import torch

    order = np.random.default_rng(seed).permutation(len(rows))
    order = _grouped_by_length(order, [len(row.input_ids) for row in rows], batch_size)
    batches = []
    for start in range(0, len(order), batch_size):
        chosen = [rows[i] for i in order[start : start + batch_size]]
        width = max(len(row.input_ids) for row in chosen)
        ids, labels, positions, real = [], [], [], []
        for row in chosen:
            pad = width - len(row.input_ids)
            ids.append(row.input_ids + [pad_id] * pad)
            labels.append(row.labels + [IGNORE_INDEX] * pad)
            positions.append(row.position_ids + list(range(pad)))
            real.append([1] * len(row.input_ids) + [0] * pad)
        batches.append(
            {
                "input_ids": torch.tensor(ids),
                "labels": torch.tensor(labels),
                "position_ids": torch.tensor(positions),
                "token_mask": torch.tensor(real),  # not a model input: counts real tokens for throughput
            }
        )
    return batches


def padded_batches(examples: list[SftExample], *, batch_size: int, pad_id: int, seed: int) -> list[dict]:
    """Unpacked batches (seeded order): one example per row, right-padded to the batch's longest example."""
    import torch

    order = np.random.default_rng(seed).permutation(len(examples))
    batches = []
    for start in range(0, len(order), batch_size):
        chosen = [examples[i] for i in order[start : start + batch_size]]
        width = max(len(e.input_ids) for e in chosen)
        ids = [e.input_ids + [pad_id] * (width - len(e.input_ids)) for e in chosen]
        labels = [e.labels + [IGNORE_INDEX] * (width - len(e.labels)) for e in chosen]
        mask = [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in chosen]
        batches.append(
            {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}
        )
    return batches
