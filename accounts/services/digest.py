"""The weekly digest: each Monday morning (France's time), one e-mail to every enabled DPO and
referent who has not opted out ("Mon compte"), listing per organisation the deadlines of the coming
week and the overdue ones, from each domain's ``digest`` contribution (core.domains). Nothing is sent
to whom nothing is due.

The Monday job only lists the recipients and queues one job per recipient: each mail is retried on
its own when the mail server fails, and a retry never sends the others' again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.models import Membership, Organisation, User, membership_is_current
from core.db import local_today
from core.domains import DigestItem, digest_items
from core.extensions import db
from core.jobs import job, paris_crontab
from core.mail import send_mail
from core.security import Role
from core.tenancy import UNSCOPED

logger = logging.getLogger("egide.digest")
WEEK = 7


def recipient_ids() -> list[int]:
    """Enabled accounts, not opted out, DPO or referent of an organisation still a member."""
    holders = (
        select(Membership.user_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(
            Membership.role.in_((Role.DPO, Role.REFERENT)),
            membership_is_current(),
            Organisation.left_on.is_(None),
        )
    )
    stmt = (
        select(User.id)
        .where(User.is_enabled.is_(True), User.is_digest_subscribed.is_(True), User.id.in_(holders))
        .order_by(User.id)
        .execution_options(**UNSCOPED)  # unscoped: the platform's job, for every organisation
    )
    return list(db.session.scalars(stmt))


@job(
    "accounts.weekly_digest",
    label=_l("Récapitulatif hebdomadaire : envoi à chaque destinataire"),
    schedule=paris_crontab("0", "7", "1"),  # Monday, 7:00 in France
)
def weekly_digest() -> int:
    today = local_today()
    ids = recipient_ids()
    for user_id in ids:
        send_digest.enqueue(user_id, today.isoformat())
    logger.info("weekly digest: %s recipient(s) queued", len(ids))
    return len(ids)


@dataclass(frozen=True)
class OrganisationDigest:
    name: str
    overdue: list[DigestItem]
    coming: list[DigestItem]  # due this week, or waiting without a date


def group(items: list[DigestItem], today: date) -> list[OrganisationDigest]:
    grouped = []
    for (_org_id, name), rows in groupby(items, key=lambda i: (i.organisation_id, i.organisation_name)):
        rows = list(rows)
        overdue = [i for i in rows if i.due_on is not None and i.due_on < today]
        grouped.append(OrganisationDigest(name, overdue, [i for i in rows if i not in overdue]))
    return grouped


@job("accounts.send_digest", label=_l("Récapitulatif hebdomadaire d'un destinataire"))
def send_digest(user_id: int, day: str) -> bool:
    """One recipient's digest for the week starting ``day`` (ISO date); False: nothing sent."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_enabled or not user.is_digest_subscribed:
        return False
    today = date.fromisoformat(day)
    until = today + timedelta(days=WEEK - 1)
    items = digest_items(user, today, until)
    if not items:
        return False
    subject, text, html = compose(user, group(items, today), today, until)
    send_mail(user.email, subject, text, html=html)
    logger.info("weekly digest sent to user %s: %s item(s)", user.id, len(items))
    return True


def compose(
    user: User, organisations: list[OrganisationDigest], today: date, until: date
) -> tuple[str, str, str]:
    account_url = (
        url_for("accounts.account", _external=True) if current_app.config.get("SERVER_NAME") else None
    )
    context: dict[str, Any] = {
        "user": user,
        "organisations": organisations,
        "today": today,
        "until": until,
        "account_url": account_url,
    }
    env = current_app.jinja_env
    subject = _("Égide : vos échéances de la semaine du %(d)s", d=today.strftime("%d/%m/%Y"))
    text = env.get_template("mail/_digest.txt").render(context)
    html = env.get_template("mail/_digest.html").render(context)
    return subject, text, html
