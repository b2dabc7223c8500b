"""DPIA (AIPD) screening of a fiche and its export to the CNIL's PIA software.

Screening (WP248 rev.01 criteria, CNIL lists): the verdict itself is
:func:`registers.services.activities.dpia_verdict`, which also keeps the fiche's ``is_dpia_required``
column in step on every save; this module adds what the screening page needs around it (when the
decision must be justified, what is still to do) and saves only the DPIA fields, through
:func:`~registers.services.activities.update_activity` (history, journal and version check included).

When is the justification mandatory? When the rule of thumb does not settle the question, so that
the register shows why the organisation decided as it did (Art. 35.1, WP248 "document the reasons"):

* exactly one WP248 criterion and neither CNIL list: "one criterion may be enough where the risk is
  high" — the DPO says why a DPIA is or is not carried out;
* the exemption list is chosen while two criteria or more are met: the exemption wins, but the DPO
  explains why the criteria do not call for a DPIA after all;
* both CNIL lists are chosen: the "required" list prevails, the contradiction is explained.

A required DPIA that has not started is *not* blocked (the fiche is often written before the DPIA is
planned); the page shows it as the next thing to do, and the portfolio counts it.

Export to the PIA software
--------------------------
Format followed: the export/import JSON of the CNIL's open-source PIA tool, **version 3.x** (LINCnil/pia
3.0.1, Angular + Electron, MIT licence), as written by ``PiaService.exportData`` and read by
``PiaService.importData`` in ``src/app/services/pia.service.ts`` of https://github.com/LINCnil/pia
(sample file: ``cypress/fixtures/pia.json``). Question ids come from the default structure
``src/assets/files/pia_architecture.json`` (section 1 "Contexte": 111 overview of the processing,
112 responsibilities, 113 applicable standards; 121 data, 122 life cycle, 123 supporting assets;
section 2 "Principes fondamentaux": 211 purposes, 212 lawfulness, 215 retention, 226 processors, 227
transfers). The file is ``{"pia": {…}, "answers": [...], "measures": [...], "evaluations": [],
"comments": []}``; ``importData`` iterates every list, so each is present even when empty. Text
answers are HTML (the tool edits them with TinyMCE): every value is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from markupsafe import escape

from accounts.models import User
from core import audit
from core.concurrency import check_version
from core.db import today
from core.forms import FieldError
from registers import reference as ref
from registers.models import DpiaStatus, ProcessingActivity
from registers.services import activities as acts
from registers.services.content import retention_text

DPIA_FIELDS: tuple[str, ...] = (
    "dpia_criteria",
    "dpia_cnil_required",
    "dpia_cnil_exempt",
    "dpia_justification",
    "dpia_status",
    "dpia_done_on",
)

PIA_FORMAT = "LINCnil/pia 3.x (pia.service.ts exportData/importData)"


# --- screening ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionLine:
    item: ref.Item
    is_met: bool
    is_suggested: bool


@dataclass(frozen=True)
class Screening:
    """Everything the screening page shows, ready to render."""

    verdict: acts.DpiaVerdict
    criteria: list[CriterionLine]
    threshold: int
    required_type: str
    exempt_type: str
    justification_reason: str | None  # why a justification is mandatory (None: optional)
    todo: list[str]  # what remains to do (warnings, never blocking)

    @property
    def criteria_met_count(self) -> int:
        return sum(1 for line in self.criteria if line.is_met)


def justification_reason(content: Mapping[str, Any]) -> str | None:
    """Why the decision must be justified for this content, or None if the rule settles it."""
    known = ref.ids(ref.dpia_criteria())
    met = [c for c in content.get("dpia_criteria") or () if c in known]
    required = content.get("dpia_cnil_required")
    exempt = content.get("dpia_cnil_exempt")
    if required and exempt:
        return _(
            "Le traitement est rattaché aux deux listes de la CNIL : la liste des traitements soumis à "
            "AIPD prévaut. Expliquez ce rattachement."
        )
    if exempt and len(met) >= ref.DPIA_THRESHOLD:
        return _(
            "Le traitement figure sur la liste des dispenses alors que %(n)d critères sont remplis : "
            "motivez la dispense.",
            n=len(met),
        )
    if not required and not exempt and len(met) == 1:
        return _(
            "Un seul critère est rempli : un critère peut suffire si le risque est élevé. Motivez la "
            "décision de mener ou non une AIPD."
        )
    return None


def _todo(verdict: acts.DpiaVerdict, content: Mapping[str, Any]) -> list[str]:
    todo = []
    status = content.get("dpia_status") or DpiaStatus.NOT_STARTED
    if verdict.required and status == DpiaStatus.NOT_STARTED:
        todo.append(
            _(
                "AIPD requise mais non réalisée : engagez-la avant la mise en œuvre du traitement, ou "
                "consignez dans la motivation pourquoi elle n'est pas menée."
            )
        )
    if verdict.suggested:
        todo.append(
            _(
                "Le contenu de la fiche suggère d'autres critères : vérifiez « %(c)s ».",
                c=" », « ".join(item.label for item in verdict.suggested),
            )
        )
    return todo


def screening(activity: ProcessingActivity) -> Screening:
    content = acts.content_of(activity)
    verdict = acts.dpia_verdict(content)
    met = {item.id for item in verdict.criteria_met}
    suggested = {item.id for item in verdict.suggested}
    return Screening(
        verdict=verdict,
        criteria=[CriterionLine(item, item.id in met, item.id in suggested) for item in ref.dpia_criteria()],
        threshold=ref.DPIA_THRESHOLD,
        required_type=ref.label_of(ref.dpia_required_types(), activity.dpia_cnil_required),
        exempt_type=ref.label_of(ref.dpia_exempt_types(), activity.dpia_cnil_exempt),
        justification_reason=justification_reason(content),
        todo=_todo(verdict, content),
    )


def _check_screening(data: Mapping[str, Any]) -> None:
    reason = justification_reason(data)
    if reason and not data.get("dpia_justification"):
        raise FieldError("dpia_justification", reason)
    done_on = data.get("dpia_done_on")
    if done_on and done_on > today():
        raise FieldError("dpia_done_on", _("La date de réalisation ne peut pas être dans le futur."))
    if done_on and data.get("dpia_status") != DpiaStatus.DONE:
        raise FieldError("dpia_done_on", _("Une date de réalisation suppose une AIPD à l'état « Réalisée »."))


def save_screening(
    activity: ProcessingActivity, actor: User | None, data: Mapping[str, Any]
) -> ProcessingActivity:
    """Save the DPIA fields of a fiche (and only them). ``data`` holds :data:`DPIA_FIELDS` and
    ``version``; other keys are ignored. Raises FieldError / EditConflict."""
    check_version(activity, data.get("version"))
    subset = acts.normalise({name: data[name] for name in DPIA_FIELDS if name in data})
    _check_screening(subset)
    return acts.update_activity(activity, actor, {**subset, "version": data.get("version")})


# --- export to the PIA software ---------------------------------------------------------------------


def _html(*paragraphs: str | None, items: Iterable[str] = ()) -> str:
    """Paragraphs then a bulleted list, escaped (the PIA tool stores rich text as HTML)."""
    out = [f"<p>{escape(p)}</p>" for p in paragraphs if p]
    items = [i for i in items if i]
    if items:
        out.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
    return "".join(out)


def _labels(items: tuple[ref.Item, ...], ids: Iterable[str]) -> list[str]:
    return [ref.label_of(items, i) for i in ids]


def _context_answers(activity: ProcessingActivity) -> dict[int, str]:
    org = activity.organisation
    verdict = acts.dpia_verdict(acts.content_of(activity))
    basis = ref.label_of(ref.legal_bases(), activity.legal_basis)

    overview = _html(
        f"{activity.name} ({activity.reference})",
        _("Finalité principale : %(p)s", p=activity.purpose) if activity.purpose else None,
        _("Sous-finalités :") if activity.sub_purposes else None,
        items=activity.sub_purposes,
    ) + _html(
        _("Critères du G29 (WP248) remplis :") if verdict.criteria_met else None,
        *verdict.reasons,
        items=[item.label for item in verdict.criteria_met],
    )

    recipients_by_type: dict[str, list[str]] = {}
    for row in activity.recipients:
        recipients_by_type.setdefault(row["type"], []).append(row.get("name") or "")
    processors = [n for n in recipients_by_type.get("sous_traitant", []) if n]
    joint = [activity.joint_controllers] if activity.joint_controllers else []
    joint += [n for n in recipients_by_type.get("co_responsable", []) if n]
    address = ", ".join(v for v in (org.address, org.postal_code, org.city) if v)
    responsibilities = _html(
        _("Responsable du traitement : %(o)s", o=org.name) + (f" ({address})" if address else ""),
        _("Représenté par : %(r)s", r=activity.representative) if activity.representative else None,
        _("Délégué à la protection des données : %(d)s", d=org.dpo_name) if org.dpo_name else None,
        _("Responsables conjoints :") if joint else None,
        items=joint,
    ) + _html(_("Sous-traitants :") if processors else None, items=processors)

    standards = _html(
        _("Base légale (art. 6) : %(b)s", b=basis) if basis else None,
        _("Texte de référence : %(t)s", t=activity.legal_basis_text) if activity.legal_basis_text else None,
    )

    subjects = _labels(ref.data_subjects(), activity.data_subjects)
    if activity.data_subjects_other:
        subjects.append(activity.data_subjects_other)
    categories = [
        f"{ref.label_of(ref.data_categories(), row['category'])}"
        + (f" ({row['details']})" if row.get("details") else "")
        + f" — {retention_text(row)}"
        for row in activity.data_categories
    ]
    sensitive = _labels(ref.sensitive_data(), activity.sensitive_data)
    recipients = [
        ref.label_of(ref.recipient_types(), row["type"]) + (f" : {row['name']}" if row.get("name") else "")
        for row in activity.recipients
    ]
    data = (
        _html(_("Personnes concernées :") if subjects else None, items=subjects)
        + _html(_("Données traitées et durées de conservation :") if categories else None, items=categories)
        + _html(_("Données sensibles :") if sensitive else None, items=sensitive)
        + _html(activity.sensitive_details)
        + _html(_("Destinataires :") if recipients else None, items=recipients)
    )
    retention = _html(items=categories)
    supports = _html(
        _("Applications :") if activity.applications else None,
        items=[app.name + (f" ({app.editor})" if app.editor else "") for app in activity.applications],
    )
    transfers = _html(
        items=[
            " — ".join(
                v
                for v in (
                    row.get("recipient"),
                    row.get("country"),
                    ref.label_of(ref.transfer_safeguards(), row.get("safeguard")),
                    row.get("documentation"),
                )
                if v
            )
            for row in activity.transfers
        ]
    )
    purposes = _html(activity.purpose, items=activity.sub_purposes)
    lawfulness = standards
    answers = {
        111: overview,
        112: responsibilities,
        113: standards,
        121: data,
        123: supports,
        211: purposes,
        212: lawfulness,
        215: retention,
        226: _html(items=processors),
        227: transfers,
    }
    return {ref_id: text for ref_id, text in answers.items() if text}


def build_pia_export(activity: ProcessingActivity, actor: User | None) -> dict[str, Any]:
    """The fiche's context as a PIA file (see the module docstring for the format)."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    org = activity.organisation
    answers = [
        {
            "id": n,
            "pia_id": 1,
            "reference_to": ref_id,
            "data": {"text": text, "gauge": None, "list": []},
            "created_at": now,
            "updated_at": now,
        }
        for n, (ref_id, text) in enumerate(sorted(_context_answers(activity).items()), start=1)
    ]
    measures = [
        {
            "id": n,
            "pia_id": 1,
            "title": ref.label_of(ref.security_measures(), row["measure"]),
            "content": _html(row.get("details")),
            "placeholder": "measures.default_placeholder",
            "created_at": now,
            "updated_at": now,
        }
        for n, row in enumerate(activity.security_measures, start=1)
    ]
    return {
        "pia": {
            "id": 1,
            "name": activity.name,
            "category": org.name,
            "status": 0,  # 0: being written
            "is_example": 0,
            "is_archive": 0,
            "author_name": getattr(actor, "full_name", "") or "",
            "evaluator_name": "",
            "validator_name": org.dpo_name or "",
            "dpos_names": org.dpo_name or "",
            "dpo_status": None,
            "dpo_opinion": "",
            "concerned_people_searched_opinion": None,
            "concerned_people_searched_content": "",
            "people_names": "",
            "concerned_people_status": None,
            "concerned_people_opinion": "",
            "rejected_reason": "",
            "applied_adjustements": "",  # sic: the PIA tool's spelling
            "structure_id": "",
            "progress": 0,
            "created_at": now,
            "updated_at": now,
        },
        "answers": answers,
        "measures": measures,
        "evaluations": [],
        "comments": [],
    }


def export_pia(activity: ProcessingActivity, actor: User | None) -> tuple[bytes, str]:
    """The PIA file (bytes, file name), journalled as an export of the fiche."""
    content = json.dumps(build_pia_export(activity, actor), ensure_ascii=False, indent=2).encode()
    audit.record(
        activity.organisation_id,
        actor,
        "activity.pia_export",
        activity,
        {"format": (None, PIA_FORMAT)},
    )
    safe_ref = "".join(c if c.isalnum() or c in "-_" else "-" for c in activity.reference)
    return content, f"{safe_ref or 'fiche'}-pia.json"
