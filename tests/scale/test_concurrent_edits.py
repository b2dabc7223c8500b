"""Nothing lost under concurrency (issue 13), on PostgreSQL, through the real servers: 50 sessions
make 1,000 edits of 20 fiches, each a real form POST carrying the version the session last read,
sent to either of two gunicorn servers. Every edit either lands (the redirect to the fiche) or gets
the conflict page (409); then each fiche holds its last accepted edit, and the journal has exactly
one entry per accepted edit, chained before → after without a gap (0 lost updates, 0 phantom
entries).

Run with ``make test-multiserver`` (see tests/scale/servers.py).
"""

from __future__ import annotations

import itertools
import random
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.scale.client import Browser
from tests.scale.servers import DEMO_PASSWORD, REFERENT, Cluster

pytestmark = pytest.mark.multiserver

SESSIONS = 50
EDITS = 1000
FICHES = 20


@dataclass(frozen=True)
class Edit:
    session: int
    fiche: int
    version: int  # the version the session read and posted
    value: str  # the name it wrote
    status: int  # 302: landed; 409: the conflict page


def _fiches(cluster: Cluster) -> list[int]:
    """20 fiches of Ivry-sur-Seine's register (the referent's organisation), not models, not archived."""
    rows = cluster.sql(
        "SELECT pa.id FROM processing_activities pa "
        "JOIN memberships m ON m.organisation_id = pa.organisation_id JOIN users u ON u.id = m.user_id "
        "WHERE u.email = %s AND m.revoked_at IS NULL "
        "AND pa.is_model IS FALSE AND pa.status <> 'archived' ORDER BY pa.id",
        REFERENT,
    )
    ids = [row[0] for row in rows]
    assert len(ids) >= FICHES, f"the demo gives Ivry {len(ids)} fiches"
    return ids[:FICHES]


def test_a_thousand_concurrent_edits_lose_nothing_and_journal_each_once(cluster: Cluster) -> None:
    cluster.reset_rate_limits()
    ports = (cluster.a.port, cluster.b.port)
    fiches = _fiches(cluster)
    (last_event,) = cluster.sql("SELECT coalesce(max(id), 0) FROM audit_events")[0]
    start_versions = dict(
        cluster.sql("SELECT id, version FROM processing_activities WHERE id = ANY(%s)", fiches)
    )

    browsers = []
    for number in range(SESSIONS):
        cluster.reset_rate_limits()  # 50 logins from one address: more than the login rate limit
        browser = Browser(ports[number % 2])
        browser.log_in(REFERENT, DEMO_PASSWORD)  # 50 sessions of their own, on either server
        browsers.append(browser)
    cluster.reset_rate_limits()

    edits: list[Edit] = []
    failures: list[str] = []
    lock = threading.Lock()

    def run(number: int) -> None:
        rng = random.Random(number)
        browser = browsers[number]
        for k in range(EDITS // SESSIONS):
            fiche = rng.choice(fiches)
            page = browser.get(f"/registers/activities/{fiche}/edit", port=rng.choice(ports))
            if page.status != 200:
                with lock:
                    failures.append(f"GET {fiche}: {page.status}")
                continue
            form = page.form(f"/registers/activities/{fiche}/edit")
            version = int(form.value("version") or 0)
            value = f"Fiche {fiche} — session {number:02d} édition {k:02d}"
            answer = browser.post(form.action, form.values(name=value), port=rng.choice(ports))
            with lock:
                if answer.status in (302, 409):
                    edits.append(Edit(number, fiche, version, value, answer.status))
                else:
                    failures.append(f"POST {fiche} v{version}: {answer.status} {answer.text[:300]}")
                if answer.status == 409:
                    assert 'id="conflict"' in answer.text  # the conflict page, with both versions

    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        list(pool.map(run, range(SESSIONS)))

    assert failures == [], failures[:10]
    assert len(edits) == EDITS
    outcome = Counter(e.status for e in edits)
    assert outcome[302] > 0
    assert outcome[409] > 0  # 50 sessions on 20 fiches do collide: the conflict page was seen
    print(f"\n{outcome[302]} edits landed, {outcome[409]} conflict pages")

    final = {
        row[0]: (row[1], row[2])
        for row in cluster.sql(
            "SELECT id, name, version FROM processing_activities WHERE id = ANY(%s)", fiches
        )
    }
    journal: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for object_id, changes in cluster.sql(
        "SELECT e.object_id, p.data -> 'changes' -> 'name' FROM audit_events e "
        "JOIN audit_payloads p ON p.event_id = e.id WHERE e.id > %s AND e.action = 'activity.update' "
        "AND e.object_type = 'ProcessingActivity' AND e.object_id = ANY(%s) ORDER BY e.chain, e.seq",
        last_event,
        fiches,
    ):
        journal[object_id].append((changes[0], changes[1]))

    for fiche in fiches:
        landed = sorted((e for e in edits if e.fiche == fiche and e.status == 302), key=lambda e: e.version)
        # No two accepted edits were made from the same version: none overwrote another unseen.
        assert len({e.version for e in landed}) == len(landed), fiche
        name, version = final[fiche]
        if landed:
            assert name == landed[-1].value, fiche  # the last accepted edit is what the fiche holds
            assert landed[0].version >= start_versions[fiche]
        assert version >= start_versions[fiche] + len(landed)
        entries = journal[fiche]
        # Exactly one journal entry per accepted edit, in the order they were accepted, each
        # starting from what the previous one wrote.
        assert [after for _before, after in entries] == [e.value for e in landed], fiche
        for previous, current in itertools.pairwise(entries):
            assert current[0] == previous[1], fiche
