"""The optional public register of an organisation (no login): settings and the public read.

The DPO chooses what is shown among a whitelist (:data:`PUBLIC_FIELDS`); the public page reads only
the *version validated by the DPO* of each fiche of the organisation (``validated_versions``: never
models, archived fiches, text nobody with the validate permission has reviewed, history or journal):
a fiche edited by a referent since its validation shows its validated content until the DPO
validates again; a fiche never validated is absent. Explicit filters and ``UNSCOPED`` reads (the
visitor has no tenant, or another one); each fiche is turned into plain rows of text here, so that
nothing else of the fiche reaches the template: no ids, no linked organisations, no security details.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from accounts.models import Organisation, User
from core import audit
from core.concurrency import check_version, create_once
from core.extensions import db
from core.forms import FieldError, ensure_unique
from core.pagination import Page
from core.tenancy import UNSCOPED
from core.text import fold
from registers import reference as ref
from registers.models import (
    ActivityStatus,
    ActivityVersion,
    ProcessingActivity,
    RegisterPublication,
    validated_versions,
)
from registers.services.content import retention_text

# What the DPO may publish, in the order of the CNIL register model. Labels are those of the page.
PUBLIC_FIELDS: dict[str, Any] = {
    "name": _l("Nom du traitement"),
    "purpose": _l("Finalité principale"),
    "sub_purposes": _l("Sous-finalités"),
    "legal_basis": _l("Base légale et texte de référence"),
    "data_subjects": _l("Catégories de personnes concernées"),
    "data_categories": _l("Catégories de données et durées de conservation"),
    "recipients": _l("Catégories de destinataires"),
    "transfers": _l("Transferts hors de l'Union européenne"),
    "security_measures": _l("Mesures de sécurité (intitulés seulement)"),
    "dpo_contact": _l("Coordonnées du délégué à la protection des données"),
}
DEFAULT_FIELDS = (
    "name",
    "purpose",
    "legal_basis",
    "data_subjects",
    "data_categories",
    "recipients",
    "dpo_contact",
)
NOINDEX = "noindex"  # pseudo-field: ask search engines not to index the page
AUDITED_FIELDS = ("is_published", "slug", "fields", "introduction")

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MAX = 80


# --- settings -------------------------------------------------------------------------------------


def default_slug(name: str) -> str:
    """ "Ville d'Ivry-sur-Seine" → "ville-d-ivry-sur-seine" (accents folded, 80 characters at most)."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")
    return slug[:SLUG_MAX].rstrip("-") or "registre"


def publication_of(org: Organisation) -> RegisterPublication | None:
    return db.session.scalar(
        select(RegisterPublication)
        .where(RegisterPublication.organisation_id == org.id)
        # unscoped: filtered on the organisation explicitly (also read anonymously)
        .execution_options(**UNSCOPED)
    )


def new_publication(org: Organisation) -> RegisterPublication:
    """The unsaved settings a first visit starts from (not added to the session)."""
    return RegisterPublication(
        organisation_id=org.id,
        slug=default_slug(org.name),
        is_published=False,
        fields=list(DEFAULT_FIELDS),
        introduction=None,
    )


def shown_fields(publication: RegisterPublication) -> list[str]:
    return [f for f in PUBLIC_FIELDS if f in (publication.fields or ())]


def is_noindex(publication: RegisterPublication) -> bool:
    return NOINDEX in (publication.fields or ())


def save_publication(org: Organisation, actor: User | None, data: Mapping[str, Any]) -> RegisterPublication:
    """Create (first save) or update the organisation's publication settings; journalled.

    ``data``: is_published, slug, introduction, fields (ids of :data:`PUBLIC_FIELDS`), noindex,
    version (required once the row exists: a stale form is an EditConflict).
    """
    publication = publication_of(org)
    if publication is None:
        publication = new_publication(org)
        action = "register_publication.create"
    else:
        check_version(publication, data.get("version"))
        action = "register_publication.update"
    slug = (data.get("slug") or "").strip().lower()
    if not slug:
        raise FieldError("slug", _("Indiquez l'adresse de la page publique."))
    if len(slug) > SLUG_MAX or not SLUG_RE.match(slug):
        raise FieldError(
            "slug",
            _(
                "Adresse : lettres minuscules sans accent, chiffres et tirets, %(n)d caractères au plus.",
                n=SLUG_MAX,
            ),
        )
    ensure_unique(
        RegisterPublication,
        RegisterPublication.slug,
        slug,
        field="slug",
        message=_("Cette adresse est déjà prise par une autre organisation."),
        exclude_id=publication.id,
    )
    chosen = [f for f in PUBLIC_FIELDS if f in (data.get("fields") or ())]
    if data.get("noindex"):
        chosen.append(NOINDEX)
    introduction = (data.get("introduction") or "").strip()[:5000] or None

    def write() -> RegisterPublication:
        with audit.audited(org, actor, action, publication, AUDITED_FIELDS):
            publication.is_published = bool(data.get("is_published"))
            publication.slug = slug
            publication.fields = chosen
            publication.introduction = introduction
        db.session.flush()  # the unique constraints speak here, not at the commit (a 500 then)
        return publication

    # The address checked free above may be taken by another organisation saving at the same instant.
    taken = FieldError("slug", _("Cette adresse vient d'être prise par une autre organisation."))
    if action == "register_publication.create":
        # the organisation's settings created by somebody else in between: theirs beside ours
        return create_once(write, lambda: publication_of(org), otherwise=taken)
    try:
        with db.session.begin_nested():
            return write()
    except IntegrityError:
        raise taken from None


def published_count(org: Organisation) -> int:
    """How many fiches the public page would show (fiches of the register with a validated version)."""
    return db.session.scalar(_validated(org.id).with_only_columns(func.count(ProcessingActivity.id))) or 0


# --- the public page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicRow:
    label: str
    values: list[str]


@dataclass(frozen=True)
class PublicFiche:
    title: str
    rows: list[PublicRow]


@dataclass(frozen=True)
class PublicRegister:
    organisation_name: str
    introduction: str | None
    fields: list[str]
    noindex: bool
    dpo_contact: list[str] = field(default_factory=list)
    organisation_id: int = 0  # used by the query only, never rendered


def public_register(slug: str) -> PublicRegister | None:
    """The published register at ``slug``, or None (unknown, unpublished, organisation gone)."""
    row = db.session.execute(
        select(RegisterPublication, Organisation)
        .join(Organisation, Organisation.id == RegisterPublication.organisation_id)
        .where(
            RegisterPublication.slug == slug,
            RegisterPublication.is_published.is_(True),
            Organisation.merged_into_id.is_(None),
        )
        .execution_options(**UNSCOPED)  # unscoped: public page, no logged-in organisation
    ).first()
    if row is None:
        return None
    publication, org = row
    fields = shown_fields(publication)
    contact = []
    if "dpo_contact" in fields:
        # Contact details, not the person: Art. 37.7 asks for the means to reach the DPO.
        contact = [v for v in (org.dpo_email, org.dpo_phone) if v]
    return PublicRegister(
        organisation_name=org.name,
        introduction=publication.introduction,
        fields=fields,
        noindex=is_noindex(publication),
        dpo_contact=contact,
        organisation_id=org.id,
    )


def _validated(org_id: int) -> Any:
    """The validated content (``ActivityVersion.data``) of each published fiche of ``org_id``."""
    return (
        select(ActivityVersion.data)
        .join(validated_versions, validated_versions.c.version_id == ActivityVersion.id)
        .join(ProcessingActivity, ProcessingActivity.id == validated_versions.c.activity_id)
        .where(
            ProcessingActivity.organisation_id == org_id,
            ProcessingActivity.is_model.is_(False),
            ProcessingActivity.status != ActivityStatus.ARCHIVED,
            ActivityVersion.activity_id == ProcessingActivity.id,
        )
        .execution_options(**UNSCOPED)  # unscoped: public page, no logged-in organisation
    )


def _labels(items: tuple[ref.Item, ...], ids: Any) -> list[str]:
    out: list[str] = []
    for item_id in ids or ():
        label = ref.label_of(items, item_id)
        if label and label not in out:
            out.append(label)
    return out


def _rows(content: Mapping[str, Any], fields: list[str]) -> list[PublicRow]:
    """The chosen rows of a fiche's validated content (a version's JSON data)."""
    values: dict[str, list[str]] = {}
    if "purpose" in fields:
        values["purpose"] = [content["purpose"]] if content.get("purpose") else []
    if "sub_purposes" in fields:
        values["sub_purposes"] = list(content.get("sub_purposes") or ())
    if "legal_basis" in fields:
        basis = ref.legal_basis_label(content.get("legal_basis"))
        values["legal_basis"] = [v for v in (basis, content.get("legal_basis_text")) if v]
    if "data_subjects" in fields:
        values["data_subjects"] = _labels(ref.data_subjects(), content.get("data_subjects"))
        if content.get("data_subjects_other"):
            values["data_subjects"].append(content["data_subjects_other"])
    if "data_categories" in fields:
        values["data_categories"] = [
            f"{ref.label_of(ref.data_categories(), row['category'])} — {retention_text(row)}"
            for row in content.get("data_categories") or ()
        ]
    if "recipients" in fields:  # type labels only: never names nor linked organisations
        values["recipients"] = _labels(
            ref.recipient_types(), [r["type"] for r in content.get("recipients") or ()]
        )
    if "transfers" in fields:  # no documentation references
        values["transfers"] = [
            " — ".join(
                v
                for v in (
                    row.get("country"),
                    ref.label_of(ref.transfer_safeguards(), row.get("safeguard")),
                )
                if v
            )
            for row in content.get("transfers") or ()
        ]
    if "security_measures" in fields:  # labels only, never the details
        values["security_measures"] = _labels(
            ref.security_measures(), [m["measure"] for m in content.get("security_measures") or ()]
        )
    return [
        PublicRow(str(PUBLIC_FIELDS[name]), values[name] or [_("Non renseigné")])
        for name in PUBLIC_FIELDS
        if name in values
    ]


def public_page(register: PublicRegister, page: int, per_page: int) -> Page:
    """One page of the published fiches, as :class:`PublicFiche` (no ORM object leaves here): the
    content of each one's validated version, read with the page in one query.

    Ordered by the fiche's current name (an index, cheap to page through): a fiche renamed since its
    validation is listed under its new name's place, and shown with its validated name."""
    stmt = _validated(register.organisation_id)
    total = db.session.scalar(stmt.with_only_columns(func.count(ProcessingActivity.id))) or 0
    last = max(1, -(-total // per_page))
    page = min(max(page, 1), last)
    contents = db.session.scalars(
        stmt.order_by(ProcessingActivity.sort_name, ProcessingActivity.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    fiches = [
        PublicFiche(
            (content.get("name") or "")
            if "name" in register.fields
            else _("Traitement n° %(n)d", n=(page - 1) * per_page + n),
            _rows(content, register.fields),
        )
        for n, content in enumerate(contents, start=1)
    ]
    return Page(items=fiches, total=total, page=page, per_page=per_page)
