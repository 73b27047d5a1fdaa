"""`manage.py serve` starts the web server and a worker together, and Ctrl-C stops both."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, manage_py

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _workers_of(home: Path) -> set[int]:
    """Live Celery processes of the serve whose TESSERA_HOME is `home` (its beat schedule file lies there)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes()
                if b"celery" in cmdline and str(home).encode() in cmdline:
                    if "zombie" not in (entry / "status").read_text().lower():
                        found.add(int(entry.name))
    return found


def _kill_leftovers(pids) -> None:
    """Nothing outlives a test, even when serve had to be killed: its web server and workers, recognised by their
    command line (a pid reused by another program is left alone)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"celery" in cmdline or b"gunicorn" in cmdline:
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)  # a worker leads its own process group (its pool and beat children)


def _wait_until(predicate, seconds: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def _health(port: int) -> bytes | None:
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health/", timeout=2).read()
    except OSError:
        return None


def _start_serve(home: Path) -> tuple[subprocess.Popen, int]:
    """`manage.py serve` on a fresh SQLite database in `home`, once its health endpoint answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"TESSERA_HOME": str(home), "DJANGO_SETTINGS_MODULE": "marketplace.settings"})
    migrated = manage_py("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    serve = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # never read: a full pipe would block serve and its children
        stderr=subprocess.DEVNULL,
    )
    _wait_until(lambda: _health(port) is not None, 60)
    return serve, port


def _stop_serve(serve: subprocess.Popen, home: Path, pids) -> None:
    if serve.poll() is None:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=40)
        except subprocess.TimeoutExpired:
            serve.kill()
    _kill_leftovers({*pids, *_workers_of(home)})


def test_serve_answers_health_and_ctrl_c_stops_web_and_worker(tmp_path):
    serve, port = _start_serve(tmp_path)
    children: list[int] = []
    try:
        assert _health(port) == b'{"status":"ok"}'
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.headers.get("Server") is None  # gunicorn's banner names the server and its release
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        children = _children(serve.pid)
        assert len(children) == 2  # gunicorn master and the celery worker

        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=40) == 0
        time.sleep(0.5)
        for child in children:
            assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text().lower()
    finally:
        _stop_serve(serve, tmp_path, children)


def test_serve_starts_a_killed_worker_again_and_the_web_keeps_answering(tmp_path):
    serve, port = _start_serve(tmp_path)
    seen: set[int] = set()
    try:
        before = set(_children(serve.pid))
        seen |= before
        worker = next(pid for pid in before if "celery" in Path(f"/proc/{pid}/cmdline").read_text())
        # Fully up: its pool process and its embedded beat process are running.
        assert _wait_until(lambda: len(_children(worker)) >= 2, 60)

        os.kill(worker, signal.SIGKILL)
        _wait_until(lambda: bool(set(_children(serve.pid)) - before), 30)

        assert serve.poll() is None and _health(port) == b'{"status":"ok"}'
        restarted = set(_children(serve.pid)) - before
        seen |= restarted
        assert len(restarted) == 1
        new_worker = restarted.pop()
        assert "celery" in Path(f"/proc/{new_worker}/cmdline").read_text()
        # Nothing of the killed worker is left: its pool and beat children went with it (they would otherwise
        # linger, orphaned, holding the database and the queue).
        assert _wait_until(lambda: not _workers_of(tmp_path) - {new_worker, *_children(new_worker)}, 10, 0.2)
    finally:
        _stop_serve(serve, tmp_path, seen)
