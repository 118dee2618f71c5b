"""The app's processes for fault tests: a private redis-server on a free port (never the
shared one), gunicorn, Celery workers and beats, all on the test database, each one
killable with SIGKILL at the moment a test chooses."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests
from django.conf import settings
from django.db import connection

BIN = Path(sys.executable).parent
WEB = ["--workers", "1", "--threads", "4", "--timeout", "120"]
CELERY = [str(BIN / "celery"), "-A", "shopcrm"]
WORKER = ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test only, without persistence: killing it loses every
    queued task, the worst case of a broker failure."""

    def __init__(self, workdir: Path):
        self.port, self.workdir = free_port(), workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(self.is_up, timeout=15), "the private redis-server did not start"
        return self

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)

    def is_up(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def pushes(self) -> int:
        """Messages published so far (kombu's Redis transport publishes with LPUSH)."""
        stats = self.client().info("commandstats")
        return stats.get("cmdstat_lpush", {}).get("calls", 0)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


class App:
    """gunicorn, Celery workers and beats with REDIS_URL set to ``redis_url``."""

    def __init__(self, redis_url: str, workdir: Path):
        database = connection.settings_dict
        credentials = f"{database['USER']}:{database['PASSWORD'] or ''}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "shopcrm.settings",
            "DATABASE_URL": f"postgres://{credentials}@{database['HOST']}:{database['PORT']}"
            f"/{database['NAME']}",
            "REDIS_URL": redis_url,
            "SHOPCRM_DATA_DIR": str(workdir),
            "SMS_BACKEND": "messaging.backends.ConsoleBackend",
        }
        self.env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        self.workdir = workdir
        self.processes: list[subprocess.Popen] = []

    def _start(self, args: list[str], log: str) -> subprocess.Popen:
        output = open(self.workdir / log, "ab")  # noqa: SIM115  (closed with the process)
        process = subprocess.Popen(
            args, cwd=settings.BASE_DIR, env=self.env, stdout=output, stderr=subprocess.STDOUT
        )
        process.log = output
        self.processes.append(process)
        return process

    def web(self) -> str:
        port = free_port()
        self._start(
            [str(BIN / "gunicorn"), "shopcrm.wsgi", "--bind", f"127.0.0.1:{port}", *WEB],
            "web.log",
        )
        url = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: answers(f"{url}/healthz"), timeout=60), self.log("web.log")
        return url

    def worker(self, name: str = "w1", concurrency: int = 2) -> subprocess.Popen:
        return self._start(
            [*CELERY, "worker", *WORKER, "-c", str(concurrency), "-n", f"{name}@localhost"],
            f"worker-{name}.log",
        )

    def beat(self, name: str = "b1") -> subprocess.Popen:
        return self._start(
            [
                *CELERY,
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.workdir / f"beat-{name}"),
            ],
            f"beat-{name}.log",
        )

    def log(self, name: str) -> str:
        path = self.workdir / name
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            process.log.close()


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait_for(predicate, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
