"""The platform administration of user accounts and their roles. Thin: load → authorise → service → commit."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accounts.blueprint import bp
from accounts.forms.users import MembershipForm, UserCreateForm, UserForm
from accounts.models import Organisation, User
from accounts.services import auth, organisations, users
from core.db import utcnow
from core.extensions import db
from core.forms import FieldError, handle_form, to_choices
from core.pagination import paginate
from core.security import Permission, Role, require
from core.tenancy import get_scoped_or_404


@bp.route("/admin/users/")
@require(Permission.USERS_MANAGE)
def user_list() -> Any:
    q = request.args.get("q", "").strip()[:100]
    status = request.args.get("status", "")
    status = status if status in users.USER_STATUSES else ""
    page = paginate(users.users_query(q, status))
    return render_template(
        "accounts/user_list.html",
        page=page,
        q=q,
        status=status,
        memberships=users.memberships_of(page.items),
        now=utcnow(),
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@require(Permission.USERS_MANAGE)
def user_new() -> Any:
    return handle_form(
        UserCreateForm(),
        lambda data: users.create_user(current_user, data),
        template="accounts/user_form.html",
        success_message=_("Compte créé. Donnez-lui maintenant un ou plusieurs rôles."),
        success_url=lambda user: url_for("accounts.user_detail", user_id=user.id),
        user=None,
    )


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@require(Permission.USERS_MANAGE)
def user_detail(user_id: int) -> Any:
    user = get_scoped_or_404(User, user_id)
    form = MembershipForm()
    form.organisation_id.choices = to_choices(organisations.organisation_choices(), blank=_("Choisissez…"))
    return handle_form(
        form,
        lambda data: users.grant_role(
            user, get_scoped_or_404(Organisation, data["organisation_id"]), Role(data["role"]), current_user
        ),
        template="accounts/user_detail.html",
        success_message=_("Rôle attribué."),
        success_url=lambda m: url_for("accounts.user_detail", user_id=user.id),
        user=user,
        memberships=users.memberships_of([user])[user.id],
        now=utcnow(),
    )


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@require(Permission.USERS_MANAGE)
def user_edit(user_id: int) -> Any:
    user = get_scoped_or_404(User, user_id)
    return handle_form(
        UserForm(obj=user),
        lambda data: users.update_user(user, current_user, data),
        template="accounts/user_form.html",
        success_message=_("Compte enregistré."),
        success_url=lambda u: url_for("accounts.user_detail", user_id=u.id),
        user=user,
    )


@bp.route("/admin/users/<int:user_id>/memberships/<int:membership_id>/revoke", methods=["POST"])
@require(Permission.USERS_MANAGE)
def membership_revoke(user_id: int, membership_id: int) -> Any:
    membership = users.get_active_membership(user_id, membership_id)
    if membership is None:
        abort(404)
    try:
        users.revoke_role(membership, current_user)
    except FieldError as error:
        flash(error.message, "danger")
        return redirect(url_for("accounts.user_detail", user_id=user_id))
    db.session.commit()
    flash(_("Rôle retiré."), "success")
    return redirect(url_for("accounts.user_detail", user_id=user_id))


def _admin_action(user_id: int, action: Any, message: str) -> Any:
    user = get_scoped_or_404(User, user_id)
    action(user)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("accounts.user_detail", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/unlock", methods=["POST"])
@require(Permission.USERS_MANAGE)
def user_unlock(user_id: int) -> Any:
    return _admin_action(user_id, lambda u: auth.unlock(u, current_user), _("Compte débloqué."))


@bp.route("/admin/users/<int:user_id>/mfa-reset", methods=["POST"])
@require(Permission.USERS_MANAGE)
def user_mfa_reset(user_id: int) -> Any:
    return _admin_action(
        user_id,
        lambda u: auth.reset_mfa(u, current_user),
        _(
            "Double authentification réinitialisée : la personne l'activera de nouveau à sa prochaine "
            "connexion."
        ),
    )


@bp.route("/admin/users/<int:user_id>/invite", methods=["POST"])
@require(Permission.USERS_MANAGE)
def user_invite(user_id: int) -> Any:
    return _admin_action(user_id, lambda u: auth.invite(u, current_user), _("Invitation envoyée."))
