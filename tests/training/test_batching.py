"""Micro-batched predict: concurrent callers share forward passes, and each gets its own answers."""

import threading
import time

import pytest

from training.batching import MicroBatcher, _batchers
from training.registry import BASE_MODELS
from training.trainer import TrainConfig, predict, train_text_classifier


def _concurrently(call, inputs: list) -> list:
    results: list = [None] * len(inputs)
    start = threading.Barrier(len(inputs))

    def worker(index: int) -> None:
        start.wait()
        results[index] = call(inputs[index])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_callers_share_batches_and_each_gets_its_own_answers():
    seen: list[list[int]] = []

    def run(batch: list[int]) -> list[int]:
        seen.append(list(batch))
        time.sleep(0.05)  # a forward pass: callers arriving meanwhile queue for the next batch
        return [x * 10 for x in batch]

    batcher = MicroBatcher(run, max_rows=64, max_wait_s=0.01)
    requests = [[i, i + 100] for i in range(16)]
    answers = _concurrently(batcher, requests)
    assert answers == [[i * 10, (i + 100) * 10] for i in range(16)]
    assert max(batcher.batches) > 1 and sum(batcher.batches) == 16
    assert sorted(x for batch in seen for x in batch) == sorted(x for r in requests for x in r)
    assert batcher([7]) == [70] and batcher.batches[-1] == 1  # a lone caller is served on its own


def test_a_batch_never_exceeds_its_row_limit_and_an_error_reaches_every_caller_of_its_batch():
    sizes: list[int] = []

    def run(batch: list[int]) -> list[int]:
        sizes.append(len(batch))
        time.sleep(0.02)
        return batch

    batcher = MicroBatcher(run, max_rows=5, max_wait_s=0.01)
    assert _concurrently(batcher, [[i, i] for i in range(12)]) == [[i, i] for i in range(12)]
    assert max(sizes) <= 5

    def broken(batch: list[int]) -> list[int]:
        raise ValueError("the model is gone")

    failing = MicroBatcher(broken, max_wait_s=0.01)
    errors = _concurrently(lambda x: _raised(failing, x), [[i] for i in range(6)])
    assert errors == ["the model is gone"] * 6


def test_under_load_a_batch_waits_for_as_many_callers_as_the_batch_before_and_a_lone_caller_never_waits():
    release = threading.Event()

    def run(batch: list[int]) -> list[int]:
        release.wait(timeout=10)  # the first batch holds until two more callers have queued behind it
        return batch

    batcher = MicroBatcher(run, max_wait_s=10.0)
    first = threading.Thread(target=batcher, args=([0],))
    first.start()
    while batcher.batches != [1]:
        time.sleep(0.005)
    behind = [threading.Thread(target=batcher, args=([i],)) for i in (1, 2)]
    for thread in behind:
        thread.start()
    while len(batcher._queue) < 2:
        time.sleep(0.005)
    release.set()
    for thread in [first, *behind]:
        thread.join(timeout=10)
    assert batcher.batches == [1, 2]
    # Two callers 50 ms apart: the batch before served two, so the first waits for the second and they share one.
    late = threading.Thread(target=lambda: (time.sleep(0.05), batcher([4])))
    late.start()
    assert batcher([3]) == [3]
    late.join(timeout=10)
    assert batcher.batches == [1, 2, 2]
    # The wait is capped: a lone caller after a batch of two waits at most max_wait_s.
    batcher.max_wait_s = 0.05
    assert batcher([5]) == [5] and batcher.batches == [1, 2, 2, 1]
    # After a batch of one nobody waits, however long the cap: a caller 200 ms behind another gets its own batch.
    batcher.max_wait_s = 10.0
    late = threading.Thread(target=lambda: (time.sleep(0.2), batcher([7])))
    late.start()
    assert batcher([6]) == [6]
    late.join(timeout=30)
    assert batcher.batches == [1, 2, 2, 1, 1, 1]


def test_every_models_batches_run_on_one_inference_thread():
    """A thread per model gave each model its own team of CPU threads, and a second model slowed the first for
    good: all batches, whichever model's, run on the process's one inference thread."""
    threads: list[int] = []

    def run(batch: list[int]) -> list[int]:
        threads.append(threading.get_ident())
        return batch

    first, second = MicroBatcher(run), MicroBatcher(run)
    assert first([1]) == [1] and second([2]) == [2] and first([3]) == [3]
    assert len(threads) == 3 and len(set(threads)) == 1
    assert threads[0] not in {first._thread.ident, second._thread.ident, threading.get_ident()}


def _raised(batcher: MicroBatcher, inputs: list) -> str:
    with pytest.raises(ValueError) as info:
        batcher(inputs)
    return str(info.value)


def test_predict_under_concurrency_answers_each_caller_as_it_would_alone(tmp_path):
    texts = ["great product, love it", "terrible, broke in a day", "works great", "awful support"] * 6
    labels = ["great", "other", "great", "other"] * 6
    config = TrainConfig(epochs=1, batch_size=4, learning_rate=1e-3)
    train_text_classifier(BASE_MODELS["tiny-random-bert"], texts, labels, texts[:4], labels[:4], tmp_path, config)
    queries = [[f"review number {i}: {'love it' if i % 2 else 'broke'}"] for i in range(12)]
    alone = [predict(tmp_path, query) for query in queries]
    together = _concurrently(lambda query: predict(tmp_path, query), queries)
    # Padding to a batch's longest text changes the arithmetic, not the answer: same labels, scores to 1e-3.
    assert [[p["label"] for p in answer] for answer in together] == [[p["label"] for p in answer] for answer in alone]
    pairs = zip([a[0]["score"] for a in together], [a[0]["score"] for a in alone], strict=True)
    assert all(abs(x - y) < 1e-3 for x, y in pairs)
    batcher = _batchers[(str(tmp_path.resolve()), 128, 64)]
    assert max(batcher.batches) > 1  # the concurrent calls did share forward passes


def test_bench_compares_the_same_reviews_alone_and_in_calls_of_n(monkeypatch):
    from pathlib import Path
    from types import SimpleNamespace

    from training.management.commands import bench_compute

    # A model whose every call costs 10 ms plus 1 ms per review, on a clock that only predict moves.
    clock = SimpleNamespace(now=0.0)
    calls: list[list[str]] = []

    def fake_predict(directory, inputs):
        calls.append(list(inputs))
        clock.now += 0.010 + 0.001 * len(inputs)
        return inputs

    monkeypatch.setattr(bench_compute, "predict", fake_predict)
    monkeypatch.setattr(bench_compute, "time", SimpleNamespace(perf_counter=lambda: clock.now))
    texts = [f"review {i}" for i in range(5)]

    measured = bench_compute._batched_vs_alone(Path("model"), texts, rows=4, calls=8)

    reviews = [texts[i % 5] for i in range(8)]
    assert calls == [reviews[:4], *[[r] for r in reviews], reviews[:4], reviews[4:]]  # warm-up, alone, in fours
    # Alone: 11 ms a review; in fours: 14 ms a call, 3.5 ms a review.
    assert measured == {"ms_per_review_alone": 11.0, "ms_per_review_in_4": 3.5, "ratio": 3.14}
