"""The organisation switch and chooser, and the organisations. Thin: load → authorise → service → commit."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accounts.blueprint import bp
from accounts.forms.organisations import DepartureForm, OrganisationForm
from accounts.models import ORGANISATION_COUNT_CAP, Organisation, OrgKind, OrgRelation
from accounts.services import organisations
from core.extensions import db
from core.forms import handle_form, to_choices
from core.pagination import paginate
from core.params import int_arg, page_arg
from core.redirects import safe_target
from core.security import Permission, login_required, require
from core.templating import options_of
from core.tenancy import current_org, get_scoped_or_404, set_active_org


@bp.route("/active-organisation", methods=["POST"])
@login_required
def switch_organisation() -> Any:
    org_id = int_arg("organisation_id", source=request.form)
    if org_id is None or not set_active_org(org_id):
        abort(404)
    flash(_("Organisation active : %(name)s", name=current_org.name), "info")
    return redirect(safe_target(request.form.get("next")))


HEADER_SELECT_MAX = ORGANISATION_COUNT_CAP - 1  # the header offers a select up to this many, a page beyond


@bp.app_template_global()
def organisation_switch() -> tuple[int, dict[int, Any] | None]:
    """What the header's organisation switch needs on every page: how many organisations the user
    holds a role in — counted no further than one past :data:`HEADER_SELECT_MAX` (``User.facts``): a
    mutualised DPO serves thousands, and beyond the limit the header links to the searchable
    chooser — and, when they fit in its select (2 to the limit), the choices (organisation, roles)."""
    count = current_user.facts.organisation_count
    return count, current_user.organisation_roles() if 1 < count <= HEADER_SELECT_MAX else None


@bp.route("/active-organisation")
@login_required
def organisation_chooser() -> Any:
    """The organisations of the logged-in user, searchable: for those who serve too many of them
    for the header's select (a mutualised DPO)."""
    q = request.args.get("q", "").strip()[:100]
    return render_template(
        "accounts/organisation_chooser.html",
        page=organisations.my_organisations(current_user, q, page=page_arg()),
        q=q,
        next_url=safe_target(request.args.get("next")),
    )


# --- organisations -----------------------------------------------------------------------------


@bp.route("/organisations/")
@require(Permission.ORGANISATIONS_VIEW)
def organisation_list() -> Any:
    filters = organisations.OrganisationFilters(
        q=request.args.get("q", "").strip()[:100],
        kind=request.args.get("kind", ""),
        relation=request.args.get("relation", ""),
        syndicate_id=int_arg("syndicate"),
        status=request.args.get("status", "active"),
        dpo=request.args.get("dpo", ""),
    )
    page = paginate(organisations.organisations_query(filters))
    counts = organisations.member_counts([o.id for o in page.items if o.is_syndicate])
    syndicates = organisations.syndicates()
    return render_template(
        "accounts/organisation_list.html",
        page=page,
        filters=filters,
        member_counts=counts,
        syndicates=syndicates,
        syndicates_choices=[(s.id, s.name) for s in syndicates],
        kinds=options_of(OrgKind),
        relations=options_of(OrgRelation),
    )


@bp.route("/organisations/<int:org_id>")
@require(Permission.ORGANISATIONS_VIEW)
def organisation_detail(org_id: int) -> Any:
    org = get_scoped_or_404(Organisation, org_id)
    return render_template(
        "accounts/organisation_detail.html", org=org, children=organisations.organisation_children(org)
    )


def _organisation_form_choices(form: OrganisationForm, org: Organisation | None = None) -> None:
    form.syndicate_id.choices = to_choices(((s.id, s.name) for s in organisations.syndicates()), blank="—")
    syndicate_id = org.catalogue_owner_id if org else None
    form.parent_id.choices = to_choices(
        organisations.organisation_choices(syndicate_id=syndicate_id, exclude_id=org.id if org else None),
        blank="—",
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
@require(Permission.ORGANISATIONS_MANAGE)
def organisation_new() -> Any:
    form = OrganisationForm()
    _organisation_form_choices(form)
    return handle_form(
        form,
        lambda data: organisations.create_organisation(current_user, data),
        template="accounts/organisation_form.html",
        success_message=_("Organisation créée."),
        success_url=lambda org: url_for("accounts.organisation_detail", org_id=org.id),
        org=None,
    )


@bp.route("/organisations/<int:org_id>/edit", methods=["GET", "POST"])
@require(Permission.ORGANISATIONS_EDIT)
def organisation_edit(org_id: int) -> Any:
    org = get_scoped_or_404(Organisation, org_id)
    form = OrganisationForm(obj=org)
    # The structure (type, relation, syndicate, parent) only with the platform permission: for
    # everybody else the fields leave the form (shown read-only), so a forged post changes nothing.
    structure_locked = not organisations.may_change_structure(current_user)
    if structure_locked:
        form.without(organisations.STRUCTURAL_FIELDS)
    else:
        _organisation_form_choices(form, org)
    return handle_form(
        form,
        lambda data: organisations.update_organisation(org, current_user, data),
        template="accounts/organisation_form.html",
        success_message=_("Organisation enregistrée."),
        success_url=lambda o: url_for("accounts.organisation_detail", org_id=o.id),
        org=org,
        structure_locked=structure_locked,
        structure_locked_message=organisations.STRUCTURE_LOCKED_MESSAGE,
    )


@bp.route("/organisations/<int:org_id>/departure", methods=["GET", "POST"])
@require(Permission.ORGANISATIONS_MANAGE)
def organisation_departure(org_id: int) -> Any:
    org = get_scoped_or_404(Organisation, org_id)
    form = DepartureForm(obj=org)
    form.merged_into_id.choices = to_choices(
        organisations.organisation_choices(syndicate_id=org.catalogue_owner_id, exclude_id=org.id), blank="—"
    )
    return handle_form(
        form,
        lambda data: organisations.record_departure(org, current_user, data),
        template="accounts/organisation_departure.html",
        success_message=_("Départ enregistré : l'historique de l'organisation reste consultable."),
        success_url=lambda o: url_for("accounts.organisation_detail", org_id=o.id),
        org=org,
    )


@bp.route("/organisations/<int:org_id>/rejoin", methods=["POST"])
@require(Permission.ORGANISATIONS_MANAGE)
def organisation_rejoin(org_id: int) -> Any:
    org = get_scoped_or_404(Organisation, org_id)
    organisations.cancel_departure(org, current_user, {"version": org.version})
    db.session.commit()
    flash(_("L'organisation est de nouveau active."), "success")
    return redirect(url_for("accounts.organisation_detail", org_id=org.id))
