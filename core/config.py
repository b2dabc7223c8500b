"""Configuration classes.

Values come from the classes below, then from the environment: ``DATABASE_URL`` and ``SECRET_KEY``
(the names operators expect), then any ``EGIDE_*`` variable (``EGIDE_MAIL_SERVER=…`` sets ``MAIL_SERVER``).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def normalise_database_url(url: str) -> str:
    """Accept the URL forms hosting providers hand out and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def instance_secret_key(instance_path: str) -> str:
    """Read the secret key kept in ``instance/secret_key``, creating it on first run.

    The file is created with mode 0600 and is never committed (``instance/`` is git-ignored).
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class BaseConfig:
    ENV_NAME = "base"
    DATABASE_URL = "sqlite:///egide.sqlite3"  # relative paths live in instance/
    SECRET_KEY: str | None = None

    # Sessions (ASVS V3): Flask's defaults are 31 days and SameSite=None.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = timedelta(hours=12)
    REMEMBER_COOKIE_HTTPONLY = True

    # Requests: a register import of 20 MiB (registers.services.exchange.reading) and its form;
    # larger bodies get the 413 page.
    MAX_CONTENT_LENGTH = 21 * 1024 * 1024

    WTF_CSRF_TIME_LIMIT = 8 * 3600
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    # The app's root folder is core/; the catalogues live at the top of the project.
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "translations")
    LANGUAGES = ("fr", "en")

    # Sessions held server-side (accounts.services.auth): re-authenticate after 30 min idle or 12 h
    # (ASVS 3.3.2).
    SESSION_IDLE_MINUTES = 30
    SESSION_ABSOLUTE_HOURS = 12
    # Brute force: lock after this many failures in a row, for 1, 2, 4 … minutes, at most 60.
    LOGIN_LOCK_AFTER = 5
    LOGIN_LOCK_MAX_MINUTES = 60
    LOGIN_RATE_LIMIT = "20 per minute;200 per hour"  # per IP, on top of the per-account lockout
    API_RATE_LIMIT = "600 per minute"  # per IP, every /api/v1 endpoint (core.api)
    RESET_TOKEN_HOURS = 2
    INVITATION_TOKEN_DAYS = 7
    MAIL_SERVER: str | None = None
    MAIL_DEFAULT_SENDER = "egide@localhost"
    ENCRYPTION_KEYS: str | None = None
    # Audit trail: the head of each chain is signed every N entries (and by `flask audit anchor`).
    AUDIT_ANCHOR_EVERY = 100
    # … and without any operator (core/audit/anchoring.py): on the commit that appends to
    # a chain with no anchor or a last anchor older than the max age (a timedelta, or seconds), and by
    # a sweep after requests, at most every AUDIT_ANCHOR_SWEEP_MINUTES per process.
    AUDIT_AUTO_ANCHOR = True
    AUDIT_ANCHOR_MAX_AGE = timedelta(hours=24)
    AUDIT_ANCHOR_SWEEP_MINUTES = 10
    # Every anchor is also appended here, outside the database (relative: in instance/); None: off.
    AUDIT_ANCHOR_FILE: str | None = "audit_anchors.jsonl"

    # Background jobs (core.jobs): EGIDE_QUEUE_URL=redis://… in production; unset, a SQLite file
    # in instance/. A failed job is tried again JOB_RETRIES times, after 60 s, then 120 s, 240 s…
    QUEUE_URL: str | None = None
    QUEUE_FILE = "egide-queue.sqlite3"
    QUEUE_IMMEDIATE = False
    JOB_RETRIES = 3
    JOB_RETRY_DELAY = 60
    JOB_RETRY_BACKOFF = 2

    # A register of this many fiches or more is printed by a background job (registers.documents);
    # 0: always.
    REGISTER_PDF_JOB_THRESHOLD = 100

    # Evidence store (audits.evidence): the key ring (EGIDE_KEY_DIR; None: instance/keys) and the
    # encrypted files (EGIDE_EVIDENCE_DIR; None: instance/evidence), both outside the database; the
    # largest file accepted (EGIDE_EVIDENCE_MAX_BYTES).
    KEY_DIR: str | None = None
    EVIDENCE_DIR: str | None = None
    EVIDENCE_MAX_BYTES = 50 * 1024 * 1024
    # Signatures (reports.signing): certificate and pack key in SIGNING_DIR (relative: in instance/;
    # None: instance/signing), made by `flask signing init`; or the syndicate's own PKCS#12.
    SIGNING_DIR: str | None = None
    SIGNING_P12: str | None = None
    SIGNING_P12_PASSWORD: str | None = None
    # Evidence packs (audits.packs): ZIP files in PACK_DIR (None: instance/packs), kept PACK_EXPIRY_DAYS.
    PACK_DIR: str | None = None
    PACK_EXPIRY_DAYS = 30

    PAGE_SIZE = 25
    MAX_PAGE_SIZE = 200

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_DEFAULT = None
    SQL_ECHO = False

    # Logging (core.logs): "json" lines in production, readable "text" elsewhere; stderr unless a file.
    LOG_FORMAT: str | None = None
    LOG_LEVEL = "INFO"
    LOG_FILE: str | None = None


class DevConfig(BaseConfig):
    ENV_NAME = "development"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False


class TestConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    # A file, not ":memory:": Flask-Alembic invalidates its connection after migrating, which would
    # drop an in-memory database. One file per process; the test session deletes it at the end.
    DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tempfile.gettempdir()}/egide-test-{os.getpid()}.sqlite3"
    )
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105 — test only
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_ENABLED = False
    # Rate limiting stays on, so that it is tested; the suite logs in often from one address.
    LOGIN_RATE_LIMIT = "100000 per minute"
    API_RATE_LIMIT = "100000 per minute"
    AUDIT_ANCHOR_EVERY = 0  # tests place their anchors themselves (see tests/core/test_audit.py)
    AUDIT_AUTO_ANCHOR = False  # … unless they switch it on (tests/core/test_audit_blind_spots.py)
    AUDIT_ANCHOR_FILE = None  # the test database is rolled back: tests give their own file
    QUEUE_IMMEDIATE = True  # jobs run when enqueued, in memory (retries wait: tests run them)
    AUDIT_SIGNING_KEY_FILE = os.path.join(tempfile.gettempdir(), f"egide-test-audit-key-{os.getpid()}.pem")
    # Cheap hashes so that the suite's many logins stay fast; never outside tests.
    ARGON2_PARAMS = {"time_cost": 1, "memory_cost": 64, "parallelism": 1}
    ENCRYPTION_KEYS = "Zm9yLXRlc3RzLW9ubHktbm90LWEtc2VjcmV0LWtleSE="
    # The evidence store's key ring and files: in the temporary folder, never in the repository's
    # instance/ (tests/audits/evidence/conftest.py gives each test its own folders).
    KEY_DIR = os.path.join(tempfile.gettempdir(), f"egide-test-keys-{os.getpid()}")
    EVIDENCE_DIR = os.path.join(tempfile.gettempdir(), f"egide-test-evidence-{os.getpid()}")
    SIGNING_DIR = os.path.join(tempfile.gettempdir(), f"egide-test-signing-{os.getpid()}")
    PACK_DIR = os.path.join(tempfile.gettempdir(), f"egide-test-packs-{os.getpid()}")


class ProdConfig(BaseConfig):
    ENV_NAME = "production"
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS = {"development": DevConfig, "testing": TestConfig, "production": ProdConfig}


def config_for_environment() -> type[BaseConfig]:
    return CONFIGS.get(os.environ.get("EGIDE_ENV", "development"), DevConfig)
