"""Outgoing e-mail (password resets, invitations, security notifications).

Through SMTP (Flask-Mail) when ``MAIL_SERVER`` is configured (``EGIDE_MAIL_SERVER``, ``EGIDE_MAIL_PORT``,
``EGIDE_MAIL_USE_TLS``, ``EGIDE_MAIL_USERNAME``, ``EGIDE_MAIL_PASSWORD``, ``EGIDE_MAIL_DEFAULT_SENDER``).
Without it (development), the message is written to the log instead, links included, so a developer
can follow them. Tests read ``outbox``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from flask_mail import Message

from core.extensions import mailer

logger = logging.getLogger("egide.mail")


@dataclass(frozen=True)
class SentMail:
    to: str
    subject: str
    body: str
    html: str | None = None  # the same message as simple HTML, when it has one (the weekly digest)


outbox: list[SentMail] = []  # filled when TESTING, emptied by the test fixtures


def send_mail(to: str, subject: str, body: str, *, html: str | None = None) -> None:
    if current_app.config.get("TESTING"):
        outbox.append(SentMail(to, subject, body, html))
        return
    if not current_app.config.get("MAIL_SERVER"):
        logger.info("e-mail (no MAIL_SERVER configured, not sent) to=%s subject=%s\n%s", to, subject, body)
        return
    mailer.send(Message(subject=subject, recipients=[to], body=body, html=html))
