"""Smaller models from trained ones: int8 post-training quantization, and the measures a compressed model's card
compares with its teacher's (size on disk, parameters, predict latency). Django-free.

int8 uses PyTorch's own dynamic quantization (`torch.ao.quantization.quantize_dynamic`): every Linear layer's weights
are stored as int8 with a scale per output channel (a per-tensor scale lets one large row coarsen every other row's
steps) and its activations quantized on the fly, which needs no calibration data and runs on any x86 or ARM CPU
through fbgemm/qnnpack. ONNX Runtime's int8 was measured 5% faster (1.76x against 1.67x over float32, README),
not worth an export step and a second runtime in the workers. The word embeddings (half of MiniLM's bytes) are not
Linear layers: they are stored as int8 with a scale per token row (the lookup touches one row per token, so each row
keeps its own range) and widened back to float when the model loads.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from marketplace.job_errors import JobInputError
from training.trainer import RUN_FILE, predict

QUANTIZED_FILE = "quantized.pt"
EMBEDDINGS_FILE = "embeddings-int8.pt"  # the word embeddings as int8 rows and a float scale per row
COMPRESSIBLE_TASKS = ("text-classification", "tabular-classification")


def quantize_int8(teacher_dir: Path, output_dir: Path) -> None:
    """Write an int8 copy of the saved model in `teacher_dir` into `output_dir`, loadable by `trainer.predict`."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    description = json.loads((teacher_dir / RUN_FILE).read_text())
    if description["task"] not in COMPRESSIBLE_TASKS:
        raise JobInputError(
            f"int8 compression is available for {', '.join(COMPRESSIBLE_TASKS)} models, not {description['task']}."
        )
    from training.trainer import _load_saved

    _, model, _ = _load_saved(teacher_dir)
    model = _cpu_copy(model)
    quantized = quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
    target = output_dir / "model"
    target.mkdir(parents=True, exist_ok=True)
    embeddings = quantized.get_input_embeddings() if hasattr(quantized, "get_input_embeddings") else None
    if embeddings is not None:
        rows, scales = quantize_rows(embeddings.weight.detach())
        torch.save({"rows": rows, "scales": scales}, target / EMBEDDINGS_FILE)
        # The pickled model keeps an empty weight of the right width; `load_quantized` puts the rows back.
        embeddings.weight = torch.nn.Parameter(embeddings.weight.new_empty(0, rows.shape[1]), requires_grad=False)
    torch.save(quantized, target / QUANTIZED_FILE)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "encoder.json"):
        if (teacher_dir / "model" / name).exists():
            shutil.copy2(teacher_dir / "model" / name, target / name)
    shutil.copy2(teacher_dir / "labels.json", output_dir / "labels.json")
    (output_dir / RUN_FILE).write_text(json.dumps({**description, "compression": "int8"}))


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per row: each row divided by its own scale (its largest magnitude / 127) and rounded."""
    scales = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
    rows = torch.round(weight / scales[:, None]).clamp(-127, 127).to(torch.int8)
    return rows, scales.float()


def dequantize_rows(rows: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    return rows.float() * scales[:, None]


def _cpu_copy(model: torch.nn.Module) -> torch.nn.Module:
    import copy

    return copy.deepcopy(model).to("cpu").eval()


def load_quantized(model_dir: Path) -> torch.nn.Module:
    """The int8 model of a compressed model directory (our own file, so unpickling it is safe)."""
    model = torch.load(model_dir / "model" / QUANTIZED_FILE, map_location="cpu", weights_only=False)
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    stored = model_dir / "model" / EMBEDDINGS_FILE
    if embeddings is not None and stored.exists():
        packed = torch.load(stored, map_location="cpu", weights_only=True)
        weight = dequantize_rows(packed["rows"], packed["scales"])
        embeddings.weight = torch.nn.Parameter(weight, requires_grad=False)
    elif embeddings is not None:  # a copy made before int8 embeddings: float16 rows
        embeddings.float()
    return model.eval()


def size_on_disk(model_dir: Path) -> int:
    """Bytes of the weights and their helpers (tokenizer, encoder) under `model_dir/model`."""
    return sum(f.stat().st_size for f in (model_dir / "model").rglob("*") if f.is_file())


def parameter_count(model: torch.nn.Module) -> int:
    """Parameters of a float model, or weights of a quantized one (its packed Linear weights are not parameters)."""
    count = sum(p.numel() for p in model.parameters())
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if callable(weight) and not isinstance(module, torch.nn.Linear):  # quantized Linear: weight() unpacks
            try:
                count += weight().numel()
            except (RuntimeError, TypeError):
                pass
    return count


def agreement(teacher: list[str], compressed: list[str]) -> float | None:
    """The share of rows on which the compressed model predicts the teacher's label (None without rows)."""
    if len(teacher) != len(compressed):
        raise ValueError("both models must label the same rows")
    return round(sum(a == b for a, b in zip(teacher, compressed, strict=True)) / len(teacher), 4) if teacher else None


def serving_devices(model_dirs: list[Path]) -> list[str]:
    """The device `predict` runs each model on ("cpu", "cuda"): int8 models always on the CPU."""
    from training.trainer import _load_saved, model_device

    return [model_device(_load_saved(model_dir)[1]).type for model_dir in model_dirs]


def latency_p50_ms(model_dirs: list[Path], inputs: list[Any], repeats: int = 15) -> tuple[list[float], str]:
    """Median wall time of one `predict` call on `inputs` for each model, measured in turns (teacher, student,
    teacher, ...) in the same process, so that a noisy machine slows both alike, and the device they ran on. The
    first call of each is untimed.

    Where `predict` serves them on different devices (an int8 copy runs on the CPU, its teacher on a GPU worker's
    GPU), every model is timed on the CPU instead, from a CPU copy: a GPU teacher against a CPU copy would compare
    the two devices, not the two models."""
    from training.trainer import _load_saved, model_device, predict_loaded

    devices = serving_devices(model_dirs)
    if len(set(devices)) == 1:
        device, runs = devices[0], [lambda d=d: predict(d, inputs) for d in model_dirs]
    else:
        device, runs = "cpu", []
        for model_dir in model_dirs:
            description, model, helper = _load_saved(model_dir)
            model = model if model_device(model).type == "cpu" else _cpu_copy(model)
            runs.append(lambda m=model, d=description, h=helper: predict_loaded(d, m, h, inputs))
    for run in runs:
        run()
    times: list[list[float]] = [[] for _ in model_dirs]
    for _ in range(repeats):
        for index, run in enumerate(runs):
            started = time.perf_counter()
            run()
            times[index].append(1000 * (time.perf_counter() - started))
    return [round(statistics.median(values), 2) for values in times], device


# layers None: a third of the teacher's transformer layers (2 of MiniLM's 6), at least one. width: the share of each
# kept layer's feed-forward units the student keeps (1: all of them; see `_narrow_feed_forward`). 0.85: in
# `bench_compute` (256 training reviews, 1,000 test reviews) a 2-layer student at full width predicted 2.7-2.9x faster
# than its teacher, at 0.85 2.85-3.0x, with no accuracy lost beyond the runs' noise (-2.6 at full width, -2.3 twice
# at 0.85, both with augmented copies). augment None: altered copies of each training text, for the teacher to
# label, up to AUGMENT_TRANSFER_ROWS texts in all (`augmented_texts`); epochs None: 4 over an augmented set, 6 over
# the training texts alone.
DISTILL_DEFAULTS = {
    "layers": None,
    "width": 0.85,
    "epochs": None,
    "temperature": 2.0,
    "learning_rate": 1e-4,
    "hard_label_weight": 0.5,
    "augment": None,
}
# With 256 training reviews, 8 copies each: the student's agreement with its teacher on 1,000 test reviews went from
# 0.85 to 0.89 and its accuracy from -3.4 to -2.6 points against the teacher (6 epochs alone against 4 augmented;
# 3 epochs over 4 copies -3.8, 12 epochs without copies -4.0, a higher learning rate -3.1), for 6x the steps. A
# large training set needs no copies (-1.5 points at full width with 1,024 reviews and none), and its steps grow
# with it, so the copies stop at this many texts in all.
AUGMENT_TRANSFER_ROWS = 2304
AUGMENT_MAX_COPIES = 8


def augment_copies(rows: int) -> int:
    """How many altered copies of each of `rows` training texts the default distillation adds."""
    return min(AUGMENT_MAX_COPIES, max(0, math.ceil(AUGMENT_TRANSFER_ROWS / max(rows, 1)) - 1))


DISTILLABLE_TASKS = ("text-classification",)


def _narrow_feed_forward(student: torch.nn.Module, width: float) -> None:
    """Keep `width` of each layer's feed-forward units: those whose weights in and out weigh the most (the product of
    the two norms), with the teacher's values. The feed-forward block holds two thirds of a BERT layer's weights, so
    in `bench_compute` a student of 2 of MiniLM's 6 layers at half width predicted 3.3x faster than its teacher where
    one at full width did 2.6-2.8x, for 1.4-1.5 points of accuracy more lost (-4.8 against -3.4 with 256 training
    reviews, -3.0 against -1.5 with 1,024)."""
    layers = student.base_model.encoder.layer
    if not all(hasattr(layer, "intermediate") and hasattr(layer, "output") for layer in layers):
        raise JobInputError("params.width needs BERT-style feed-forward blocks, and this teacher has none.")
    units = layers[0].intermediate.dense.out_features
    kept = max(1, round(units * width))
    for layer in layers:
        up, down = layer.intermediate.dense, layer.output.dense
        keep = (up.weight.norm(dim=1) * down.weight.norm(dim=0)).topk(kept).indices.sort().values
        narrow_up, narrow_down = torch.nn.Linear(up.in_features, kept), torch.nn.Linear(kept, down.out_features)
        with torch.no_grad():
            narrow_up.weight.copy_(up.weight[keep])
            narrow_up.bias.copy_(up.bias[keep])
            narrow_down.weight.copy_(down.weight[:, keep])
            narrow_down.bias.copy_(down.bias)
        layer.intermediate.dense, layer.output.dense = narrow_up, narrow_down
    student.config.intermediate_size = kept  # what `from_pretrained` builds the saved student with


def _student_from_teacher(teacher: torch.nn.Module, layers: int) -> torch.nn.Module:
    """A copy of `teacher` with `layers` of its transformer layers, evenly spaced and always the last one, with its
    embeddings, pooler and classifier: initialised from the teacher, as DistilBERT was from BERT."""
    import copy

    student = copy.deepcopy(teacher).to("cpu")
    encoder = getattr(student.base_model, "encoder", None)
    if not isinstance(getattr(encoder, "layer", None), torch.nn.ModuleList):
        raise JobInputError("Distillation needs a BERT-style encoder (encoder.layer); this teacher has none.")
    total = len(encoder.layer)
    if not 1 <= layers < total:
        raise JobInputError(f"params.layers must be between 1 and {total - 1} for a teacher of {total} layers.")
    keep = sorted({round(i * (total - 1) / max(layers - 1, 1)) for i in range(layers)} | {total - 1})[-layers:]
    encoder.layer = torch.nn.ModuleList([encoder.layer[i] for i in keep])
    student.config.num_hidden_layers = layers
    return student


def augmented_texts(texts: list[str], copies: int, *, seed: int, mask_token: str | None) -> list[str]:
    """`copies` altered versions of each text for the teacher to label (Tang et al. 2019, "Distilling task-specific
    knowledge from BERT into simple neural networks"): each word masked with probability 0.1, swapped for a word
    of another training text with probability 0.1, and a quarter of the versions cut to a window of 50-100% of
    their words."""
    rng = random.Random(seed)
    vocabulary = [word for text in texts for word in text.split()]
    out = []
    for _ in range(copies):
        for text in texts:
            words = text.split()
            changed = []
            for word in words:
                roll = rng.random()
                if roll < 0.1 and mask_token:
                    changed.append(mask_token)
                elif roll < 0.2 and vocabulary:
                    changed.append(rng.choice(vocabulary))
                else:
                    changed.append(word)
            if len(changed) > 3 and rng.random() < 0.25:
                size = rng.randint(max(1, len(changed) // 2), len(changed))
                start = rng.randint(0, len(changed) - size)
                changed = changed[start : start + size]
            out.append(" ".join(changed) or text)
    return out


def distill(
    teacher_dir: Path,
    output_dir: Path,
    texts: list[str],
    labels: list[str] | None = None,
    *,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    batch_size: int = 16,
    max_length: int = 128,
    on_step: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Train a smaller student (fewer transformer layers, narrower feed-forward blocks where `width` < 1, initialised
    from the teacher) on the teacher's soft labels over `texts` (the teacher's training rows): KL divergence between
    the softened distributions (temperature T, scaled by T², Hinton et al. 2015), plus cross-entropy on the true
    labels weighted `hard_label_weight` where they are given. `on_step(step, total)` is called before each optimiser
    step (progress; it may raise to stop). Writes a model `trainer.predict` loads like any other; returns the
    student's KL against the teacher on `texts` before and after, and its settings."""
    import torch.nn.functional as F
    from transformers import AutoTokenizer

    from marketplace.devices import torch_device_name
    from training.trainer import _load_saved

    options = {**DISTILL_DEFAULTS, **(params or {})}
    description = json.loads((teacher_dir / RUN_FILE).read_text())
    if description["task"] not in DISTILLABLE_TASKS:
        raise JobInputError(
            f"Distillation is available for {', '.join(DISTILLABLE_TASKS)} models, not {description['task']}."
        )
    if not texts:
        raise JobInputError("Distillation needs the teacher's training texts, and none could be read.")
    _, teacher, _ = _load_saved(teacher_dir)
    teacher = _cpu_copy(teacher)
    tokenizer = AutoTokenizer.from_pretrained(teacher_dir / "model")
    torch.manual_seed(seed)
    total_layers = len(getattr(getattr(teacher.base_model, "encoder", None), "layer", []))
    options["layers"] = int(options["layers"] or max(1, total_layers // 3))
    student = _student_from_teacher(teacher, options["layers"])
    teacher_units = student.config.intermediate_size
    options["width"] = float(options["width"])
    if not 0 < options["width"] <= 1:
        raise JobInputError("params.width must be above 0 and at most 1 (the share of feed-forward units kept).")
    if options["width"] < 1:
        _narrow_feed_forward(student, options["width"])
    names = description["labels"]
    # On the worker's device (a GPU worker's GPU), built on the CPU first: the student is cut from a copy there.
    device = torch.device(torch_device_name())
    teacher, student = teacher.to(device), student.to(device)
    copies = options["augment"] = int(augment_copies(len(texts)) if options["augment"] is None else options["augment"])
    if copies < 0:
        raise JobInputError("params.augment must be 0 or more (altered copies of each training text).")
    options["epochs"] = int(options["epochs"] or (4 if copies else 6))
    hard_labels = [names.index(y) if y in names else -1 for y in labels] if labels is not None else [-1] * len(texts)

    def batches(rows: list[str], hard: list[int]) -> list[tuple[Any, torch.Tensor]]:
        return [
            (
                tokenizer(
                    rows[i : i + batch_size], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
                ).to(device),
                torch.tensor(hard[i : i + batch_size], device=device),
            )
            for i in range(0, len(rows), batch_size)
        ]

    # The copies carry no true label: the teacher's soft labels are all the student learns from them.
    originals = batches(texts, hard_labels)
    altered = augmented_texts(texts, copies, seed=seed, mask_token=tokenizer.mask_token) if copies else []
    encoded = originals + batches(altered, [-1] * len(altered))
    temperature = float(options["temperature"])
    with torch.no_grad():
        teacher_logits = [teacher(**batch).logits for batch, _ in encoded]

    def kl_to_teacher() -> float:
        """On the training texts themselves, not their copies."""
        student.eval()
        with torch.no_grad():
            total = sum(
                F.kl_div(
                    F.log_softmax(student(**batch).logits / temperature, dim=-1),
                    F.softmax(soft / temperature, dim=-1),
                    reduction="sum",
                ).item()
                for (batch, _), soft in zip(originals, teacher_logits, strict=False)
            )
        return float(f"{total / len(texts):.4g}")

    before = kl_to_teacher()
    optimizer = torch.optim.AdamW(student.parameters(), lr=float(options["learning_rate"]))
    generator = torch.Generator().manual_seed(seed)
    steps, total = 0, int(options["epochs"]) * len(encoded)
    for _ in range(int(options["epochs"])):
        student.train()
        for index in torch.randperm(len(encoded), generator=generator).tolist():
            if on_step is not None:
                on_step(steps, total)
            (batch, hard), soft = encoded[index], teacher_logits[index]
            logits = student(**batch).logits
            loss = (temperature**2) * F.kl_div(
                F.log_softmax(logits / temperature, dim=-1),
                F.softmax(soft / temperature, dim=-1),
                reduction="batchmean",
            )
            if options["hard_label_weight"] > 0 and (hard >= 0).any():
                loss = loss + options["hard_label_weight"] * F.cross_entropy(logits[hard >= 0], hard[hard >= 0])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
    after = kl_to_teacher()
    target = output_dir / "model"
    target.mkdir(parents=True, exist_ok=True)
    student.eval().to("cpu").save_pretrained(target)
    tokenizer.save_pretrained(target)
    shutil.copy2(teacher_dir / "labels.json", output_dir / "labels.json")
    settings = {
        **options,
        "teacher_layers": total_layers,
        "feed_forward_units": student.config.intermediate_size,
        "teacher_feed_forward_units": teacher_units,
        "steps": steps,
        "rows": len(texts),
        "augmented_rows": len(altered),
    }
    (output_dir / RUN_FILE).write_text(json.dumps({**description, "compression": "distill", "distill": settings}))
    return {"kl_to_teacher_before": before, "kl_to_teacher_after": after, **settings}
