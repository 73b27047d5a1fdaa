"""Data-parallel training: one `trainer.train` run on N processes with torch.distributed.

`launch` is what `train` calls when `config.processes > 1`: it writes the run's inputs into a folder and starts
PyTorch's standard launcher (`python -m torch.distributed.run --standalone --nproc_per_node N`), which starts N
copies of this module's `main`. Each joins the process group (`backend_for`: gloo on CPU, NCCL on GPU, one device
per process), runs `train` on its slice of every global batch, and the gradients are averaged, so every process takes
the step one process would take on the whole batch. The first process writes the events, checkpoints, model and
result; the launching process relays its events to the caller and passes a cancellation on through a file. A
subprocess rather than `multiprocessing`: Celery's pool processes are daemonic and may not fork children of their
own.

Django-free.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from marketplace.job_errors import JobCancelled, JobInputError

JOB_FILE, EVENTS_FILE, LOG_FILE = "job.pkl", "events.jsonl", "log"
CANCEL_FILE, CANCELLED_FILE, INPUT_ERROR_FILE = "cancel", "cancelled", "input-error"


def backend_for(processes: int) -> str:
    """The process group's backend for `processes` processes on the device the trainer uses (`TESSERA_DEVICE`):
    gloo on the CPU; NCCL on CUDA, with one GPU per process (NCCL cannot put two processes of one group on one
    GPU). A clear refusal where the GPUs are too few or one is pinned, before any process starts: rank 1 of two on
    a one-GPU worker asked for `cuda:1` and the job died with "invalid device ordinal"."""
    import torch

    from marketplace.devices import DEVICE_VARIABLE, torch_device_name

    device = torch_device_name()
    if not device.startswith("cuda"):
        return "gloo"
    if ":" in device:
        raise JobInputError(
            f"{DEVICE_VARIABLE}={device} pins every process to one GPU, and data-parallel training needs one GPU per "
            f"process: set {DEVICE_VARIABLE} to auto or cuda, or train on one process."
        )
    gpus = torch.cuda.device_count()
    if processes > gpus:
        raise JobInputError(
            f"params.processes={processes} needs one GPU per process, and this worker has {gpus}: use at most "
            f"{gpus} process(es) here, or run the job on a CPU worker."
        )
    return "nccl"


def launch(
    spec: Any,
    data: Any,
    output_dir: Path,
    config: Any,
    *,
    cache_dir: Path | None,
    event: Callable[[dict[str, Any]], None] | None,
    should_cancel: Callable[[], bool] | None,
) -> Any:
    """Run `train(spec, data, output_dir, config)` on `config.processes` processes and return its result."""
    from training.trainer import data_fingerprint, finished_result

    backend_for(config.processes)  # refused here, in the job's own process, with a message the person can act on
    output_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".data-parallel-", dir=output_dir.parent))
    try:
        with (workdir / JOB_FILE).open("wb") as handle:
            pickle.dump(
                {"spec": spec, "data": data, "output_dir": output_dir, "config": config, "cache_dir": cache_dir},
                handle,
            )
        threads = max(1, (os.cpu_count() or 1) // config.processes)
        root = str(Path(__file__).resolve().parents[1])  # the processes import `training` from wherever they start
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH", "")]))
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={config.processes}",
            "-m",
            "training.distributed",
            str(workdir),
        ]
        with (workdir / LOG_FILE).open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            relayed = 0  # bytes of the events file passed on
            while True:
                finished = process.poll() is not None
                relayed = _relay(workdir / EVENTS_FILE, relayed, event)
                if finished:
                    break
                if should_cancel is not None and should_cancel():
                    (workdir / CANCEL_FILE).touch()
                time.sleep(0.2)
        if (workdir / CANCELLED_FILE).exists():
            raise JobCancelled((workdir / CANCELLED_FILE).read_text(), step=int((workdir / "step").read_text()))
        if (workdir / INPUT_ERROR_FILE).exists():
            raise JobInputError((workdir / INPUT_ERROR_FILE).read_text())
        if process.returncode != 0:
            tail = (workdir / LOG_FILE).read_text(errors="replace")[-1500:]
            raise RuntimeError(f"data-parallel training failed (exit {process.returncode}): {tail}")
        result = finished_result(output_dir, config, data_fingerprint(data))
        if result is None:
            raise RuntimeError("data-parallel training ended without writing its result")
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _relay(path: Path, offset: int, event: Callable[[dict[str, Any]], None] | None) -> int:
    """Pass the events appended since byte `offset` to `event`; returns the offset after the last complete line (a
    line being written waits for the next call). Only the new bytes are read, however long the run."""
    if not path.exists():
        return offset
    with path.open("rb") as handle:
        handle.seek(offset)
        new = handle.read()
    complete = new[: new.rfind(b"\n") + 1]
    for line in complete.splitlines():
        if event is not None:
            event(json.loads(line))
    return offset + len(complete)


def main(workdir: Path) -> None:
    import torch
    import torch.distributed as dist

    from training.trainer import train

    with (workdir / JOB_FILE).open("rb") as handle:
        job = pickle.load(handle)  # our own file, written by `launch` just before
    backend = backend_for(int(os.environ.get("WORLD_SIZE", "1")))
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)
    rank = dist.get_rank()
    events = (workdir / EVENTS_FILE).open("a") if rank == 0 else None

    def event(payload: dict[str, Any]) -> None:
        assert events is not None
        events.write(json.dumps(payload) + "\n")
        events.flush()

    try:
        try:
            train(
                job["spec"],
                job["data"],
                job["output_dir"],
                job["config"],
                cache_dir=job["cache_dir"],
                event=event,
                should_cancel=lambda: (workdir / CANCEL_FILE).exists(),
            )
        except JobCancelled as exc:  # every process stops at the same step (the first one decides)
            if rank == 0:
                (workdir / "step").write_text(str(exc.step or 0))
                (workdir / CANCELLED_FILE).write_text(str(exc))
        # The others wait while the first writes the model: a process that leaves the group early aborts gloo.
        dist.barrier()
    except JobInputError as exc:  # the person's to fix (e.g. a loss that diverged): said as such, not as a crash
        if rank == 0:
            (workdir / INPUT_ERROR_FILE).write_text(str(exc))
        raise
    finally:
        if events is not None:
            events.close()
        dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    # Done, and everything it wrote is closed: leave without the interpreter's teardown. Tearing down gloo's C++
    # threads there aborted one run in about twenty on CPU ("terminate called without an active exception", SIGABRT
    # on rank 1 after the model and result were written), and the launcher then failed the whole job.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
