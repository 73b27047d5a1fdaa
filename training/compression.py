"""Smaller models from trained ones: int8 post-training quantization, and the measures a compressed model's card
compares with its teacher's (size on disk, parameters, predict latency). Django-free.

int8 uses PyTorch's own dynamic quantization (`torch.ao.quantization.quantize_dynamic`): every Linear layer's weights
are stored as int8 with a per-tensor scale and its activations quantized on the fly, which needs no calibration data
and runs on any x86 or ARM CPU through fbgemm/qnnpack; ONNX Runtime would add an export step and a second runtime for
the same kernels. The word embeddings (half of MiniLM's bytes) are not Linear layers: they are stored as float16 and
widened back when the model loads, which halves them on disk without touching the int8 arithmetic.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from marketplace.job_errors import JobInputError
from training.trainer import RUN_FILE, predict

QUANTIZED_FILE = "quantized.pt"
COMPRESSIBLE_TASKS = ("text-classification", "tabular-classification")


def quantize_int8(teacher_dir: Path, output_dir: Path) -> None:
    """Write an int8 copy of the saved model in `teacher_dir` into `output_dir`, loadable by `trainer.predict`."""
    from torch.ao.quantization import quantize_dynamic

    description = json.loads((teacher_dir / RUN_FILE).read_text())
    if description["task"] not in COMPRESSIBLE_TASKS:
        raise JobInputError(
            f"int8 compression is available for {', '.join(COMPRESSIBLE_TASKS)} models, not {description['task']}."
        )
    from training.trainer import _load_saved

    _, model, _ = _load_saved(teacher_dir)
    model = _cpu_copy(model)
    quantized = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    embeddings = quantized.get_input_embeddings() if hasattr(quantized, "get_input_embeddings") else None
    if embeddings is not None:
        embeddings.half()
    target = output_dir / "model"
    target.mkdir(parents=True, exist_ok=True)
    torch.save(quantized, target / QUANTIZED_FILE)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "encoder.json"):
        if (teacher_dir / "model" / name).exists():
            shutil.copy2(teacher_dir / "model" / name, target / name)
    shutil.copy2(teacher_dir / "labels.json", output_dir / "labels.json")
    (output_dir / RUN_FILE).write_text(json.dumps({**description, "compression": "int8"}))


def _cpu_copy(model: torch.nn.Module) -> torch.nn.Module:
    import copy

    return copy.deepcopy(model).to("cpu").eval()


def load_quantized(model_dir: Path) -> torch.nn.Module:
    """The int8 model of a compressed model directory (our own file, so unpickling it is safe)."""
    model = torch.load(model_dir / "model" / QUANTIZED_FILE, map_location="cpu", weights_only=False)
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if embeddings is not None:
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


def latency_p50_ms(model_dirs: list[Path], inputs: list[Any], repeats: int = 15) -> list[float]:
    """Median wall time of one `predict` call on `inputs` for each model, measured in turns (teacher, student,
    teacher, ...) in the same process, so that a noisy machine slows both alike. The first call of each is untimed."""
    for model_dir in model_dirs:
        predict(model_dir, inputs)
    times: list[list[float]] = [[] for _ in model_dirs]
    for _ in range(repeats):
        for index, model_dir in enumerate(model_dirs):
            started = time.perf_counter()
            predict(model_dir, inputs)
            times[index].append(1000 * (time.perf_counter() - started))
    return [round(statistics.median(values), 2) for values in times]
