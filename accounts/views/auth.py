"""Login, second factor, logout, own account (password, MFA, sessions), reset and invitation links.

Every route declares its policy. The half-open state (password accepted, second factor pending) is
enforced by ``enforce_second_factor`` (registered in accounts.register): such a session reaches only
the MFA pages, logout and the language switch.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from accounts.blueprint import bp
from accounts.forms.auth import (
    ApiTokenForm,
    DigestForm,
    LoginForm,
    PasswordChangeForm,
    PasswordForgotForm,
    PasswordSetForm,
    ReauthenticateForm,
    SecondFactorForm,
)
from accounts.models import ORGANISATION_COUNT_CAP, TokenPurpose
from accounts.services import api_tokens, auth
from accounts.services.passwords import verify_password
from core.extensions import db, limiter
from core.forms import FieldError
from core.redirects import safe_target
from core.security import login_required, public
from core.tenancy import current_org

HALF_OPEN_ENDPOINTS = frozenset(
    {"accounts.mfa_verify", "accounts.mfa_enrol", "accounts.logout", "accounts.password_strength"}
    | {"core.set_language", "core.healthz", "static"}
)
AFTER_MFA = "after_mfa"


def _rate(key: str) -> Any:
    return lambda: current_app.config[key]


def _fresh_flask_session() -> None:
    """Drop everything from before login, keep the chosen language (ASVS 3.2.1)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def second_factor_pending() -> bool:
    row = auth.current_session()
    return bool(row and row.mfa_verified_at is None and (current_user.has_mfa or current_user.requires_mfa()))


def enforce_second_factor() -> Any:
    if request.endpoint in HALF_OPEN_ENDPOINTS or not second_factor_pending():
        return None
    return redirect(url_for("accounts.mfa_verify" if current_user.has_mfa else "accounts.mfa_enrol"))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_rate("LOGIN_RATE_LIMIT"), methods=["POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = auth.authenticate(form.email.data, form.password.data)
        if user is not None:
            _fresh_flask_session()
            auth.start_session(user)
            login_user(user)
            db.session.commit()
            target = safe_target(request.args.get("next"))
            if user.has_mfa or user.requires_mfa():
                session[AFTER_MFA] = target
                return redirect(url_for("accounts.mfa_verify" if user.has_mfa else "accounts.mfa_enrol"))
            return redirect(target)
        db.session.commit()  # failure counter and journal entry
        form.password.errors = [
            _(
                "Adresse ou mot de passe incorrect. Après plusieurs échecs, le compte est bloqué quelques "
                "minutes."
            )
        ]
    return render_template("accounts/login.html", form=form)


@bp.route("/login/second-factor", methods=["GET", "POST"])
@login_required
@limiter.limit(_rate("LOGIN_RATE_LIMIT"), methods=["POST"])
def mfa_verify() -> Any:
    if not second_factor_pending():
        return redirect(url_for("core.index"))
    if not current_user.has_mfa:
        return redirect(url_for("accounts.mfa_enrol"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        try:
            passed = auth.verify_second_factor(current_user, form.code.data)
        except FieldError as locked:  # too many failures: the session stays half-open
            db.session.commit()  # failure counter and journal entry
            locked.attach(form)
        else:
            if passed:
                return _second_factor_passed()
            db.session.commit()
            form.code.errors = [_("Code incorrect ou déjà utilisé.")]
    return render_template("accounts/mfa_verify.html", form=form)


def _second_factor_passed(codes: list[str] | None = None) -> Any:
    target = session.pop(AFTER_MFA, None)
    auth.rotate_session(auth.current_session(), mfa_verified=True)  # a new token after MFA
    login_user(current_user._get_current_object())
    db.session.commit()
    if codes:
        return render_template("accounts/recovery_codes.html", codes=codes, next_url=safe_target(target))
    return redirect(safe_target(target))


@bp.route("/account/mfa/enrol", methods=["GET", "POST"])
@login_required
@limiter.limit(_rate("LOGIN_RATE_LIMIT"), methods=["POST"])
def mfa_enrol() -> Any:
    """First enrolment (after the password step), or a new device from the account page."""
    pending = second_factor_pending()
    if current_user.has_mfa and pending:
        return redirect(url_for("accounts.mfa_verify"))
    if current_user.has_mfa and not session.get("reauthenticated"):
        flash(_("Confirmez votre mot de passe pour changer d'appareil d'authentification."), "info")
        return redirect(url_for("accounts.reauthenticate", next=url_for("accounts.mfa_enrol")))
    form = SecondFactorForm()
    form.code.description = _("Saisissez le code à 6 chiffres affiché pour confirmer.")
    if form.validate_on_submit():
        try:
            codes = auth.confirm_enrolment(current_user, form.code.data)
        except FieldError as error:
            db.session.commit()
            error.attach(form)
        else:
            session.pop("reauthenticated", None)
            return _second_factor_passed(codes)
    enrolment = auth.pending_enrolment(current_user) if request.method == "POST" else None
    if enrolment is None:
        enrolment = auth.begin_enrolment(current_user)
        db.session.commit()
    return render_template("accounts/mfa_enrol.html", form=form, enrolment=enrolment, first=pending)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    row = auth.current_session()
    if row is not None:
        auth.revoke_session(row, current_user, "logout")
        db.session.commit()
    logout_user()
    _fresh_flask_session()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("accounts.login"))


# --- own account -------------------------------------------------------------------------------


def _token_form() -> ApiTokenForm:
    form = ApiTokenForm()
    active = current_org._get_current_object()
    form.organisation_id.choices = api_tokens.organisation_choices(
        current_user, active.id if active is not None else None
    )
    form.active_only = current_user.organisation_count() >= ORGANISATION_COUNT_CAP  # the hint below it
    if active is not None and form.organisation_id.data is None:
        form.organisation_id.data = active.id  # the active organisation first
    return form


def _account_page(token_form: ApiTokenForm | None = None, status: int = 200) -> Any:
    return (
        render_template(
            "accounts/account.html",
            sessions=auth.active_sessions(current_user),
            current=auth.current_session(),
            recovery_left=auth.remaining_recovery_codes(current_user),
            digest_form=DigestForm(is_digest_subscribed=current_user.is_digest_subscribed),
            token_form=token_form or _token_form(),
            tokens=api_tokens.own_tokens(current_user),
        ),
        status,
    )


@bp.route("/account/")
@login_required
def account() -> Any:
    return _account_page()


@bp.route("/account/api-tokens", methods=["POST"])
@login_required
def api_token_new() -> Any:
    """A personal access token for the JSON API: shown once, on the page this answers with."""
    form = _token_form()
    if form.validate_on_submit():
        try:
            created = api_tokens.create_token(current_user, form.data)
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            db.session.commit()
            return render_template("accounts/api_token_created.html", created=created)
    return _account_page(form, 422)


@bp.route("/account/api-tokens/<int:api_token_id>/revoke", methods=["POST"])
@login_required
def api_token_revoke(api_token_id: int) -> Any:
    token = api_tokens.get_own_token(current_user, api_token_id)
    if token is None:
        abort(404)
    api_tokens.revoke_token(token, current_user)
    db.session.commit()
    flash(_("Jeton révoqué : il ne permet plus d'appeler l'API."), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/digest", methods=["POST"])
@login_required
def digest_subscription() -> Any:
    form = DigestForm()
    if not form.validate_on_submit():
        abort(400)
    auth.set_digest_subscription(current_user, bool(form.is_digest_subscribed.data))
    db.session.commit()
    if form.is_digest_subscribed.data:
        flash(_("Vous recevrez chaque lundi le récapitulatif des échéances."), "success")
    else:
        flash(_("Vous ne recevrez plus le récapitulatif hebdomadaire."), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/sessions/<int:session_id>/revoke", methods=["POST"])
@login_required
def session_revoke(session_id: int) -> Any:
    row = auth.get_own_session(current_user, session_id)
    if row is None:
        abort(404)
    auth.revoke_session(row, current_user, "revoked by owner")
    db.session.commit()
    flash(_("Session fermée."), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/sessions/revoke-others", methods=["POST"])
@login_required
def sessions_revoke_others() -> Any:
    count = auth.revoke_all_sessions(current_user, "revoked by owner", keep=auth.current_session())
    db.session.commit()
    flash(_("%(n)s autre(s) session(s) fermée(s).", n=count), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_rate("LOGIN_RATE_LIMIT"), methods=["POST"])
def password_change() -> Any:
    form = PasswordChangeForm()
    form._user_inputs = [current_user.email, current_user.full_name]
    if form.validate_on_submit():
        try:
            auth.change_password(current_user, form.current_password.data, form.new_password.data)
        except FieldError as error:
            db.session.commit()  # the failed attempt is journalled
            error.attach(form)
        else:
            db.session.commit()
            flash(_("Mot de passe modifié. Vos autres sessions ont été fermées."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/password_change.html", form=form), 422 if form.errors else 200


@bp.route("/account/reauthenticate", methods=["GET", "POST"])
@login_required
@limiter.limit(_rate("LOGIN_RATE_LIMIT"), methods=["POST"])
def reauthenticate() -> Any:
    """Sensitive actions ask for the password again (ASVS 3.7.1)."""
    form = ReauthenticateForm()
    if form.validate_on_submit():
        if verify_password(current_user.password_hash, form.password.data):
            session["reauthenticated"] = True
            return redirect(safe_target(request.args.get("next")))
        form.password.errors = [_("Mot de passe incorrect.")]
    return render_template("accounts/reauthenticate.html", form=form)


@bp.route("/account/mfa/recovery-codes", methods=["POST"])
@login_required
def recovery_codes_regenerate() -> Any:
    if not session.pop("reauthenticated", False):
        return redirect(url_for("accounts.reauthenticate", next=url_for("accounts.account")))
    codes = auth.regenerate_recovery_codes(current_user)
    db.session.commit()
    return render_template("accounts/recovery_codes.html", codes=codes, next_url=url_for("accounts.account"))


# --- links sent by e-mail ----------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit(_rate("LOGIN_RATE_LIMIT"), methods=["POST"])
def password_forgot() -> Any:
    form = PasswordForgotForm()
    if form.validate_on_submit():
        auth.request_password_reset(form.email.data)
        db.session.commit()
        flash(
            _("Si un compte correspond à cette adresse, un lien de réinitialisation vient d'y être envoyé."),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/password_forgot.html", form=form)


def _set_password_from_link(token: str, purpose: TokenPurpose, template: str) -> Any:
    row = auth.valid_token(token, purpose)
    if row is None:
        return render_template("accounts/link_invalid.html", purpose=purpose), 404
    form = PasswordSetForm()
    form._user_inputs = [row.user.email, row.user.full_name]
    if form.validate_on_submit():
        auth.use_token(row, form.new_password.data)
        db.session.commit()
        flash(_("Mot de passe enregistré. Vous pouvez vous connecter."), "success")
        return redirect(url_for("accounts.login"))
    return render_template(template, form=form, user=row.user), 422 if form.errors else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_rate("LOGIN_RATE_LIMIT"), methods=["POST"])
def password_reset(token: str) -> Any:
    return _set_password_from_link(token, TokenPurpose.RESET, "accounts/password_reset.html")


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_rate("LOGIN_RATE_LIMIT"), methods=["POST"])
def invitation(token: str) -> Any:
    return _set_password_from_link(token, TokenPurpose.INVITE, "accounts/invitation.html")


@bp.route("/password/strength", methods=["POST"])
@public
@limiter.limit("120 per minute")
def password_strength() -> Any:
    """htmx: the strength meter under a new-password field (computed server-side with zxcvbn)."""
    from accounts.services.password_policy import strength  # noqa: PLC0415 — zxcvbn's dictionaries load on first use

    password = next((v for k, v in request.form.items() if k in ("new_password", "password")), "")
    inputs = [current_user.email, current_user.full_name] if current_user.is_authenticated else []
    return render_template("accounts/_password_meter.html", strength=strength(password, user_inputs=inputs))
