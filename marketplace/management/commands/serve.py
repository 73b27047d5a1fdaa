"""`manage.py serve`: the web server and an embedded Celery worker together; Ctrl-C stops both."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server (gunicorn) and a Celery worker (with beat) for the cpu and gpu queues."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--workers",
            type=int,
            default=8,
            help="gunicorn worker threads (concurrent predict calls on one model share forward passes)",
        )
        parser.add_argument("--concurrency", type=int, default=1, help="Celery worker processes")

    def handle(self, *args, port: int, host: str, workers: int, concurrency: int, **options) -> None:
        env = os.environ.copy()
        env.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
        python = sys.executable
        broker = "Redis" if settings.REDIS_URL else f"the embedded filesystem broker in {settings.BROKER_DIR}"
        worker_command = [
            python,
            "-m",
            "celery",
            "-A",
            "marketplace",
            "worker",
            "-Q",
            "cpu,gpu",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"embedded-{os.getpid()}@%h",
            # Embedded beat: the periodic sweep that re-queues jobs whose worker died.
            "--beat",
            "--schedule",
            str(settings.TESSERA_HOME / "celerybeat-schedule"),
        ]
        # The worker runs in its own process group: its pool and beat children die with it, whatever killed it.
        worker = subprocess.Popen(worker_command, env=env, start_new_session=True)
        web = subprocess.Popen(
            [
                python,
                "-m",
                "gunicorn",
                "marketplace.wsgi:application",
                "--config",
                "python:marketplace.gunicorn_conf",
                "--bind",
                f"{host}:{port}",
                "--worker-class",
                "gthread",
                "--threads",
                str(workers),
                "--timeout",
                "300",
                "--access-logfile",
                "-",
            ],
            env=env,
        )
        self.stdout.write(
            self.style.SUCCESS(f"Tessera at http://{host}:{port}/ — worker on {broker}. Ctrl-C stops both.")
        )
        stopping = False

        def stop(*_args) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        restarts: list[float] = []
        try:
            # The web server answering is what matters: a worker that dies (killed, out of memory) is started
            # again, and its jobs come back through the sweep; only the web server's death, or a worker that
            # cannot stay up (5 starts in a minute: a configuration error), ends `serve`.
            while not stopping and web.poll() is None:
                if worker.poll() is not None:
                    restarts = [t for t in restarts if t > time.monotonic() - 60] + [time.monotonic()]
                    if len(restarts) > 5:
                        self.stderr.write("The worker keeps stopping; giving up. Check the log above.")
                        break
                    self.stderr.write(f"The worker stopped (exit code {worker.returncode}); starting it again.")
                    _kill_group(worker.pid)  # a SIGKILLed worker leaves its pool and beat children behind
                    worker = subprocess.Popen(worker_command, env=env, start_new_session=True)
                time.sleep(0.5)
        finally:
            processes = [web, worker]
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 20
            for process in processes:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
            _kill_group(worker.pid)
        failed = [p for p in processes if p.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            sys.exit(1)


def _kill_group(pgid: int) -> None:
    """SIGKILL whatever is left of a process group (nothing, when the worker shut down cleanly)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
