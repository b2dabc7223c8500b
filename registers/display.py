"""Read-side helpers for the register pages: choices, a fiche ready to display (labels resolved),
history with what changed, model diffs as text. No writes here."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import bindparam, or_, select

from accounts.models import Organisation
from accounts.services.organisations import organisation_names
from catalogue.models import Application, Subscription
from core.db import today
from core.extensions import db
from core.security import Permission, can
from core.templating import choices_of, labels_of, options_of
from core.tenancy import UNSCOPED, execute_rows
from registers import reference as ref
from registers.forms.activities import StatusForm, VersionOnlyForm
from registers.models import ActivityStatus, ActivityVersion, DpiaStatus, ProcessingActivity
from registers.services import activities as acts
from registers.services import inheritance
from registers.services import processors as procs

ORGANISATION_CHOICES_MAX = 300
SORT_CHOICES = (
    ("name", _l("Nom")),
    ("reference", _l("Référence")),
    ("updated", _l("Dernière modification")),
    ("completeness", _l("Complétude")),
    ("review", _l("Prochaine révision")),
)


def _catalogue_choices(org: Organisation, extra_ids: list[int] | None = None) -> list[tuple[int, str]]:
    """Applications an organisation may link: the catalogue for a syndicate, its subscriptions
    (current) for a member, plus those already linked."""
    extra = list(extra_ids or [])
    params: dict[str, Any] = {"owner": org.catalogue_owner_id}
    if extra:
        params["extra_ids"] = extra
    if not org.is_syndicate:
        params.update(org_id=org.id, today=today())
    stmt = _catalogue_choices_statement(org.is_syndicate, with_linked=bool(extra))
    return [(r.id, r.name) for r in execute_rows(stmt, params)]


@functools.cache
def _catalogue_choices_statement(for_syndicate: bool, *, with_linked: bool) -> Any:
    """Built once per kind of organisation (every register list page runs it for its filter). Without
    applications already linked (a list's filter), no ``IN`` list at all: SQLAlchemy rewrites the SQL
    of an expanding parameter at each run (30 µs a page)."""
    stmt = select(Application.id, Application.name).where(Application.syndicate_id == bindparam("owner"))
    available = (
        Application.retired_on.is_(None)
        if for_syndicate
        else Application.id.in_(
            select(Subscription.application_id).where(
                Subscription.organisation_id == bindparam("org_id"),
                or_(Subscription.ended_on.is_(None), Subscription.ended_on >= bindparam("today")),
            )
        )
    )
    if with_linked:
        available = or_(available, Application.id.in_(bindparam("extra_ids", expanding=True)))
    # unscoped: the member's form lists its syndicate's applications
    return stmt.where(available).order_by(Application.sort_name).execution_options(**UNSCOPED)


def list_choices(org: Organisation) -> dict[str, Any]:
    return {
        "statuses": options_of(ActivityStatus),
        "status_labels": labels_of(ActivityStatus),
        "legal_bases": ref.legal_basis_choices(),
        "applications": _catalogue_choices(org),
        "sorts": choices_of(SORT_CHOICES),
    }


def _organisation_choices(org: Organisation, linked: list[int]) -> list[tuple[int, str]]:
    """Organisations a recipient may be linked to: the syndicate, its members, partners (short)."""
    owner = org.catalogue_owner_id
    stmt = (
        select(Organisation.id, Organisation.name)
        .where(
            or_(
                Organisation.id == owner,
                Organisation.syndicate_id == owner,
                Organisation.id.in_(linked),
            ),
            or_(Organisation.left_on.is_(None), Organisation.id.in_(linked)),
        )
        .order_by(Organisation.sort_name)
        .limit(ORGANISATION_CHOICES_MAX)
        .execution_options(**UNSCOPED)  # unscoped: recipients may be any organisation of the syndicate
    )
    return [(r.id, r.name) for r in db.session.execute(stmt)]


def form_choices(
    org: Organisation, activity: ProcessingActivity | None, *, may_validate: bool, is_model: bool
) -> dict[str, Any]:
    current = activity.status if activity else ActivityStatus.DRAFT
    statuses = [
        s
        for s in ActivityStatus
        if may_validate or s in (ActivityStatus.DRAFT, ActivityStatus.IN_REVIEW) or s == current
    ]
    linked_apps = [a.id for a in activity.applications] if activity else []
    linked_orgs = [
        r["organisation_id"] for r in (activity.recipients if activity else []) if r.get("organisation_id")
    ]
    return {
        "statuses": statuses,
        "applications": _catalogue_choices(org, linked_apps),
        "organisations": _organisation_choices(org, linked_orgs),
        # A model's recipients name no processor: its copies live in the members' registers.
        "processors": []
        if is_model or (activity is not None and activity.is_model)
        else procs.recipient_choices(
            org.id,
            include=[
                r["processor_id"] for r in (activity.recipients if activity else []) if r.get("processor_id")
            ],
        ),
    }


# --- a fiche ready to display ------------------------------------------------------------------


def fiche_view(
    content: dict[str, Any], org: Organisation | None = None, names: Mapping[int, str] | None = None
) -> dict[str, Any]:
    """Labels for every coded value of a fiche's content (a live fiche or a stored version).
    ``names``: the recipients' organisations, when the caller has looked them up already."""
    categories = ref.by_id(ref.data_categories())
    measures = ref.by_id(ref.security_measures())
    types = ref.by_id(ref.recipient_types())
    safeguards = ref.by_id(ref.transfer_safeguards())
    if names is None:
        names = organisation_names(
            [r["organisation_id"] for r in content.get("recipients") or () if r.get("organisation_id")]
        )
    processors = procs.processor_names(
        r["processor_id"] for r in content.get("recipients") or () if r.get("processor_id")
    )
    return {
        "legal_basis": ref.legal_basis_label(content.get("legal_basis")) or None,
        "data_subjects": [ref.label_of(ref.data_subjects(), s) for s in content.get("data_subjects") or ()],
        "categories": [
            {
                "label": categories[row["category"]].label
                if row["category"] in categories
                else row["category"],
                **{k: row.get(k) for k in ("details", "active", "intermediate", "final")},
            }
            for row in content.get("data_categories") or ()
        ],
        "sensitive": [ref.label_of(ref.sensitive_data(), s) for s in content.get("sensitive_data") or ()],
        "art9_exception": ref.label_of(ref.art9_exceptions(), content.get("art9_exception")),
        "recipients": [
            {
                "type": types[row["type"]].label if row["type"] in types else row["type"],
                "name": row.get("name"),
                "organisation": names.get(row.get("organisation_id") or 0),
                "organisation_id": row.get("organisation_id"),
                "processor": processors.get(row.get("processor_id") or 0),
                "processor_id": row.get("processor_id") if row.get("processor_id") in processors else None,
            }
            for row in content.get("recipients") or ()
        ],
        "transfers": [
            {
                **row,
                "safeguard_label": safeguards[row["safeguard"]].label
                if row.get("safeguard") in safeguards
                else row.get("safeguard"),
            }
            for row in content.get("transfers") or ()
        ],
        "measures": [
            {
                "label": measures[row["measure"]].label if row["measure"] in measures else row["measure"],
                "details": row.get("details"),
            }
            for row in content.get("security_measures") or ()
        ],
        "dpia_criteria": [ref.label_of(ref.dpia_criteria(), c) for c in content.get("dpia_criteria") or ()],
    }


def value_text(field: str, value: Any, names: Mapping[int, str] | None = None) -> str:
    """One field's value as plain text (diffs, history, the journal); ``names`` as :func:`fiche_view`."""
    if value in (None, "", [], {}):
        return "—"
    view = fiche_view({field: value}, names=names)
    if field == "legal_basis":
        return view["legal_basis"] or str(value)
    if field == "data_categories":
        return "\n".join(
            f"{c['label']} : {c.get('details') or ''} — {c.get('active') or '?'} / "
            f"{c.get('intermediate') or '—'} / {c.get('final') or '—'}"
            for c in view["categories"]
        )
    if field == "recipients":
        return "\n".join(
            f"{r['type']} : {r.get('name') or r.get('organisation') or ''}" for r in view["recipients"]
        )
    if field == "transfers":
        return "\n".join(
            f"{t.get('recipient')} ({t.get('country')}) — {t.get('safeguard_label') or '?'}"
            for t in view["transfers"]
        )
    if field == "security_measures":
        return "\n".join(
            f"{m['label']}{' : ' + m['details'] if m.get('details') else ''}" for m in view["measures"]
        )
    if field in ("data_subjects", "sensitive_data", "dpia_criteria"):
        key = {
            "data_subjects": "data_subjects",
            "sensitive_data": "sensitive",
            "dpia_criteria": "dpia_criteria",
        }[field]
        return "\n".join(view[key])
    if field == "art9_exception":
        return view["art9_exception"]
    if field == "status":
        return str(ActivityStatus(value).label)
    if field == "dpia_status":
        return str(DpiaStatus(value).label)
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


# A text cut into words and the spaces between them; each piece marked if it differs from the other text.
Segments = list[tuple[str, bool]]
WORD_RE = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> tuple[Segments, Segments]:
    """Which words of ``old`` are gone and which words of ``new`` are new (difflib on words): the
    pieces of each text, in order, with a flag for the changed ones. Plain text: the page escapes
    it when it marks the words."""
    a, b = WORD_RE.findall(old), WORD_RE.findall(new)
    before: Segments = []
    after: Segments = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        changed = tag != "equal"
        if i2 > i1:
            text = "".join(a[i1:i2])
            before.append((text, changed and bool(text.strip())))  # a changed space is not shown
        if j2 > j1:
            text = "".join(b[j1:j2])
            after.append((text, changed and bool(text.strip())))
    return before, after


@dataclass(frozen=True)
class ChangeView:
    field: str
    label: str
    before: str
    after: str
    local: str
    is_overridden: bool
    applies_by_default: bool
    before_words: Segments = field(default_factory=list)  # the model's accepted value, gone words marked
    after_words: Segments = field(default_factory=list)  # its new value, new words marked
    local_words: Segments = field(
        default_factory=list
    )  # the fiche's value, words unlike the new value marked


def change_view(change: inheritance.FieldChange, org: Organisation | None = None) -> ChangeView:
    before = value_text(change.field, change.before)
    after = value_text(change.field, change.after)
    local = value_text(change.field, change.local)
    before_words, after_words = word_diff(before, after)
    local_words, _new = word_diff(local, after)
    return ChangeView(
        change.field,
        change.label,
        before,
        after,
        local,
        change.is_overridden,
        change.applies_by_default,
        before_words,
        after_words,
        local_words,
    )


def model_update_message(taken: int, kept: int, later: int) -> str:
    """What the member reads once its decisions on a model update are saved (plurals by count)."""
    taken_text = ngettext("%(num)d champ repris du modèle", "%(num)d champs repris du modèle", taken)
    kept_text = ngettext("%(num)d champ gardé", "%(num)d champs gardés", kept)
    if not later:
        return _("Mise à jour du modèle traitée : %(taken)s, %(kept)s.", taken=taken_text, kept=kept_text)
    later_text = ngettext("%(num)d champ reste à décider", "%(num)d champs restent à décider", later)
    if not taken and not kept:
        return _("Aucune décision enregistrée : %(later)s.", later=later_text)
    return _(
        "Décisions enregistrées : %(taken)s, %(kept)s ; %(later)s.",
        taken=taken_text,
        kept=kept_text,
        later=later_text,
    )


def detail_context(activity: ProcessingActivity) -> dict[str, Any]:
    content = acts.content_of(activity)
    model = inheritance.model_of(activity) if activity.is_inherited else None
    entries = inheritance.entries_of(activity) if activity.is_model else []
    return {
        "activity": activity,
        "view": fiche_view(content, activity.organisation),
        "completeness": acts.completeness(content),
        "verdict": acts.dpia_verdict(content),
        "model": model,
        "overridden": inheritance.overridden_fields(activity) if activity.is_inherited else set(),
        "pending": len(inheritance.pending_changes(activity)) if activity.has_model_update else 0,
        "entries": entries,
        "entries_up_to_date": sum(1 for e in entries if e.synced_model_version == activity.content_version),
        "status_form": StatusForm(version=activity.version),
        "revert_form": VersionOnlyForm(version=activity.version),
        "may_validate": can(Permission.REGISTERS_VALIDATE),
        "field_labels": acts.FIELD_LABELS,
    }


# --- history -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    version: ActivityVersion
    changed: list[str]  # labels of the fields that changed from the previous version


def history(activity: ProcessingActivity) -> list[HistoryEntry]:
    versions = acts.versions_of(activity)  # newest first
    out = []
    for i, version in enumerate(versions):
        previous = versions[i + 1].data if i + 1 < len(versions) else {}
        changed = [
            str(acts.FIELD_LABELS.get(k, k))
            for k in version.data
            if previous.get(k) != version.data.get(k)
            and (previous or version.data.get(k) not in (None, "", []))
        ]
        out.append(HistoryEntry(version, changed))
    return out


def version_or_404(activity: ProcessingActivity, number: int) -> ActivityVersion:
    version = db.session.scalar(
        select(ActivityVersion).where(
            ActivityVersion.activity_id == activity.id, ActivityVersion.number == number
        )
    )
    if version is None:
        abort(404)
    return version
