"""The accounts blueprint: its URL rules are declared by the views, which import it from here."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)
