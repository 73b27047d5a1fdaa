"""Micro-batching for predict: concurrent callers of one model share forward passes.

A web process serves predict from several threads. Without batching each request runs its own forward pass, and
concurrent passes only fight over the same cores. Here the first caller to find the model idle leads: it waits a
moment (`max_wait_s`) for others to queue, takes every queued request up to `max_rows` rows, runs them as one
batch and hands each caller its own slice of the answer. Callers that arrive while a batch runs queue up and go in
the next one, so the batches grow with the load and a lone caller pays only the short wait.

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
    def __init__(self, run: Callable[[list[Any]], list[Any]], *, max_rows: int = 256, max_wait_s: float = 0.005):
        self.run = run
        self.max_rows = max_rows
        self.max_wait_s = max_wait_s
        self._queue: list[_Request] = []
        self._queue_lock = threading.Lock()
        self._busy = threading.Lock()  # held by the leader while it gathers and runs one batch
        self.batches: list[int] = []  # requests per batch run, the last 1,000 (for tests and measurements)

    def __call__(self, inputs: list[Any]) -> list[Any]:
        request = _Request(list(inputs))
        with self._queue_lock:
            self._queue.append(request)
        while not request.done.is_set():
            if self._busy.acquire(blocking=False):
                try:
                    if not request.done.is_set():
                        self._lead()
                finally:
                    self._busy.release()
            else:
                request.done.wait(self.max_wait_s)
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _lead(self) -> None:
        time.sleep(self.max_wait_s)  # let the callers that arrive together join this batch
        with self._queue_lock:
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


def batcher_for(key: Hashable, run: Callable[[list[Any]], list[Any]], **options: Any) -> MicroBatcher:
    """The one batcher of `key` (a model directory and its call options) in this process, made on first use."""
    with _batchers_lock:
        if key not in _batchers:
            if len(_batchers) >= 32:
                _batchers.pop(next(iter(_batchers)))
            _batchers[key] = MicroBatcher(run, **options)
        return _batchers[key]
