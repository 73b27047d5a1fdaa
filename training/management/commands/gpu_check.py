"""`manage.py gpu_check` (`make gpu-check`): the GPU path in one short run, ending with one JSON line. Run it first on
a machine that has a GPU: the CUDA tests (tests/gpu: the device is picked, training, distillation and text
generation run on CUDA, in bf16 where they say so; two data-parallel processes take a GPU each or are refused), the
trainer's throughput against transformers' Trainer and packing (`bench_training --skip lift`), compression and
serving (`bench_compute`), and batched text generation against one prompt at a time (`bench_synthesis`'s text part).

Without a GPU it stops at once with a message (exit status 1): there is nothing to check. `--allow-cpu` runs the same
steps on the CPU with small sizes, which is how the CPU suite keeps this script working.
"""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

ROOT = Path(__file__).resolve().parents[3]


def _device() -> dict[str, Any]:
    import torch

    from marketplace.devices import torch_device_name

    info: dict[str, Any] = {
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "picked": torch_device_name(),
        "machine": platform.machine(),
    }
    if torch.cuda.is_available():
        info.update(
            {
                "name": torch.cuda.get_device_name(0),
                "count": torch.cuda.device_count(),
                "capability": ".".join(map(str, torch.cuda.get_device_capability(0))),
                "bf16": torch.cuda.is_bf16_supported(),
                "memory_gb": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1),
                "cuda": torch.version.cuda,
            }
        )
    return info


def _last_json(text: str) -> Any:
    """The JSON a benchmark printed (the last JSON value in its output)."""
    start = text.find("{")
    return json.loads(text[start:]) if start >= 0 else None


class Command(BaseCommand):
    help = "Verify the GPU path (CUDA tests, training throughput and packing, text generation); print one JSON line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--allow-cpu", action="store_true", help="run the steps on the CPU, small (self-test)")
        parser.add_argument("--skip", default="", help="comma-separated steps to skip: tests, training, compute, text")

    def handle(self, *args, allow_cpu: bool, skip: str, **options) -> None:
        import torch

        if not torch.cuda.is_available() and not allow_cpu:
            raise CommandError("No CUDA device is visible to this process: there is no GPU path to check here.")
        skipped = set(filter(None, skip.split(",")))
        small = not torch.cuda.is_available()
        started = time.monotonic()
        report: dict[str, Any] = {"benchmark": "gpu-check", "device": _device(), "steps": {}}

        def step(name: str, run) -> None:
            if name in skipped:
                return
            begun = time.monotonic()
            try:
                report["steps"][name] = {"ok": True, **run()}
            except Exception as exc:  # one failing step must not hide the others' figures
                report["steps"][name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
            report["steps"][name]["seconds"] = round(time.monotonic() - begun, 1)
            self.stderr.write(f"gpu_check: {name} {'ok' if report['steps'][name]['ok'] else 'FAILED'}")

        def tests() -> dict[str, Any]:
            env = {**os.environ, "TESSERA_GPU_TESTS": "1"}
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "tests/gpu", "-q", "-p", "no:cacheprovider"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=1200,
            )
            if done.returncode != 0:
                raise RuntimeError(f"the CUDA tests failed:\n{done.stdout[-3000:]}{done.stderr[-1000:]}")
            return {"summary": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""}

        def training() -> dict[str, Any]:
            out = io.StringIO()
            sizes = ["--throughput-rows", "16", "--packing-examples", "16"] if small else []
            call_command("bench_training", "--skip", "lift", *sizes, stdout=out, stderr=io.StringIO())
            return {"bench_training": _last_json(out.getvalue())}

        def compute() -> dict[str, Any]:
            out = io.StringIO()
            sizes = (
                ["--train-rows", "32", "--test-rows", "16", "--batch", "8", "--repeats", "2", "--narrow-width", "1"]
                + ["--distill-params", '{"epochs": 1, "augment": 0}', "--parallel-steps", "2", "--clients", "2"]
                + ["--calls", "4"]
                if small
                else []
            )
            call_command("bench_compute", *sizes, stdout=out, stderr=io.StringIO())
            return {"bench_compute": _last_json(out.getvalue())}

        def text() -> dict[str, Any]:
            from synthesis.management.commands.bench_synthesis import Command as BenchSynthesis

            return {"text_generation": BenchSynthesis._text_throughput(prompts=2 if small else 16)}

        if not small:
            step("tests", tests)
        step("training", training)
        step("compute", compute)
        step("text", text)
        report["ok"] = all(s["ok"] for s in report["steps"].values())
        report["seconds"] = round(time.monotonic() - started, 1)
        self.stdout.write(json.dumps(report))
        if not report["ok"]:
            raise CommandError("A GPU check failed; see its error in the JSON line above.")
