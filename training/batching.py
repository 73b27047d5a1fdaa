"""Micro-batching for predict: concurrent callers of one model share forward passes.

A web process serves predict from several threads. Without batching each request runs its own forward pass, and
concurrent passes only fight over the same cores. Here each model has one batch thread: callers queue their inputs
and sleep; the thread takes every queued request up to `max_rows` rows, runs them as one batch and hands each
caller its own slice of the answer. Callers that arrive while a batch runs go in the next one, so the batches grow
with the load and a lone caller waits for nothing (`max_wait_s` can add a short gathering wait).

Django-free: `run` is any function from a list of inputs to a list of outputs of the same length, in order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
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
        self.max_wait_s = max_wait_s  # 0: no wait; batches form from the callers that queue while one runs
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
        """The one thread that runs this model's batches: PyTorch's CPU thread pool belongs to the thread that
        calls it, and a model called from a different request thread each time ran a single text about twice as
        slowly as from one thread."""
        while True:
            with self._state:
                while not self._queue:
                    self._state.wait()
            if self.max_wait_s:
                time.sleep(self.max_wait_s)  # let the callers that arrive together join this batch
            self._run_batch()

    def _run_batch(self) -> None:
        with self._state:
            batch: list[_Request] = []
            rows = 0
            while self._queue and (not batch or rows + len(self._queue[0].inputs) <= self.max_rows):
                request = self._queue.pop(0)
                batch.append(request)
                rows += len(request.inputs)
        if not batch:
            return
        self.batches = [*self.batches[-999:], len(batch)]
        try:
            outputs = self.run([x for request in batch for x in request.inputs])
            if len(outputs) != rows:
                raise RuntimeError(f"the batch returned {len(outputs)} outputs for {rows} inputs")
        except BaseException as exc:  # every caller of the batch gets the error, none waits forever
            for request in batch:
                request.error = exc
                request.done.set()
            return
        start = 0
        for request in batch:
            request.result = outputs[start : start + len(request.inputs)]
            start += len(request.inputs)
            request.done.set()


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
