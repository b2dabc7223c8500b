from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accounts.models import Organisation
from catalogue.blueprint import bp
from catalogue.forms.applications import ApplicationForm, SubscriptionEndForm, SubscriptionForm
from catalogue.models import AppDomain, Application, Criticality, Hosting, Subscription
from catalogue.services import applications
from core.forms import handle_form, to_choices
from core.pagination import paginate
from core.params import int_arg
from core.security import Permission, can, require
from core.templating import label_tables, options_of
from core.tenancy import current_org, get_scoped_or_404, syndicate_only


def _require_owner(app: Application) -> None:
    """Catalogue writes belong to the syndicate that owns the catalogue."""
    if not can(Permission.CATALOGUE_MANAGE, app):
        abort(403)


@bp.route("/")
@require(Permission.CATALOGUE_VIEW)
def application_list() -> Any:
    filters = applications.ApplicationFilters(
        q=request.args.get("q", "").strip()[:100],
        domain=request.args.get("domain", ""),
        hosting=request.args.get("hosting", ""),
        criticality=request.args.get("criticality", ""),
        # A member sees the applications it uses now; the syndicate may filter by member.
        member_id=int_arg("member") if current_org.is_syndicate else current_org.id,
        member_q=request.args.get("member_q", "").strip()[:100] if current_org.is_syndicate else "",
        include_retired=request.args.get("retired") == "1",
    )
    page = paginate(applications.application_rows_query(filters), scalars=False)  # rows of LIST_COLUMNS
    members: list[tuple[int, str]] | None = []
    member_search = False
    if current_org.is_syndicate:
        # Up to MEMBER_FILTER_MAX, a select of the members; beyond, a search box (nothing loaded).
        limit = applications.MEMBER_FILTER_MAX
        member_search = applications.subscribable_member_count(current_org, up_to=limit + 1) > limit
        members = None if member_search else applications.subscribable_members(current_org)
    # Labels translated once for the page (options and rows), not once a row.
    domains = options_of(AppDomain)
    hostings = options_of(Hosting)
    criticalities = options_of(Criticality)
    return render_template(
        "catalogue/application_list.html",
        page=page,
        filters=filters,
        counts=applications.subscriber_counts([a.id for a in page.items]),
        members=members,
        member_search=member_search,
        domains=domains,
        hostings=hostings,
        criticalities=criticalities,
        labels=label_tables(domain=dict(domains), hosting=dict(hostings), criticality=dict(criticalities)),
    )


@bp.route("/applications/<int:application_id>")
@require(Permission.CATALOGUE_VIEW)
def application_detail(application_id: int) -> Any:
    app = get_scoped_or_404(Application, application_id)
    form, member_q = None, request.args.get("member_q", "").strip()[:100]
    if can(Permission.CATALOGUE_MANAGE, app):
        form = SubscriptionForm()
        candidates = applications.subscribable_members(
            app.syndicate, q=member_q, not_subscribed_to=app, limit=applications.CANDIDATES_SHOWN
        )
        form.organisation_id.choices = to_choices(candidates, blank=_("— choisir —"))
    return render_template(
        "catalogue/application_detail.html",
        app=app,
        subscriptions=applications.subscriptions_of(app),
        form=form,
        member_q=member_q,
    )


@bp.route("/applications/new", methods=["GET", "POST"])
@require(Permission.CATALOGUE_MANAGE)
@syndicate_only
def application_new() -> Any:
    syndicate = current_org._get_current_object()
    return handle_form(
        ApplicationForm(),
        lambda data: applications.create_application(syndicate, current_user, data),
        template="catalogue/application_form.html",
        success_message=_("Application ajoutée au catalogue."),
        success_url=lambda a: url_for("catalogue.application_detail", application_id=a.id),
        app=None,
    )


@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
@require(Permission.CATALOGUE_MANAGE)
def application_edit(application_id: int) -> Any:
    app = get_scoped_or_404(Application, application_id)
    _require_owner(app)
    return handle_form(
        ApplicationForm(obj=app),
        lambda data: applications.update_application(app, current_user, data),
        template="catalogue/application_form.html",
        success_message=_("Application enregistrée."),
        success_url=lambda a: url_for("catalogue.application_detail", application_id=a.id),
        app=app,
    )


@bp.route("/applications/<int:application_id>/subscriptions", methods=["POST"])
@require(Permission.CATALOGUE_MANAGE)
def subscription_new(application_id: int) -> Any:
    app = get_scoped_or_404(Application, application_id)
    _require_owner(app)
    form = SubscriptionForm()
    # Any current member may be named here: the service explains why one cannot be subscribed.
    chosen = int_arg("organisation_id", source=request.form)
    form.organisation_id.choices = to_choices(
        applications.subscribable_members(app.syndicate, only_id=chosen) if chosen else [],
        blank=_("— choisir —"),
    )
    return handle_form(
        form,
        lambda data: applications.subscribe(
            app, get_scoped_or_404(Organisation, data["organisation_id"]), current_user, data
        ),
        template="catalogue/application_detail.html",
        success_message=_("Abonnement enregistré."),
        success_url=lambda s: url_for("catalogue.application_detail", application_id=app.id),
        app=app,
        subscriptions=applications.subscriptions_of(app),
        member_q="",
    )


@bp.route("/subscriptions/<int:subscription_id>/end", methods=["GET", "POST"])
@require(Permission.CATALOGUE_MANAGE)
def subscription_end(subscription_id: int) -> Any:
    sub = get_scoped_or_404(Subscription, subscription_id)
    _require_owner(sub.application)
    return handle_form(
        SubscriptionEndForm(obj=sub),
        lambda data: applications.end_subscription(sub, current_user, data),
        template="catalogue/subscription_end.html",
        success_message=_("Fin d'abonnement enregistrée."),
        success_url=lambda s: url_for("catalogue.application_detail", application_id=s.application_id),
        sub=sub,
    )
