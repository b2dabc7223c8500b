"""The JSON API's shared machinery (issue 13): ``/api/v1``, personal access tokens, problem details,
pagination, ETag/If-Match. No domain here: each domain brings its endpoints as an APIFlask
``APIBlueprint`` in its Domain record (``Domain.api``), which core.domains mounts under :data:`PREFIX`.

* **Library**: APIFlask (the app is an ``APIFlask`` with ``json_errors=False``: the pages keep their
  HTML error pages). It generates the OpenAPI 3.1 document from the endpoints' marshmallow schemas;
  only ``APIBlueprint`` routes are in it.
* **Authentication**: ``Authorization: Bearer egide_pat_…`` only. The session cookie is *not*
  accepted on the API (so there is no CSRF to defend: the API is CSRF-exempt, see core.views): a
  request under :data:`PREFIX` starts anonymous, whatever cookie it carries. A valid token makes the
  request run as its user, with the token's organisation as the active organisation (core.tenancy
  pins it); the user's roles there apply through ``core.security.can``, as on the pages.
  ``token_loader`` is set by the accounts domain, which owns the tokens.
* **Errors**: RFC 9457 ``application/problem+json`` (type, title, status, detail, and ``errors``:
  field → messages), in French or English after ``Accept-Language`` (core.select_locale).
* **Versions**: a record's ``version`` column is its ETag (``W/"3"``); an update needs ``If-Match``
  (428 without, 412 when stale): the same check as the forms' hidden field (core.concurrency).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from apiflask import HTTPError, Schema, fields
from apiflask.validators import Range
from flask import Flask, current_app, g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from core.concurrency import EditConflict
from core.field_errors import FieldError, FieldErrors
from core.pagination import Page
from core.params import MAX_YEAR, MIN_YEAR, date_in_range
from core.security import Permission, can
from core.tenancy import PINNED_ORG

F = TypeVar("F", bound=Callable[..., Any])

PREFIX = "/api/v1"
TOKEN_PREFIX = "egide_pat_"  # noqa: S105 — the tokens' visible prefix, not a secret
PROBLEM_JSON = "application/problem+json"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="egide"'}
API_POLICY = "api"  # access policy marker of API views (tests/core/test_tenancy.py reads policies)

# Set by the accounts domain: raw token → the ApiToken (user, organisation_id, can_write) or None.
token_loader: Callable[[str], Any] | None = None

TITLES: dict[int, Any] = {
    400: _l("Requête invalide"),
    401: _l("Authentification requise"),
    403: _l("Accès refusé"),
    404: _l("Ressource introuvable"),
    405: _l("Méthode non autorisée"),
    409: _l("Conflit"),
    412: _l("Version périmée"),
    413: _l("Requête trop volumineuse"),
    415: _l("Type de contenu non pris en charge"),
    422: _l("Données invalides"),
    428: _l("En-tête If-Match requis"),
    429: _l("Trop de requêtes"),
    500: _l("Erreur interne"),
}


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


# --- problem details ---------------------------------------------------------------------------


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


def problem(
    status: int, detail: str | None = None, errors: Mapping[str, list[str]] | None = None
) -> tuple[dict[str, Any], int, dict[str, str]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": str(TITLES.get(status, TITLES[400 if status < 500 else 500])),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = {k: [str(m) for m in v] for k, v in errors.items()}
    return body, status, {"Content-Type": PROBLEM_JSON}


def problem_response(
    status: int, detail: str | None = None, errors: Any = None, headers: Mapping[str, str] | None = None
) -> Any:
    body, status, problem_headers = problem(status, detail, errors)
    response = current_app.json.response(body)
    response.status_code = status
    response.headers.update({**(headers or {}), **problem_headers})
    return response


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs' nested messages ({"json": {"field": ["…"]}}) → {"field": ["…"]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = str(key) if key not in ("json", "query", "headers", "form") or prefix else ""
            sub = f"{prefix}.{name}" if prefix and name else (name or prefix)
            for k, v in _flatten(value, sub).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list | tuple):
        for item in messages:
            for k, v in _flatten(item, prefix).items():
                out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix or "_", []).append(str(messages))
    return out


def _error_processor(error: HTTPError) -> Any:
    """APIFlask's errors (ours, and its validation errors) as problem details."""
    detail = error.message if error.message and error.message != str(TITLES.get(error.status_code)) else None
    errors = None
    if error.detail:
        errors = _flatten(error.detail)
        detail = detail if error.status_code != 422 or detail != "Validation error" else None
        detail = detail or _("Les données envoyées ne sont pas valides.")
    elif detail and detail == HTTP_STATUS_CODES.get(error.status_code):
        detail = None  # APIFlask's English reason phrase: the title says it
    body, status, headers = problem(error.status_code, detail, errors)
    return body, status, {**dict(error.headers or {}), **headers}


def http_exception_problem(exc: HTTPException) -> Any:
    """An HTTP error under /api/v1 (core.errors calls this): a problem, never an HTML page."""
    response = problem_response(exc.code or 500)
    for key, value in exc.get_headers():
        if key.lower() not in ("content-type", "content-length"):
            response.headers[key] = value
    return response


# --- authentication ----------------------------------------------------------------------------


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate_request() -> Any:
    """Before every API request (core's request hook, before the tenant is resolved): the request
    is anonymous unless it carries a valid token; a token that is given but not valid is a 401."""
    # Flask-Login reads the session cookie only when ``g._login_user`` is unset: never on the API.
    g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]
    g.pop("api_token", None)
    g.pop(PINNED_ORG, None)
    raw = bearer_token()
    if raw is None:
        return None
    token = token_loader(raw) if token_loader is not None and len(raw) <= 200 else None
    if token is None:
        return problem_response(401, _("Jeton d'accès invalide, expiré ou révoqué."), headers=CHALLENGE)
    g._login_user = token.user
    g.api_token = token
    setattr(g, PINNED_ORG, token.organisation_id)
    return None


def current_token() -> Any:
    return g.get("api_token")


def api_require(*permissions: Permission | str, write: bool = False) -> Callable[[F], F]:
    """An API view's policy: a valid token (401), a read-write token for a write (403), and every
    listed permission in the token's organisation (403), checked by ``core.security.can``."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            token = current_token()
            if token is None:
                raise HTTPError(
                    401, _("Indiquez un jeton d'accès : « Authorization: Bearer … »."), headers=CHALLENGE
                )
            if write and not token.can_write:
                raise HTTPError(403, _("Ce jeton ne permet que la lecture."))
            if not all(can(p) for p in permissions):
                raise HTTPError(403, _("Vos rôles dans cette organisation ne le permettent pas."))
            return view(*args, **kwargs)

        wrapped.__access_policy__ = (API_POLICY, *permissions)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


# --- writes through the services ---------------------------------------------------------------


def etag(obj: Any) -> str:
    return f'W/"{obj.version}"'


def if_match_version(obj: Any) -> int:
    """The version the client read (from ``If-Match``): 428 without it, 412 when it is not the
    stored one. Returned for the service, which checks it again (core.concurrency)."""
    header = request.headers.get("If-Match")
    if not header:
        raise HTTPError(428, _("Indiquez la version lue dans l'en-tête If-Match (ETag de la ressource)."))
    wanted = [tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")]
    if "*" in wanted:
        return int(obj.version)
    if str(obj.version) not in wanted:
        raise HTTPError(412, _("La ressource a été modifiée depuis votre lecture : relisez-la."))
    return int(obj.version)


def patch_through(
    obj: Any,
    update: Callable[[Any, Any, dict[str, Any]], Any],
    data: Mapping[str, Any],
    *,
    keep: Mapping[str, Any] = MappingProxyType({}),
) -> Any:
    """A versioned write (a PATCH, or an action on a record such as ending a subscription), the one
    way every domain's API does it: the version the client read (If-Match:
    428 without it, 412 when stale), the record's values ``keep`` with the fields sent over them (a
    field not sent keeps its value), the service's write (``update(obj, user, values)``: 422 / 412),
    one commit. Returns what the service returned."""
    from core.extensions import db  # noqa: PLC0415 — the app's session, as in call_service

    values = {**keep, **data, "version": if_match_version(obj)}
    saved = call_service(lambda: update(obj, current_user, values))
    db.session.commit()
    return saved


def values_of(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """What ``obj`` holds in ``fields``, as its form would send it back (``patch_through``'s ``keep``)."""
    return {name: getattr(obj, name) for name in fields}


def call_service(write: Callable[[], Any]) -> Any:
    """Run a service's write: its field errors become a 422 problem, a lost race a 412; the caller
    commits (one commit per request)."""
    from core.extensions import db  # noqa: PLC0415 — the app's session

    try:
        return write()
    except FieldErrors as errors:
        db.session.rollback()
        raise _invalid(errors.errors) from None
    except FieldError as error:
        db.session.rollback()
        raise _invalid([error]) from None
    except EditConflict:
        db.session.rollback()
        raise HTTPError(412, _("La ressource a été modifiée depuis votre lecture : relisez-la.")) from None


def _invalid(errors: Iterable[FieldError]) -> HTTPError:
    messages: dict[str, list[str]] = {}
    for error in errors:
        messages.setdefault(error.field, []).append(str(error.message))
    return HTTPError(422, _("Les données envoyées ne sont pas valides."), detail=messages)


# --- bounded input fields ----------------------------------------------------------------------


def _in_years(value: Any) -> None:
    if not date_in_range(value):
        raise ValidationError(_("Date hors des limites (%(a)s à %(b)s).", a=MIN_YEAR, b=MAX_YEAR))


def Day(**kw: Any) -> Any:  # noqa: N802 — a field factory, read as a type
    """A date between :data:`core.params.MIN_YEAR` and ``MAX_YEAR``, as the forms' BoundedDateField."""
    return fields.Date(validate=_in_years, **kw)


def Moment(**kw: Any) -> Any:  # noqa: N802 — a field factory, read as a type
    """A date and time (naive: French local time, as typed on the pages), years bounded."""
    return fields.DateTime(validate=_in_years, **kw)


# --- pagination --------------------------------------------------------------------------------


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=Range(min=1, max=2**31 - 1))
    per_page = fields.Integer(load_default=20, validate=Range(min=1, max=100))


def page_meta(page: Page) -> dict[str, Any]:
    return {"page": page.page, "per_page": page.per_page, "total": page.total, "pages": page.pages}


class PageMeta(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


# --- the application ---------------------------------------------------------------------------


def configure(app: Flask) -> None:
    """APIFlask's settings and the OpenAPI document's frame (called by the app factory)."""
    app.config.update(
        OPENAPI_VERSION="3.1.0",
        HTTP_ERROR_SCHEMA=ProblemSchema,
        VALIDATION_ERROR_SCHEMA=ProblemSchema,
        VALIDATION_ERROR_STATUS_CODE=422,
        AUTO_404_RESPONSE=True,
        INFO={"description": "Égide — API JSON (jetons d'accès personnels, « Mon compte »)."},
    )
    app.error_processor(_error_processor)  # type: ignore[attr-defined]

    @app.spec_processor  # type: ignore[attr-defined]
    def _security(spec: dict[str, Any]) -> dict[str, Any]:
        spec.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "egide_pat_…"}
        }
        spec["security"] = [{"bearer": []}]
        spec["servers"] = [{"url": "/"}]
        _problem_responses(spec)
        return spec


def _problem_responses(spec: dict[str, Any]) -> None:
    """Every operation may answer 401, 403 (token or roles), 405 (an id no row can have, e.g. 0, is
    not matched by the bounded ``int`` converter: Werkzeug then answers on the other rules' methods)
    and 429 (rate limit); error bodies are ``application/problem+json``."""
    problem_ref = {"schema": {"$ref": "#/components/schemas/ProblemSchema"}}
    spec["components"].setdefault("schemas", {}).setdefault(
        "ProblemSchema", {"type": "object", "properties": {}}
    )
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            codes = (401, 403, 405, 429) + ((400, 415) if "requestBody" in operation else ())
            for code in codes:  # 400: a body that is not JSON at all; 415: not sent as JSON
                responses.setdefault(str(code), {"description": str(TITLES[code])})
            for code, response in responses.items():
                if int(code) >= 400:
                    response["content"] = {PROBLEM_JSON: problem_ref}


def install_blueprint(app: Flask, blueprint: Any) -> None:
    """Mount a domain's API blueprint under :data:`PREFIX`: CSRF-exempt (no cookie is accepted
    there) and rate-limited per client (``API_RATE_LIMIT``)."""
    from core.extensions import csrf, limiter  # noqa: PLC0415 — factory step

    csrf.exempt(blueprint)
    # The extensions are shared by every app the process creates (tests create several): the limit
    # is declared once per blueprint, or each request would count once per app created.
    if not getattr(blueprint, "_egide_rate_limited", False):
        limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])(blueprint)
        blueprint._egide_rate_limited = True  # type: ignore[attr-defined]
    app.register_blueprint(blueprint, url_prefix=PREFIX)


def leave_pages_out(app: Flask) -> None:
    """The pages' blueprints are not in the OpenAPI document: APIFlask reads ``enable_openapi`` on
    every blueprint (an ``APIBlueprint`` has it), a plain Flask blueprint says False here."""
    for blueprint in app.blueprints.values():
        if not hasattr(blueprint, "enable_openapi"):
            blueprint.enable_openapi = False  # type: ignore[attr-defined]
