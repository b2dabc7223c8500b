"""PDF documents of the RGPD registers: the organisation's register (Art. 30.1), a single fiche and
the syndicate's processor register (Art. 30.2). Input: the frozen dataclasses of
:mod:`registers.documents.data`; output: PDF bytes (with the shared blocks of :mod:`reports.pdf`)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from reportlab.platypus import Flowable, PageBreak, Spacer

from core.text import of
from registers.documents.data import (
    ActivityDoc,
    OrgHeader,
    ProcessorDoc,
    RegisterDoc,
    ServedApplicationDoc,
    SingleActivityDoc,
    SubProcessorDoc,
    TransferRow,
)
from registers.services.activities import FIELD_LABELS
from reports import pdf
from reports.pdf import long_date, long_datetime, para, quote, yes_no

mm = pdf.mm


def texts() -> dict[str, str]:
    """Every fixed string of a fiche section, translated once per document (a 500-fiche register
    would otherwise ask gettext for each of them 500 times)."""
    return {
        **{name: str(text) for name, text in FIELD_LABELS.items()},
        "yes": _("oui"),
        "no": _("non"),
        "none_f": _("Aucune"),
        "none_m": _("Aucun"),
        "model": _("Modèle du syndicat, hérité par les adhérents abonnés à l'application."),
        "created": _("Fiche créée le"),
        "updated": _("Dernière mise à jour"),
        "completeness": _("Complétude"),
        "inheritance": _("Héritage"),
        "validation": _("Validation"),
        "not_validated": _("Non validée par le DPO : contenu provisoire, susceptible de changer."),
        "draft": _("BROUILLON"),
        "draft_note": _(
            "Brouillon : fiche en cours de rédaction, jamais validée. Elle figure dans ce document à la "
            "demande de la personne qui l'a généré."
        ),
        "controllers": _("Responsables du traitement"),
        "purposes": _("Finalités et base légale"),
        "subjects": _("Personnes concernées"),
        "category": _("Catégorie"),
        "details": _("Précisions"),
        "active": _("Base active"),
        "intermediate": _("Archivage intermédiaire"),
        "final": _("Sort final"),
        "no_category": _("Aucune catégorie de données renseignée."),
        "has_sensitive": _("Données sensibles traitées"),
        "type": _("Type"),
        "name": _("Nom"),
        "linked_org": _("Organisation liée"),
        "no_recipient": _("Aucun destinataire renseigné."),
        "recipient": _("Destinataire"),
        "country": _("Pays"),
        "safeguard": _("Garantie"),
        "documentation": _("Documentation"),
        "no_transfer": _("Aucun transfert hors de l'Union européenne."),
        "measure": _("Mesure"),
        "no_measure": _("Aucune mesure de sécurité renseignée."),
        "dpia": _("Analyse d'impact (AIPD)"),
        "dpia_required": _("AIPD requise"),
        "dpia_not_required": _("AIPD non requise en principe"),
        "verdict": _("Verdict"),
    }


def _percent(value: int) -> str:
    return f"{value}{pdf.NBSP}%"


# --- one fiche ------------------------------------------------------------------------------------


def _inheritance_text(a: ActivityDoc) -> str | None:
    if a.inheritance is None:
        return None
    inh = a.inheritance
    text = _(
        "Hérité du modèle %(ref)s %(name)s (%(syndicate)s).",
        ref=inh.model_reference,
        name=quote(inh.model_name),
        syndicate=inh.syndicate,
    )
    if inh.overridden:
        text += " " + _("Champs modifiés localement : %(fields)s.", fields=", ".join(inh.overridden))
    else:
        text += " " + _("Aucun champ modifié localement.")
    if inh.has_model_update:
        text += " " + _("Le modèle a changé depuis : modification en attente de décision.")
    return text


def _validated_by(a: ActivityDoc) -> str:
    """« Validée par Jeanne Martin le 3 décembre 2026 à 10 h 05 » (when the validated version was
    written by the system — demo, import, command line — nobody is named)."""
    if a.validated_at is None:
        return _("Validée (date et auteur de la validation non enregistrés)")
    when = long_datetime(a.validated_at)
    if a.validated_by:
        return _("Validée par %(name)s le %(date)s", name=a.validated_by, date=when)
    return _("Validée le %(date)s (écriture du système, sans auteur nommé)", date=when)


def _validation_text(a: ActivityDoc, t: dict[str, str]) -> str:
    """Who validated what is printed, and when: the register shows the last validated version of
    a fiche changed since, and says plainly that a fiche never validated is not (see
    registers.documents.data)."""
    if a.pending_status is not None and a.validated_at is not None:
        return _(
            "Dernière version : %(validated)s. Des modifications ultérieures (statut actuel : "
            "%(status)s) attendent la validation du DPO : elles ne figurent pas dans ce document.",
            validated=_validated_by(a),
            status=a.pending_status,
        )
    if not a.is_validated:
        return t["not_validated"]
    return _validated_by(a) + "."


def _completeness_text(a: ActivityDoc) -> str:
    if not a.missing:
        return _percent(a.completeness)
    return _("%(score)s — manque : %(missing)s", score=_percent(a.completeness), missing=", ".join(a.missing))


def _transfers_table(rows: tuple[TransferRow, ...], t: dict[str, str]) -> Flowable:
    return pdf.table_of(
        rows,
        [
            (t["recipient"], 3, lambda r: r.recipient),
            (t["country"], 2, lambda r: r.country),
            (t["safeguard"], 3, lambda r: r.safeguard),
            (t["documentation"], 4, lambda r: r.documentation),
        ],
        t["no_transfer"],
    )


def activity_section(a: ActivityDoc, t: dict[str, str] | None = None) -> list[Flowable]:
    """Every field of a fiche, in the order of the CNIL register model."""
    t = t or texts()
    st = pdf.styles()
    yes_no = {True: t["yes"], False: t["no"]}
    title = f"{a.reference}{pdf.NBSP}— {a.name}"  # the reference never ends a line alone
    if a.is_draft:
        title += f" — {t['draft']}"
    story: list[Flowable] = [pdf.anchored(pdf.line(title, st.h1), a.id)]
    if a.is_draft:
        story.append(para(t["draft_note"], st.muted))
    if a.is_model:
        story.append(para(t["model"], st.muted))

    identity: list[tuple[str, Any]] = [
        (t["reference"], a.reference),
        (t["name"], a.name),
        (t["status"], a.status),
        (t["validation"], _validation_text(a, t)),
        (t["next_review_on"], long_date(a.next_review_on)),
        (t["application_ids"], pdf.bullets(a.applications)),
        (t["created"], long_datetime(a.created_at)),
        (t["updated"], long_datetime(a.updated_at)),
        (t["completeness"], _completeness_text(a)),
    ]
    inherited = _inheritance_text(a)
    if inherited:
        identity.append((t["inheritance"], inherited))
    story.append(pdf.field_table(identity))

    story += pdf.heading(t["controllers"], st.h2, keep=25 * mm)
    story.append(
        pdf.field_table(
            [(t["joint_controllers"], a.joint_controllers), (t["representative"], a.representative)]
        )
    )

    story += pdf.heading(t["purposes"], st.h2, keep=25 * mm)
    story.append(
        pdf.field_table(
            [
                (t["purpose"], a.purpose),
                (t["sub_purposes"], pdf.bullets(a.sub_purposes)),
                (t["legal_basis"], a.legal_basis),
                (t["legal_basis_text"], a.legal_basis_text),
            ]
        )
    )

    story += pdf.heading(t["subjects"], st.h2, keep=25 * mm)
    story.append(
        pdf.field_table(
            [
                (t["data_subjects"], pdf.bullets(a.data_subjects)),
                (t["data_subjects_other"], a.data_subjects_other),
            ]
        )
    )

    story += pdf.heading(t["data_categories"], st.h2, keep=30 * mm)
    story.append(
        pdf.table_of(
            a.data_categories,
            [
                (t["category"], 3, lambda c: c.category),
                (t["details"], 3, lambda c: c.details),
                (t["active"], 2, lambda c: c.active),
                (t["intermediate"], 2, lambda c: c.intermediate),
                (t["final"], 2, lambda c: c.final),
            ],
            t["no_category"],
        )
    )

    story += pdf.heading(t["sensitive_data"], st.h2, keep=25 * mm)
    story.append(
        pdf.field_table(
            [
                (t["has_sensitive"], yes_no[a.has_sensitive_data]),
                (t["sensitive_data"], pdf.bullets(a.sensitive_data) if a.sensitive_data else t["none_f"]),
                (t["art9_exception"], a.art9_exception),
                (t["sensitive_details"], a.sensitive_details),
            ]
        )
    )

    story += pdf.heading(t["recipients"], st.h2, keep=25 * mm)
    story.append(
        pdf.table_of(
            a.recipients,
            [
                (t["type"], 3, lambda r: r.type),
                (t["name"], 4, lambda r: r.name),
                (t["linked_org"], 4, lambda r: r.organisation),
            ],
            t["no_recipient"],
        )
    )

    story += pdf.heading(t["transfers"], st.h2, keep=25 * mm)
    story.append(_transfers_table(a.transfers, t))

    story += pdf.heading(t["security_measures"], st.h2, keep=25 * mm)
    story.append(
        pdf.table_of(
            a.security_measures,
            [(t["measure"], 4, lambda m: m.measure), (t["details"], 7, lambda m: m.details)],
            t["no_measure"],
        )
    )

    story += pdf.heading(t["dpia"], st.h2, keep=30 * mm)
    verdict = t["dpia_required"] if a.dpia_required else t["dpia_not_required"]
    story.append(
        pdf.field_table(
            [
                (t["dpia_criteria"], pdf.bullets(a.dpia_criteria) if a.dpia_criteria else t["none_m"]),
                (t["dpia_cnil_required"], a.dpia_cnil_required),
                (t["dpia_cnil_exempt"], a.dpia_cnil_exempt),
                (t["verdict"], "\n".join((verdict, *a.dpia_reasons))),
                (t["dpia_justification"], a.dpia_justification),
                (t["dpia_status"], a.dpia_status),
                (t["dpia_done_on"], long_date(a.dpia_done_on)),
            ]
        )
    )
    return story


# --- the register (Art. 30.1) ---------------------------------------------------------------------


def _org_rows(org: OrgHeader) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        (_("Responsable du traitement"), org.name),
        (_("SIREN"), org.siren),
        (_("Adresse"), org.address),
    ]
    if org.head:
        rows.append((_("Représentant légal"), org.head))
    rows += [
        (_("Délégué à la protection des données"), org.dpo_name),
        (_("Coordonnées du DPO"), org.dpo_contact),
        (_("Numéro de désignation CNIL du DPO"), org.cnil_dpo_number),
    ]
    if org.syndicate:
        rows.append((_("Syndicat informatique"), org.syndicate))
    return rows


def _fitting_width(header: str, values: Iterable[str]) -> float:
    """The width of a summary column in which no word is cut: the widest word of its header (bold)
    and of its values. A reference is one word: "SIIM94-TRT-001" never spreads over two lines,
    where it would read as two references. At most a third of the page (a 30-character reference
    fits in less)."""
    f = pdf.fonts()
    widest = max(
        [pdf.pdfmetrics.stringWidth(word, f.bold, pdf.CELL_SIZE) for word in pdf.plain(header).split()]
        + [
            pdf.pdfmetrics.stringWidth(word, f.regular, pdf.CELL_SIZE)
            for value in values
            for word in pdf.plain(value).split()
        ]
    )
    return min(widest + 2 * pdf.PADDING + 1, pdf.CONTENT_WIDTH / 3)


def _summary(doc: RegisterDoc, pages: Mapping[Hashable, int], t: dict[str, str]) -> list[Flowable]:
    """The table of the fiches, with the page each one starts on (``pages``: fiche id → page, found
    by laying the document out: :func:`reports.pdf.build_with_pages`)."""
    st = pdf.styles()
    fixed: list[tuple[str, Callable[[ActivityDoc], str]]] = [
        (_("Référence"), lambda a: a.reference),
        (_("Statut"), lambda a: t["draft"] if a.is_draft else a.status),
        (_("Données sensibles"), lambda a: yes_no(a.has_sensitive_data)),
        (_("AIPD requise"), lambda a: yes_no(a.dpia_required)),
        (_("Complétude"), lambda a: _percent(a.completeness)),
        (_("Page"), lambda a: str(pages[a.id]) if a.id in pages else "…"),
    ]
    # Short columns take what their words need (a page number up to 9999); the name and the legal
    # basis share the rest.
    widths = [
        _fitting_width(header, [*(value(a) for a in doc.activities), "9999" if i == len(fixed) - 1 else ""])
        for i, (header, value) in enumerate(fixed)
    ]
    rest = pdf.CONTENT_WIDTH - sum(widths)
    columns = [(header, width, value) for (header, value), width in zip(fixed, widths, strict=True)]
    columns.insert(1, (_("Nom du traitement"), rest * 0.5, lambda a: a.name))
    columns.insert(3, (_("Base légale"), rest * 0.5, lambda a: a.legal_basis))
    return [
        pdf.line(_("Synthèse des fiches"), st.h1),
        pdf.table_of(doc.activities, columns, _("Ce registre ne contient aucune fiche.")),
    ]


def register_pdf(doc: RegisterDoc, progress: Callable[[float], None] | None = None) -> bytes:
    org = doc.organisation
    title = _("Registre des activités de traitement — article 30.1 du RGPD")
    count = len(doc.activities)
    facts = [
        *_org_rows(org),
        (_("Date de génération"), long_datetime(doc.generated_at)),
        (_("Nombre de fiches"), str(count)),
        (_("Complétude moyenne"), _percent(doc.average_completeness)),
    ]
    t = texts()
    if doc.include_drafts:
        facts.append((_("Brouillons"), _("Repris, marqués %(mark)s", mark=t["draft"])))
    else:
        facts.append((_("Brouillons"), _("Non repris (%(n)d brouillon(s) écarté(s))", n=doc.drafts_left_out)))
    notes = [
        _(
            "Les fiches archivées ne figurent pas dans ce registre (%(n)d fiche(s) archivée(s)).",
            n=doc.archived_count,
        ),
        _(
            "Une fiche modifiée depuis sa validation figure dans sa dernière version validée par le "
            "DPO ; une fiche qui n'a jamais été validée est signalée comme telle."
        ),
        _(
            "Document généré par Égide. Son empreinte SHA-256 est affichée sur la page de "
            "téléchargement et consignée dans le journal de l'organisation."
        ),
    ]
    if doc.include_drafts:
        notes.insert(
            1,
            _(
                "À la demande de la personne qui l'a généré, ce document reprend aussi les brouillons "
                "(fiches en cours de rédaction, jamais validées), marqués %(mark)s dans la synthèse et "
                "en tête de leur fiche.",
                mark=t["draft"],
            ),
        )
    else:
        notes.insert(
            1,
            _(
                "Les brouillons (fiches en cours de rédaction, jamais validées) ne figurent pas dans ce "
                "registre ; les fiches en relecture y figurent, dans leur dernière version validée quand "
                "elles en ont une."
            ),
        )

    # The fiches are built once: every pass lays out the same flowables (only the summary changes).
    sections: list[Flowable] = []
    for activity in doc.activities:
        sections.append(PageBreak())
        sections += activity_section(activity, t)

    def story(pages: Mapping[Hashable, int]) -> list[Flowable]:
        return [*pdf.cover_page(title, org.name, facts, notes), *_summary(doc, pages, t), *sections]

    info = pdf.DocInfo(
        title=f"{title} — {org.name}",
        subject=_("Registre RGPD %(of_org)s : %(n)d fiche(s)", of_org=of(org.name), n=count),
        author=org.name,
        generated_at=doc.generated_at,
        running_title=_("Registre des activités de traitement %(of_org)s", of_org=of(org.name)),
    )
    return pdf.build_with_pages(story, info, progress=progress, sections=count)


# --- a single fiche -------------------------------------------------------------------------------


def activity_pdf(doc: SingleActivityDoc) -> bytes:
    st = pdf.styles()
    org, a = doc.organisation, doc.activity
    story: list[Flowable] = [
        para(_("Fiche de traitement — extrait du registre (article 30.1 du RGPD)"), st.title),
        para(
            _("%(org)s — généré le %(when)s", org=org.name, when=long_datetime(doc.generated_at)), st.subtitle
        ),
        Spacer(1, 3 * mm),
        pdf.field_table(_org_rows(org)),
        Spacer(1, 4 * mm),
        *activity_section(a),
    ]
    info = pdf.DocInfo(
        title=_("Fiche %(ref)s — %(name)s", ref=a.reference, name=a.name),
        subject=_("Fiche de traitement du registre RGPD %(of_org)s", of_org=of(org.name)),
        author=org.name,
        generated_at=doc.generated_at,
        running_title=f"{org.name} — {a.reference} — {a.name}",
    )
    return pdf.build(story, info)


# --- the processor register (Art. 30.2) -----------------------------------------------------------


def _sub_processor_text(sp: SubProcessorDoc) -> str:
    contract = [sp.contract_reference]
    if sp.contract_signed_on:
        contract.append(_("signé le %(d)s", d=long_date(sp.contract_signed_on)))
    return "\n".join(
        x
        for x in (
            " — ".join(c for c in contract if c),
            _(
                "Clauses de l'article 28.3 présentes : %(n)d sur %(t)d",
                n=sp.clauses_present,
                t=sp.clauses_total,
            ),
            sp.data_location,
            ", ".join(sp.certifications),
        )
        if x
    )


def application_section(a: ServedApplicationDoc) -> list[Flowable]:
    """One application served: its processing categories (what is known, nothing standing in for
    what is not), its transfers, its sub-processors and their contracts."""
    st = pdf.styles()
    story: list[Flowable] = pdf.heading(a.name, st.h2, keep=35 * mm)
    story.append(
        para(
            " · ".join(
                x
                for x in (
                    a.hosting,
                    a.editor,
                    ngettext(
                        "%(num)d responsable de traitement",
                        "%(num)d responsables de traitement",
                        a.controllers,
                    ),
                )
                if x
            ),
            st.muted,
        )
    )
    for c in a.categories:
        rows: list[tuple[str, Any]] = [(_("Traitement"), f"{c.reference} — {c.name}")]
        if c.purpose:
            rows.append((_("Finalité"), c.purpose))
        if c.data_categories:
            rows.append((_("Catégories de données"), pdf.bullets(c.data_categories)))
        rows.append((_("Données sensibles"), yes_no(c.has_sensitive_data)))
        if c.measures:
            rows.append(
                (_("Mesures de sécurité"), "\n".join(f"{label} : {details}" for label, details in c.measures))
            )
        story += [Spacer(1, 2 * mm), pdf.field_table(rows)]
    if a.transfers:
        story += [Spacer(1, 2 * mm), _transfers_table(a.transfers, texts())]
    if a.sub_processors:
        story.append(Spacer(1, 2 * mm))
        story.append(
            pdf.table_of(
                a.sub_processors,
                [
                    (_("Sous-traitant ultérieur"), 3, lambda sp: sp.name),
                    (_("Prestation"), 4, lambda sp: sp.service or ""),
                    (_("Contrat"), 5, _sub_processor_text),
                ],
                "",
            )
        )
    return story


def _signoff_text(doc: ProcessorDoc) -> str:
    if doc.signoff is None:
        return _("Non validé par le délégué à la protection des données à la date de génération.")
    return _(
        "Validé par %(name)s, délégué à la protection des données, le %(when)s.",
        name=doc.signoff.name,
        when=long_datetime(doc.signoff.signed_at),
    )


def processor_register_pdf(doc: ProcessorDoc) -> bytes:
    org = doc.syndicate
    st = pdf.styles()
    title = _("Registre des activités de traitement du sous-traitant — article 30.2 du RGPD")
    facts = [
        (_("Sous-traitant"), org.name),
        (_("SIREN"), org.siren),
        (_("Adresse"), org.address),
        (_("Délégué à la protection des données"), org.dpo_name),
        (_("Coordonnées du DPO"), org.dpo_contact),
        (_("Numéro de désignation CNIL du DPO"), org.cnil_dpo_number),
        (_("Date de génération"), long_datetime(doc.generated_at)),
        (_("Responsables de traitement servis"), str(len(doc.controllers))),
        (_("Applications concernées"), str(len(doc.applications))),
        (_("Validation"), _signoff_text(doc)),
    ]
    notes = [
        _(
            "Établi à partir du catalogue des applications hébergées par le syndicat ou fournies en SaaS, "
            "des abonnements en cours des adhérents, des modèles de fiches du syndicat et de ses contrats "
            "de sous-traitance : chaque application est décrite une fois (partie 1), puis chaque "
            "responsable de traitement avec les applications qu'il utilise (partie 2)."
        )
    ]
    if doc.to_complete:
        notes.append(
            ngettext(
                "À la date de génération, %(num)d point reste à compléter dans Égide (page du registre de "
                "sous-traitant) : il n'est pas imprimé ici.",
                "À la date de génération, %(num)d points restent à compléter dans Égide (page du registre de "
                "sous-traitant) : ils ne sont pas imprimés ici.",
                doc.to_complete,
            )
        )
    if doc.signoff is not None and doc.signoff.note:
        notes.append(_("Observation du DPO : %(note)s", note=doc.signoff.note))
    story = pdf.cover_page(title, org.name, [(k, v) for k, v in facts if v], notes)
    story += pdf.heading(_("1. Catégories de traitements effectués pour le compte des adhérents"), st.h1)
    if not doc.applications:
        story.append(para(_("Aucun responsable de traitement servi à ce jour."), st.body))
    for application in doc.applications:
        story += application_section(application)
    story.append(PageBreak())
    story += pdf.heading(_("2. Responsables de traitement servis"), st.h1)
    story.append(
        pdf.table_of(
            doc.controllers,
            [
                (
                    _("Responsable du traitement"),
                    4,
                    lambda c: "\n".join(
                        x for x in (c.name, f"SIREN {c.siren}" if c.siren else "", c.address) if x
                    ),
                ),
                (_("Délégué à la protection des données"), 4, lambda c: c.dpo or _("non désigné")),
                (_("Applications utilisées"), 5, lambda c: ", ".join(c.applications)),
            ],
            _("Aucun responsable de traitement servi à ce jour."),
        )
    )
    info = pdf.DocInfo(
        title=f"{title} — {org.name}",
        subject=_(
            "Registre de sous-traitant de %(org)s : %(n)d responsable(s) de traitement",
            org=org.name,
            n=len(doc.controllers),
        ),
        author=org.name,
        generated_at=doc.generated_at,
        running_title=f"{org.name} — {_('Registre du sous-traitant')}",
    )
    return pdf.build(story, info)
