"""Micro-batching for predict: concurrent callers of one model share forward passes.

A web process serves predict from several threads. Without batching each request runs its own forward pass, and
concurrent passes only fight over the same cores. Here each model has one batch thread: callers queue their inputs
and sleep; the thread takes every queued request up to `max_rows` rows, runs them as one batch and hands each
caller its own slice of the answer. Callers that arrive while a batch runs go in the next one, so the batches grow
with the load, and a lone caller waits for nothing (under load a batch waits up to `max_wait_s` for as many callers
as the one before it had).

Django-free: `run` is any function from a list of inputs to a list of outputs of the same length, in order.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Request:
    inputs: list[Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: list[Any] | None = None
    error: BaseException | None = None


class MicroBatcher:
    def __init__(self, run: Callable[[list[Any]], list[Any]], *, max_rows: int = 256, max_wait_s: float = 0.0):
        self.run = run
        self.max_rows = max_rows
        # The longest a batch waits for as many callers as the batch before it served (0: it never waits; batches
        # then form from the callers that queue while one runs). See `_serve`.
        self.max_wait_s = max_wait_s
        self._queue: list[_Request] = []
        self._state = threading.Condition()  # guards the queue; the batch thread sleeps on it while it is empty
        self._thread: threading.Thread | None = None
        self.batches: list[int] = []  # requests per batch run, the last 1,000 (for tests and measurements)

    def __call__(self, inputs: list[Any]) -> list[Any]:
        request = _Request(list(inputs))
        with self._state:
            self._queue.append(request)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="predict-batches", daemon=True)
                self._thread.start()
            self._state.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _serve(self) -> None:
        """The thread that gathers this model's batches (they run on the shared inference thread, see
        `on_inference_thread`).

        A batch waits, up to `max_wait_s`, until as many callers have queued as the batch before it served. Under
        load the callers of one batch come back together, but one at a time: without the wait the next batch took
        the first few and left the rest for the one after (16 clients: batches of 4 and 12, or 1 and 15, in turn).
        A lone caller's batch before was of one, so it never waits."""
        expected = 1
        while True:
            with self._state:
                while not self._queue:
                    self._state.wait()
                deadline = time.monotonic() + self.max_wait_s
                while len(self._queue) < expected and (left := deadline - time.monotonic()) > 0:
                    self._state.wait(left)
            expected = self._run_batch()

    def _run_batch(self) -> int:
        """Run the queued requests (up to `max_rows` rows) as one batch; returns how many requests it served."""
        with self._state:
            batch: list[_Request] = []
            rows = 0
            while self._queue and (not batch or rows + len(self._queue[0].inputs) <= self.max_rows):
                request = self._queue.pop(0)
                batch.append(request)
                rows += len(request.inputs)
        if not batch:
            return 0
        self.batches = [*self.batches[-999:], len(batch)]
        try:
            outputs = on_inference_thread(self.run, [x for request in batch for x in request.inputs])
            if len(outputs) != rows:
                raise RuntimeError(f"the batch returned {len(outputs)} outputs for {rows} inputs")
        except BaseException as exc:  # every caller of the batch gets the error, none waits forever
            for request in batch:
                request.error = exc
                request.done.set()
            return len(batch)
        start = 0
        for request in batch:
            request.result = outputs[start : start + len(request.inputs)]
            start += len(request.inputs)
            request.done.set()
        return len(batch)


_inference: tuple[int, ThreadPoolExecutor] | None = None  # (the process that made it, the executor)
_inference_lock = threading.Lock()
INFERENCE_THREAD = "inference"


def on_inference_thread(run: Callable[[Any], Any], inputs: Any) -> Any:
    """`run(inputs)` on the process's one inference thread, shared by every model's batcher.

    PyTorch's CPU thread pool (OpenMP's) belongs to the thread that calls it: a batch thread per model made a team of
    CPU threads per model, and once a second model had run in the process, a one-review predict on the first took
    13 -> 20 ms for good (MiniLM on this 2-core machine, measured 5 s later too). On one shared thread it stays at
    13 ms. The price: one model's long batch (a generation) holds the others' batches back; they would otherwise
    have fought it for the same cores."""
    global _inference
    if threading.current_thread().name.startswith(INFERENCE_THREAD):  # a run that predicts: already there
        return run(inputs)
    with _inference_lock:
        if _inference is None or _inference[0] != os.getpid():  # none yet, or one inherited through fork
            _inference = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix=INFERENCE_THREAD))
        executor = _inference[1]
    return executor.submit(run, inputs).result()


_batchers: dict[Hashable, MicroBatcher] = {}
_batchers_lock = threading.Lock()


def batcher_for(key: Hashable, make: Callable[[], MicroBatcher]) -> MicroBatcher:
    """The one batcher of `key` (a model directory and its call options) in this process, made by `make` on first
    use only: what a batcher needs to know about its model is looked up once, not on every call."""
    with _batchers_lock:
        if key not in _batchers:
            if len(_batchers) >= 32:
                _batchers.pop(next(iter(_batchers)))
            _batchers[key] = make()
        return _batchers[key]
