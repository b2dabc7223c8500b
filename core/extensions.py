"""Unbound Flask extensions, initialised in :func:`core.create_app`."""

from flask_alembic import Alembic
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_sqlalchemy_lite import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect

from core.db import Base

db = SQLAlchemy()
alembic = Alembic(metadatas=Base.metadata)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Registered before CSRFProtect so that application-wide limits also count requests CSRF rejects
# (see STACK.md §1.7); per-view limits are added by the account-security work.
limiter = Limiter(key_func=get_remote_address)
talisman = Talisman()
mailer = Mail()  # not "mail": that name is the core.mail module
