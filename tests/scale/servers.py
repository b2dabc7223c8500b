"""Real servers for the tests that need them (tests/scale, marked ``multiserver``) and for
bench/bench_load.py: a PostgreSQL database made for the run (dropped first, migrated, the demo
loaded), gunicorn servers and a ``flask worker``, all on the loopback, all with the same settings —
nothing shared between them but PostgreSQL and Redis.

The database: ``EGIDE_MULTISERVER_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/
egide_multiserver``, created by the run); Redis: ``EGIDE_MULTISERVER_REDIS_URL`` (default
``redis://127.0.0.1:6379/7``, a database number of its own, flushed at the start).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

from tests.scale.client import HOST, Browser

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("EGIDE_MULTISERVER_PG_URL", "postgresql://postgres@127.0.0.1:5432/egide_multiserver")
REDIS_URL = os.environ.get("EGIDE_MULTISERVER_REDIS_URL", "redis://127.0.0.1:6379/7")
# The demo's accounts (flask demo load): one password, one published TOTP key.
DEMO_PASSWORD = "egide-demo-2026"
DEMO_TOTP = "EGIDEDEMOEGIDEDEMOEGIDEDEMOSIIM"
REFERENT = "referent@ivry.example.org"  # referent of Ivry-sur-Seine: password only
DPO = "dpo@siim94.example.org"  # DPO of the SIIM94: password and TOTP


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def base_env(database_url: str, redis_url: str, folder: Path, **extra: str) -> dict[str, str]:
    """The settings every process of the run gets (the same keys: sessions, TOTP secrets and the
    journal's signature are read alike by every server)."""
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "EGIDE_ENV": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "multiserver-secret-key-not-for-production",
        "EGIDE_ENCRYPTION_KEYS": "bXVsdGlzZXJ2ZXItdGVzdC1vbmx5LW5vdC1zZWNyZXQ=",
        "EGIDE_QUEUE_URL": redis_url,
        "EGIDE_RATELIMIT_STORAGE_URI": redis_url,
        "EGIDE_AUDIT_ANCHOR_FILE": str(folder / "audit_anchors.jsonl"),
        "EGIDE_AUDIT_SIGNING_KEY_FILE": str(folder / "audit_signing_key.pem"),
        "EGIDE_LOG_LEVEL": "INFO",  # the logs say which process ran a job
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    for name in ("TEST_DATABASE_URL",):  # the test suite's own database stays out of it
        env.pop(name, None)
    return env


def fresh_database(url: str) -> None:
    """Drop and create the run's database (PostgreSQL only: the point is a shared database)."""
    name = url.rsplit("/", 1)[1]
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unexpected database name {name!r}")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flask(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(  # noqa: S603 — the project's own command
        [str(BIN / "flask"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


def _spawn(name: str, command: list[str], env: dict[str, str], folder: Path) -> Process:
    log = folder / f"{name}.log"
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        popen = subprocess.Popen(  # noqa: S603 — the project's own commands, loopback only
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Process(name, popen, log)


def start_gunicorn(
    name: str, env: dict[str, str], folder: Path, *, workers: int = 2, threads: int = 4
) -> Process:
    port = free_port()
    command = [
        str(BIN / "gunicorn"),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"{HOST}:{port}",
        "--timeout",
        "120",
        "wsgi:app",
    ]
    process = _spawn(name, command, env, folder)
    process.port = port
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{name} did not start:\n{process.log_text()[-3000:]}")
        try:
            if Browser(port, timeout=5).get("/healthz").status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    process.stop()
    raise RuntimeError(f"{name} did not answer within 60 s:\n{process.log_text()[-3000:]}")


def start_worker(env: dict[str, str], folder: Path, *, workers: int = 2) -> Process:
    command = [str(BIN / "flask"), "worker", "--workers", str(workers), "--no-periodic"]
    process = _spawn("worker", command, env, folder)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "Worker Égide" not in process.log_text():
        if process.popen.poll() is not None:
            raise RuntimeError(f"the worker did not start:\n{process.log_text()[-3000:]}")
        time.sleep(0.2)
    return process


@dataclass
class Cluster:
    """Two web servers (``a``, ``b``) and a worker over one PostgreSQL database and one Redis."""

    database_url: str
    redis: Any
    a: Process
    b: Process
    worker: Process
    folder: Path
    processes: list[Process] = field(default_factory=list)

    def sql(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the shared database directly (what the servers wrote, not what they say)."""
        with psycopg.connect(self.database_url) as conn:
            return list(conn.execute(statement, params).fetchall())

    def reset_rate_limits(self) -> None:
        for key in self.redis.scan_iter("LIMITS*"):
            self.redis.delete(key)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_text()[-4000:]}" for p in self.processes)


@contextmanager
def cluster(**settings: str) -> Iterator[Cluster]:
    """The whole set-up, torn down at the end (servers stopped, Redis database flushed)."""
    database_url = PG_URL
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    fresh_database(database_url)
    folder = Path(tempfile.mkdtemp(prefix="egide-multiserver-"))
    env = base_env(database_url, REDIS_URL, folder, **settings)
    flask(env, "db", "upgrade")
    flask(env, "demo", "load")
    started: list[Process] = []
    try:
        a = start_gunicorn("server-a", env, folder)
        started.append(a)
        b = start_gunicorn("server-b", env, folder)
        started.append(b)
        worker = start_worker(env, folder)
        started.append(worker)
        yield Cluster(database_url, store, a, b, worker, folder, started)
    finally:
        for process in reversed(started):
            process.stop()
        store.flushdb()
        store.close()
