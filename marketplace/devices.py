"""Which torch device a worker computes on, from the environment: TESSERA_DEVICE is `auto` (the default: CUDA when
this process sees a GPU, else the CPU), `cpu`, `cuda` or `cuda:N`. CUDA_VISIBLE_DEVICES still decides which GPUs a
process sees. Django-free: training, text generation and tabular synthesis all ask here."""

from __future__ import annotations

import os

DEVICE_VARIABLE = "TESSERA_DEVICE"


def torch_device_name() -> str:
    """The device to use, e.g. "cuda" or "cpu"; a clear error when the environment asks for a GPU that is not there
    or names something that is not a device."""
    import torch

    wanted = (os.environ.get(DEVICE_VARIABLE, "") or "auto").strip().lower()
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted == "cpu":
        return "cpu"
    if wanted == "cuda" or (wanted.startswith("cuda:") and wanted[5:].isdigit()):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"{DEVICE_VARIABLE}={wanted} asks for a GPU, but this worker sees none (no CUDA device is visible)."
            )
        if ":" in wanted and int(wanted[5:]) >= torch.cuda.device_count():
            raise RuntimeError(f"{DEVICE_VARIABLE}={wanted}: this worker sees {torch.cuda.device_count()} GPU(s).")
        return wanted
    raise ValueError(f"{DEVICE_VARIABLE} must be auto, cpu, cuda or cuda:N, not {wanted!r}.")
