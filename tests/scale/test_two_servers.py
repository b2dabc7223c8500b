"""Servers that share nothing (issue 13): two gunicorn servers on two ports over one PostgreSQL
database and one Redis, and a ``flask worker`` started apart. A person logs in on one and goes on
on the other; an import previewed on one is confirmed on the other; the login rate limit counts
the attempts made on both; a job queued by one server is run by the worker.

Run with ``make test-multiserver`` (PostgreSQL and Redis on the loopback; see tests/scale/servers.py).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
import pytest

from tests.scale.client import Browser
from tests.scale.conftest import LOGIN_LIMIT
from tests.scale.servers import DEMO_PASSWORD, DEMO_TOTP, DPO, REFERENT, Cluster

pytestmark = pytest.mark.multiserver

FIXTURES = Path(__file__).resolve().parents[1] / "registers" / "fixtures"


def test_a_session_opened_on_one_server_goes_on_on_the_other(cluster: Cluster) -> None:
    cluster.reset_rate_limits()
    a, b = cluster.a.port, cluster.b.port
    browser = Browser(a)
    # Password on A, second factor on B, pages on both: the session lives in the database.
    browser.log_in(DPO, DEMO_PASSWORD, totp=pyotp.TOTP(DEMO_TOTP), second_port=b)
    for port in (b, a, b):
        home = browser.get("/", port=port)
        assert home.status == 200, home.text[:500]
        assert "Se déconnecter" in home.text
    # A form read on A is accepted on B (the CSRF token is in the signed session cookie): the
    # language chosen on B is the one A shows.
    assert browser.submit(browser.get("/account/", port=a), "/language", port=b, lang="en").status == 302
    assert '<html lang="en">' in browser.get("/", port=a).text
    # Logged out on B: A refuses the session at once.
    logout = browser.get("/account/", port=b)
    assert browser.submit(logout, "/logout", port=b).status == 302
    after = browser.get("/", port=a)
    assert after.status == 302
    assert after.location == "/login"


def test_an_import_previewed_on_one_server_is_confirmed_on_the_other(cluster: Cluster) -> None:
    cluster.reset_rate_limits()
    a, b = cluster.a.port, cluster.b.port
    browser = Browser(a)
    browser.log_in(REFERENT, DEMO_PASSWORD)
    before = cluster.sql("SELECT count(*) FROM processing_activities")[0][0]
    upload = browser.get("/registers/import")
    form = upload.form("/registers/import")
    content = (FIXTURES / "cnil_registre.csv").read_bytes()
    sent = browser.request(
        "POST", "/registers/import", data=form.values(), files={"file": ("registre.csv", content, "text/csv")}
    )
    assert sent.status == 302, sent.text[:2000]
    detail = sent.location
    assert re.fullmatch(r"/registers/import/\d+", detail)
    # The mapping page on B, the preview on A, the confirmation on B.
    mapping = browser.get(detail, port=b)
    assert mapping.status == 200
    preview = browser.submit(mapping, f"{detail}/preview", port=a)
    assert preview.status == 200, preview.text[:2000]
    confirmed = browser.submit(preview, f"{detail}/confirm", port=b)
    assert confirmed.status == 302, confirmed.text[:2000]
    result = browser.get(confirmed.location, port=a)
    assert "Import terminé" in result.text
    created = int(re.search(r"Import terminé : (\d+) fiche", result.text)[1])  # type: ignore[index]
    assert created > 0
    assert cluster.sql("SELECT count(*) FROM processing_activities")[0][0] == before + created
    # The file's cells were kept in the database while pending, nowhere else; cleared once imported.
    ((status, payload),) = cluster.sql(
        "SELECT status, payload IS NULL FROM register_imports WHERE id = %s", int(detail.rsplit("/", 1)[1])
    )
    assert (status, payload) == ("imported", True)


def test_the_login_rate_limit_counts_the_attempts_on_both_servers(cluster: Cluster) -> None:
    cluster.reset_rate_limits()
    try:
        ports = [cluster.a.port, cluster.b.port]
        statuses: list[tuple[int, int]] = []
        for attempt in range(LOGIN_LIMIT + 4):
            port = ports[attempt % 2]
            browser = Browser(port)
            page = browser.get("/login")
            answer = browser.submit(page, "/login", email="personne@example.org", password="mauvais")
            statuses.append((port, answer.status))
        # Each server and each of its workers alone saw fewer attempts than the limit: only a count
        # shared in Redis refuses the eleventh.
        assert [s for _p, s in statuses[:LOGIN_LIMIT]] == [200] * LOGIN_LIMIT
        assert statuses[LOGIN_LIMIT:] == [(p, 429) for p, _s in statuses[LOGIN_LIMIT:]]
        assert {p for p, _s in statuses[LOGIN_LIMIT:]} == set(ports)  # refused by both
    finally:
        cluster.reset_rate_limits()


def test_a_job_queued_by_one_server_is_run_by_the_worker_started_apart(cluster: Cluster) -> None:
    cluster.reset_rate_limits()
    a, b = cluster.a.port, cluster.b.port
    browser = Browser(a)
    browser.log_in(REFERENT, DEMO_PASSWORD)
    documents = browser.get("/reports/")
    queued = browser.submit(documents, "/registers/documents/register")
    assert queued.status == 302
    assert queued.location == "/reports/"
    ((job_id, status),) = cluster.sql("SELECT id, status FROM document_jobs ORDER BY id DESC LIMIT 1")
    # Followed on B, as the page's htmx does, until the worker has built it.
    deadline = time.monotonic() + 90
    while True:
        polled = browser.get(f"/reports/jobs/{job_id}", port=b, headers={"HX-Request": "true"})
        assert polled.status == 200
        if polled.headers.get("HX-Refresh") == "true":
            break
        assert time.monotonic() < deadline, f"job {job_id} still {status}:\n{cluster.logs()}"
        time.sleep(0.5)
    ((status, report_id),) = cluster.sql("SELECT status, report_id FROM document_jobs WHERE id = %s", job_id)
    assert status == "done"
    download = browser.get(f"/reports/{report_id}/download", port=b)
    assert download.status == 200
    assert download.body.startswith(b"%PDF-")
    # Run by the worker (its own process, its own log), not by a web server.
    ((run_status,),) = cluster.sql(
        "SELECT status FROM job_runs WHERE task_name = 'registers.register_pdf' AND arguments::text = %s",
        f"[{job_id}]",
    )
    assert run_status == "done"
    assert "registers.register_pdf" in cluster.worker.log_text()
    assert "registers.register_pdf" not in cluster.a.log_text() + cluster.b.log_text()
