"""Demo registers: the syndicates' models, each organisation's register, rights requests, breaches.

Content comes from ``core/data/demo_registers.json``:

* ``models``: fiches written once by the syndicate's DPO on shared applications; creating them gives
  every subscribing member its inherited entry (``registers.services.inheritance``). Then one city
  overrides a field (``overrides``) and the DPO publishes a change (``model_update``), so the five
  SIIM94 founding cities see "model changed" and Ivry's diff shows its override.
* ``pool``: typical processings of local authorities, picked per organisation (by kind, or by name)
  with a ``random.Random`` seeded by the organisation's name, so that every organisation has 10-30
  fiches with a realistic mix of statuses, a few incomplete ones and some reviews overdue.
* ``rights_requests`` and ``breaches``: a few requests per organisation (one overdue and one due
  this week where it matters) and one breach each, dated relative to the day of loading; Ivry's
  breach was discovered a few hours ago, its 72 h clock running.

Idempotent: fiches are looked up by (organisation, reference) and requests by (organisation,
requester); an organisation that has a breach gets no other. What exists is left alone, so a
second run changes nothing.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from accounts.models import Membership, Organisation, User
from catalogue.models import Application, Subscription
from core.data import load_json
from core.db import today, utcnow
from core.extensions import db
from core.security import Role
from core.tenancy import UNSCOPED
from registers.models import ActivityStatus, Breach, ProcessingActivity, Processor, RightsRequest
from registers.services import activities as acts
from registers.services import inheritance

SEED = "egide-demo-registers"
UPDATED_MODEL_CITIES = ("Arcueil", "Gentilly", "Ivry-sur-Seine", "Villejuif", "Vitry-sur-Seine")
OPEN_BREACH_ORG = "Ivry-sur-Seine"
BUSY_RIGHTS = {  # organisations whose DPO has something urgent on the portfolio
    "SIIM94": ("overdue", "due_week", "answered", "extended"),
    "Ivry-sur-Seine": ("overdue", "due_week", "answered"),
    "EPT Grand-Orly Seine Bièvre (GOSB)": ("due_week", "answered", "open"),
}
OTHER_RIGHTS = ("open", "extended", "refused", "portability", "due_week", "overdue")


# --- helpers -------------------------------------------------------------------------------------


def _rng(*parts: Any) -> random.Random:
    return random.Random(":".join([SEED, *map(str, parts)]))  # noqa: S311 — demo data, not security


def _fill(value: Any, names: dict[str, str]) -> Any:
    """Replace ``{syndicate}`` / ``{org}`` in every string of a JSON value."""
    if isinstance(value, str):
        for key, name in names.items():
            value = value.replace("{" + key + "}", name)
        return value
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def _content(
    item: dict[str, Any], org: Organisation, syndicate: Organisation, presets: dict[str, Any]
) -> dict[str, Any]:
    """A fiche's content from a JSON item: presets expanded, names filled in, recipients linked."""
    data = {k: copy.deepcopy(v) for k, v in item.items() if k in acts.CONTENT_FIELDS}
    measures = data.get("security_measures")
    if isinstance(measures, str) and measures.startswith("preset:"):
        data["security_measures"] = copy.deepcopy(presets[measures.removeprefix("preset:")])
    data = _fill(data, {"syndicate": syndicate.name, "org": org.name})
    for row in data.get("recipients", ()):
        link = row.pop("organisation", None)
        row["organisation_id"] = syndicate.id if link == "syndicate" else None
    return data


def _syndicate_of(org: Organisation, orgs_by_id: dict[int, Organisation]) -> Organisation:
    if org.is_syndicate or org.syndicate_id is None:
        return org
    return orgs_by_id[org.syndicate_id]


def _actors(org_ids: Iterable[int], rank: dict[Role, int] | None = None) -> dict[int, User]:
    """Who writes an organisation's demo fiches: its DPO, else its referent, else nobody (system).
    ``rank``: the roles considered, the first preferred."""
    rank = rank or {Role.DPO: 0, Role.REFERENT: 1}
    rows = db.session.execute(
        select(Membership.organisation_id, Membership.role, User)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organisation_id.in_(list(org_ids)),
            Membership.role.in_(list(rank)),
            Membership.revoked_at.is_(None),
        )
        .order_by(User.email)
        .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
    )
    best: dict[int, tuple[int, User]] = {}
    for org_id, role, user in rows:
        r = rank[Role(role)]
        if org_id not in best or r < best[org_id][0]:
            best[org_id] = (r, user)
    return {org_id: user for org_id, (_r, user) in best.items()}


def _by_reference() -> dict[tuple[int, str], ProcessingActivity]:
    stmt = select(ProcessingActivity).execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
    return {(a.organisation_id, a.reference): a for a in db.session.scalars(stmt)}


# --- models and inheritance ----------------------------------------------------------------------


def _load_models(
    data: dict[str, Any],
    orgs: dict[str, Organisation],
    orgs_by_id: dict[int, Organisation],
    actors: dict[int, User],
    existing: dict[tuple[int, str], ProcessingActivity],
) -> None:
    apps = {
        (a.syndicate_id, a.name): a
        # unscoped: demo loader (CLI)
        for a in db.session.scalars(select(Application).execution_options(**UNSCOPED))
    }
    created: dict[tuple[str, str], ProcessingActivity] = {}
    for item in data["models"]:
        syndicate = orgs[item["syndicate"]]
        if (syndicate.id, item["reference"]) in existing:
            continue
        content = _content(item, syndicate, syndicate, data["presets"])
        content["reference"] = item["reference"]
        content["application_ids"] = [apps[(syndicate.id, item["application"])].id]
        model = acts.create_activity(syndicate, actors.get(syndicate.id), content, is_model=True)
        created[(item["syndicate"], item["reference"])] = model
    if not created:
        return
    # The members' entries start as drafts: most have since been reviewed and validated.
    for (_syndicate, reference), model in created.items():
        for entry in inheritance.entries_of(model):
            member = orgs_by_id[entry.organisation_id]
            rng = _rng(member.name, reference)
            roll = rng.random()
            change: dict[str, Any] = {"version": entry.version}
            if roll < 0.75:
                change["status"] = ActivityStatus.VALIDATED
                change["next_review_on"] = today() + timedelta(days=rng.randint(30, 360))
            elif roll < 0.87:
                change["status"] = ActivityStatus.VALIDATED
                change["next_review_on"] = today() - timedelta(days=rng.randint(5, 90))
            else:
                change["status"] = ActivityStatus.IN_REVIEW
            acts.update_activity(entry, actors.get(member.id), change)
    for item in data["overrides"]:
        model = created.get((item["syndicate"], item["model"]))
        if model is None:
            continue
        member = orgs[item["organisation"]]
        entry = next(e for e in inheritance.entries_of(model) if e.organisation_id == member.id)
        acts.update_activity(entry, actors.get(member.id), {**item["changes"], "version": entry.version})
    update = data["model_update"]
    model = created.get((update["syndicate"], update["reference"]))
    if model is not None:
        acts.update_activity(
            model, actors.get(model.organisation_id), {**update["changes"], "version": model.version}
        )


# --- each organisation's own register ------------------------------------------------------------


def _applies(item: dict[str, Any], org: Organisation) -> bool:
    if org.name in item.get("names", ()):
        return True
    kinds = item.get("kinds", ())
    return "*" in kinds or org.kind.value in kinds


def _pick(
    pool: list[dict[str, Any]], org: Organisation, inherited: int, topics: set[str], rng: random.Random
) -> list[dict[str, Any]]:
    """The pool items of an organisation's own register: its own specialities first, then its kind's,
    then those common to every organisation; never a topic its inherited entries already cover."""
    usable = [p for p in pool if _applies(p, org) and p.get("topic") not in topics]
    named = [p for p in usable if org.name in p.get("names", ())]
    kind = [p for p in usable if p not in named and "*" not in p.get("kinds", ())]
    common = [p for p in usable if p not in named and p not in kind]
    rng.shuffle(kind)
    rng.shuffle(common)
    is_city = org.kind.value == "ville"
    target = rng.randint(20, 27) if is_city else rng.randint(12, 20)
    wanted = max(target - inherited, 10 - inherited, 0)
    return (named + kind + common)[:wanted]


def _own_fiche(
    item: dict[str, Any],
    index: int,
    count: int,
    org: Organisation,
    syndicate: Organisation,
    presets: dict[str, Any],
    app_ids: dict[str, int],
    rng: random.Random,
    incomplete: set[int],
    overdue: set[int],
) -> dict[str, Any]:
    content = _content(item, org, syndicate, presets)
    content["reference"] = item["code"]
    content["application_ids"] = [app_ids[n] for n in item.get("applications", ()) if n in app_ids]
    if index == count - 1:
        status = ActivityStatus.ARCHIVED
    elif index in incomplete:
        status = rng.choice((ActivityStatus.DRAFT, ActivityStatus.IN_REVIEW))
        gap = rng.choice(("retention", "measures", "recipients"))
        if gap == "retention" and content.get("data_categories"):
            content["data_categories"][0]["active"] = ""
        elif gap == "measures":
            content["security_measures"] = []
        else:
            content["recipients"] = []
    else:
        roll = rng.random()
        status = (
            ActivityStatus.VALIDATED
            if roll < 0.78
            else ActivityStatus.IN_REVIEW
            if roll < 0.9
            else ActivityStatus.DRAFT
        )
    content["status"] = status
    if status == ActivityStatus.VALIDATED:
        days = -rng.randint(5, 150) if index in overdue else rng.randint(20, 420)
        content["next_review_on"] = today() + timedelta(days=days)
    elif status != ActivityStatus.ARCHIVED:
        content["next_review_on"] = today() + timedelta(days=rng.randint(15, 60))
    if item.get("dpia") == "done":
        content["dpia_status"] = "done"
        content["dpia_done_on"] = date(2024, rng.randint(1, 12), rng.randint(1, 28))
    elif item.get("dpia") == "in_progress":
        content["dpia_status"] = "in_progress"
    return content


def _load_registers(
    data: dict[str, Any],
    orgs: dict[str, Organisation],
    orgs_by_id: dict[int, Organisation],
    actors: dict[int, User],
    existing: dict[tuple[int, str], ProcessingActivity],
) -> None:
    # The topics a member's inherited entries cover (its own register does not repeat them).
    topic_of_model = {(orgs[m["syndicate"]].id, m["reference"]): m.get("topic") for m in data["models"]}
    model_topics = {
        a.id: topic_of_model.get((a.organisation_id, a.reference)) for a in existing.values() if a.is_model
    }
    inherited: dict[int, list[ProcessingActivity]] = {}
    for activity in existing.values():
        if activity.model_id is not None:
            inherited.setdefault(activity.organisation_id, []).append(activity)
    subscribed: dict[int, dict[str, int]] = {}
    active = db.session.execute(
        select(Subscription.organisation_id, Application.name, Application.id)
        .join(Application, Application.id == Subscription.application_id)
        .where((Subscription.ended_on.is_(None)) | (Subscription.ended_on >= today()))
        .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
    )
    for org_id, app_name, app_id in active:
        subscribed.setdefault(org_id, {})[app_name] = app_id
    for org in sorted(orgs.values(), key=lambda o: o.name):
        syndicate = _syndicate_of(org, orgs_by_id)
        entries = inherited.get(org.id, [])
        topics = {t for e in entries if (t := model_topics.get(e.model_id or 0))}
        rng = _rng(org.name)
        items = _pick(data["pool"], org, len(entries), topics, rng)
        count = len(items)
        candidates = list(range(count - 1))
        incomplete = set(rng.sample(candidates, min(len(candidates), rng.randint(1, 2))))
        rest = [i for i in candidates if i not in incomplete]
        overdue = set(rng.sample(rest, min(len(rest), rng.randint(1, 2))))
        for index, item in enumerate(items):
            content = _own_fiche(
                item,
                index,
                count,
                org,
                syndicate,
                data["presets"],
                subscribed.get(org.id, {}),
                rng,
                incomplete,
                overdue,
            )
            if (org.id, content["reference"]) in existing:
                continue
            existing[(org.id, content["reference"])] = acts.create_activity(org, actors.get(org.id), content)


# --- rights requests and breaches ----------------------------------------------------------------


def _days_ago(days: int | None) -> date | None:
    return None if days is None else today() - timedelta(days=days)


def _load_rights(
    data: dict[str, Any],
    orgs: dict[str, Organisation],
    actors: dict[int, User],
    existing: dict[tuple[int, str], ProcessingActivity],
) -> None:
    from registers.services import rights  # noqa: PLC0415 — written beside this loader

    spec = data["rights_requests"]
    referents = _actors(list(actors) + [o.id for o in orgs.values()], {Role.REFERENT: 0})
    held = {
        (r.organisation_id, r.requester_name)
        # unscoped: demo loader (CLI)
        for r in db.session.scalars(select(RightsRequest).execution_options(**UNSCOPED))
    }
    fiches: dict[int, list[ProcessingActivity]] = {}
    for activity in existing.values():
        if not activity.is_model and activity.status != ActivityStatus.ARCHIVED:
            fiches.setdefault(activity.organisation_id, []).append(activity)
    for org in sorted(orgs.values(), key=lambda o: o.name):
        rng = _rng(org.name, "rights")
        scenarios = BUSY_RIGHTS.get(org.name) or (
            "answered",
            *rng.sample(OTHER_RIGHTS, rng.randint(1, 2)),
        )
        names = rng.sample(spec["requesters"], len(scenarios))
        own = sorted(fiches.get(org.id, []), key=lambda a: a.reference)
        # Who handles them: in turn the organisation's referent (his home page lists his own) and
        # the writer of its fiches.
        handlers = [u.id for u in (referents.get(org.id), actors.get(org.id)) if u is not None]
        for index, (name, scenario) in enumerate(zip(names, scenarios, strict=True)):
            if (org.id, name) in held:
                continue
            s = spec["scenarios"][scenario]
            activity = rng.choice(own) if own else None
            checked_on = _days_ago(s.get("identity_checked_days_ago"))
            request = {
                "right": s["right"],
                "requester_name": name,
                "requester_contact": _contact(name),
                "received_on": _days_ago(s["received_days_ago"]),
                "identity_checked": checked_on is not None,
                "identity_checked_on": checked_on,
                "activity_id": activity.id if activity else None,
                "details": s["details"],
                "is_extended": "extended_days_ago" in s,
                "extension_notified_on": _days_ago(s.get("extended_days_ago")),
                "extension_reason": s.get("extension_reason"),
                "status": s["status"],
                "answered_on": _days_ago(s.get("answered_days_ago")),
                "answer_summary": s.get("answer_summary"),
                "assigned_to_id": handlers[index % len(handlers)] if handlers else None,
            }
            rights.create_request(org, actors.get(org.id), request)
            held.add((org.id, name))


def _contact(name: str) -> str:
    first, last = name.split(" ", 2)[1:]
    return f"{first.lower()}.{last.lower().replace(' ', '-')}@courriel.example.org"


def _load_breaches(data: dict[str, Any], orgs: dict[str, Organisation], actors: dict[int, User]) -> None:
    from registers.services import breaches  # noqa: PLC0415 — written beside this loader

    spec = data["breaches"]
    # unscoped: demo loader (CLI)
    held = set(db.session.scalars(select(Breach.organisation_id).execution_options(**UNSCOPED)).all())
    now = utcnow().replace(second=0, microsecond=0)
    for index, org in enumerate(sorted(orgs.values(), key=lambda o: o.name)):
        if org.id in held:
            continue  # one breach per organisation: whatever it has already stands
        rng = _rng(org.name, "breach")
        if org.name == OPEN_BREACH_ORG:
            s = spec["open"]
            discovered = now - timedelta(hours=s["hours_ago"])
        else:
            s = spec["closed"][(index + rng.randint(0, 3)) % len(spec["closed"])]
            discovered = (now - timedelta(days=s["days_ago"] + rng.randint(0, 20))).replace(
                hour=rng.randint(8, 18)
            )
        # The spec's own keys (days_ago, notified_after_hours…) are not breach fields: left out.
        breach = {k: copy.deepcopy(v) for k, v in s.items() if k in breaches.FIELDS}
        breach["discovered_at"] = discovered
        breach["occurred_at"] = discovered - timedelta(hours=rng.randint(1, 30))
        if "notified_after_hours" in s:
            breach["cnil_notified_at"] = discovered + timedelta(hours=s["notified_after_hours"])
            breach["cnil_reference"] = f"NOT-{discovered:%Y%m}-{rng.randint(1000, 9999)}"
        if "subjects_informed_days_after" in s:
            breach["subjects_informed_on"] = (
                discovered + timedelta(days=s["subjects_informed_days_after"])
            ).date()
        if org.name != OPEN_BREACH_ORG:
            breach["is_closed"] = True
            breach["closed_on"] = min(today(), (discovered + timedelta(days=rng.randint(15, 45))).date())
        breaches.create_breach(org, actors.get(org.id), breach)


def _processor_data(spec: dict[str, Any], apps: dict[str, int]) -> dict[str, Any]:
    days = spec.get("signed_days_ago")
    review = spec.get("review_in_days")
    return {
        **{
            k: spec.get(k)
            for k in ("name", "service", "contract_reference", "clauses", "data_location", "contact")
        },
        "certifications": spec.get("certifications") or [],
        "transfers": spec.get("transfers") or [],
        "contract_signed_on": today() - timedelta(days=days) if days is not None else None,
        "next_review_on": today() + timedelta(days=review) if review is not None else None,
        "application_ids": [apps[name] for name in spec.get("applications", ()) if name in apps],
    }


def _load_processors(spec: dict[str, Any], orgs: dict[str, Organisation], actors: dict[int, User]) -> None:
    """The syndicates' contracts with the editors of their SaaS applications (the members' sub-
    processors), and two members' records: one convention with the syndicate filled in, one not."""
    from registers.services import processors as procs  # noqa: PLC0415 — written beside this loader

    # unscoped: demo loader (CLI)
    held = set(db.session.scalars(select(Processor.organisation_id).execution_options(**UNSCOPED)).all())
    for group in ("syndicates", "members"):
        for org_name, records in spec[group].items():
            org = orgs.get(org_name)
            if org is None or org.id in held:
                continue  # whatever an organisation has already stands
            catalogue = org.id if org.is_syndicate else org.syndicate_id
            apps = dict(
                db.session.execute(
                    select(Application.name, Application.id)
                    .where(Application.syndicate_id == catalogue)
                    .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
                ).all()
            )
            for record in records:
                data = _processor_data(record, apps)
                if record.get("syndicate"):
                    entry = procs.syndicate_entry(org)
                    if entry is None:
                        continue
                    data = {
                        **procs.syndicate_prefill(entry),
                        **{k: v for k, v in data.items() if v or k == "clauses"},
                    }
                    data["name"] = entry.name
                procs.create_processor(org, actors.get(org.id), data)


# --- the loader ----------------------------------------------------------------------------------


def load_registers(context: dict[str, Any]) -> None:
    data = load_json("demo_registers.json")
    demo = load_json("demo_organisations.json")
    names = {r["name"] for r in demo["syndicates"] + demo["organisations"]}
    # The demo organisations only: a development database may hold others, left untouched.
    orgs = {n: o for n, o in context["organisations"].items() if n in names}
    orgs_by_id = {o.id: o for o in orgs.values()}
    actors = _actors(orgs_by_id)
    existing = _by_reference()
    _load_models(data, orgs, orgs_by_id, actors, existing)
    existing = _by_reference()  # with the inherited entries the models just created
    _load_registers(data, orgs, orgs_by_id, actors, existing)
    _load_rights(data, orgs, actors, existing)
    _load_breaches(data, orgs, actors)
    _load_processors(data["processors"], orgs, actors)
