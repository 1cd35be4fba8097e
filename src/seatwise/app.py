"""FastAPI app assembly: the JSON API, the admin center, and one error handler for each."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatwise import config, db, handlers  # noqa: F401  (handlers: the reactions to domain events)
from seatwise.billing.routes import router as billing_router
from seatwise.billing_run.routes import router as billing_run_router
from seatwise.catalog.routes import router as catalog_router
from seatwise.clock import Clock, FixedClock, SystemClock, parse_instant
from seatwise.core.errors import BadInput, ErrorCode, NotFound, SeatwiseError, Unavailable
from seatwise.deps import has_valid_key
from seatwise.events.routes import router as events_router
from seatwise.idempotency.middleware import IdempotencyMiddleware
from seatwise.licenses.routes import router as licenses_router
from seatwise.limits import InputLimits, too_large
from seatwise.organizations.routes import router as organizations_router
from seatwise.payments.routes import router as payments_router
from seatwise.subscriptions.routes import methods_router as payment_method_removal_router
from seatwise.subscriptions.routes import org_router as org_subscriptions_router
from seatwise.subscriptions.routes import router as subscriptions_router
from seatwise.tax.routes import router as tax_router
from seatwise.web import billing as billing_pages
from seatwise.web import operator as operator_pages
from seatwise.web import pages
from seatwise.web import routes as admin_pages
from seatwise.web import signin as signin_pages
from seatwise.webhooks.routes import router as webhooks_router

log = logging.getLogger("seatwise")
# SQLite raises OperationalError for a wrong query too ("no such column", a syntax error): only these
# primary result codes say the database is busy or unreachable rather than the query wrong.
SQLITE_UNAVAILABLE = frozenset(
    (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN)
)


def database_unavailable(exc: DBAPIError) -> bool:
    """Whether a driver error means the database is down, busy or unreachable, rather than a bug."""
    if exc.connection_invalidated or isinstance(exc.orig, psycopg.OperationalError):
        return True
    code = getattr(exc.orig, "sqlite_errorcode", None)
    # The primary code is the low byte of an extended one (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_READ…).
    return isinstance(exc.orig, sqlite3.OperationalError) and code is not None and code & 0xFF in SQLITE_UNAVAILABLE


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/v1", "/health", "/openapi.json", "/docs"))


def problem(
    *, status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """An error of the JSON API as RFC 9457 problem details, with the stable `code` of the domain error."""
    body = {
        "type": f"urn:seatwise:problem:{code}",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(
        to_jsonable_python(body), status_code=status, media_type="application/problem+json", headers=headers
    )


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str
    message: str


class Problem(BaseModel):
    """An error of the JSON API, as RFC 9457 problem details with the stable `code` of the domain error."""

    model_config = ConfigDict(extra="allow", title="Problem")
    type: str  # urn:seatwise:problem:<code>
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None  # what is wrong with each field (invalid_request, or an id in the path)
    decision: dict | None = None  # a refusal by a rule: the decision, with its remedy (R10)


# The errors the operations of the JSON API answer, as problem details: 400 only with a body, 409 only on writes.
PROBLEMS = {
    "400": "Bad request: a body that is not JSON",
    "401": "Unauthenticated: no API key, or a wrong or revoked one (`Authorization: Bearer <key>`)",
    "403": "Not authorized: the key's role does not allow this (R9)",
    "404": "Not found: an id that names nothing the key may see, another organisation's included (R9)",
    "409": "Refused: a business rule says no, or the same request with this Idempotency-Key ran alongside (retry it)",
    "422": "Invalid request: a malformed field or value (`errors` names each field the schema refuses)",
}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Send the same key again to get the first answer again instead of acting twice (kept 24 h)",
}


def _document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Document the problem details of every /v1 operation, the API key it asks for and the Idempotency-Key
    of writes, in its OpenAPI."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    components.setdefault("securitySchemes", {})["ApiKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `seatwise apikey create`",
    }
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            operation["security"] = [{"ApiKey": []}]
            if method in ("post", "put", "patch", "delete"):
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
            responses = operation.setdefault("responses", {})
            for status, description in PROBLEMS.items():
                if (status == "409" and method == "get") or (status == "400" and "requestBody" not in operation):
                    continue
                # A route's own description stays; FastAPI's 422 (HTTPValidationError, JSON) is not what is answered.
                described = responses.get(status, {}).get("description") if status != "422" else None
                responses[status] = {"description": described or description, "content": content}
    for name in ("HTTPValidationError", "ValidationError"):  # no longer named by any response
        others = {k: v for k, v in schemas.items() if k != name}
        if f'"#/components/schemas/{name}"' not in json.dumps([schema.get("paths"), others]):
            schemas.pop(name, None)
    return schema


def _field(location: tuple[int | str, ...]) -> str:
    # ("body", "seats") -> "seats"; ("path", "sub_id") -> "sub_id"; a whole body -> "body"
    names = [str(part) for part in location if part not in ("body", "path", "query", "header")]
    return ".".join(names) or str(location[0] if location else "request")


def _allowed_methods(app: FastAPI, path: str) -> str:
    """The methods the OpenAPI documents for `path`, for the Allow header of a 405."""
    for template, operations in app.openapi()["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}/]+\}", "[^/]+", template), path):
            return ", ".join(sorted(method.upper() for method in operations))
    return ""


# Only the app's own scripts, styles and images; no inline script, no eval; no frame, no plugin, no other
# form target. Swagger UI (/docs, when the operator turns it on) is the one page that loads a CDN's.
CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Pages with one-click forms must not be shown inside another site's frame (clickjacking), run another
    origin's script, or stay in a shared cache or the browser's history after sign-out (`no-store` on all but
    the static files); a plain ASGI middleware, as `@app.middleware` costs a task group and a stream per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        own = [
            *SECURITY_HEADERS,
            (b"content-security-policy", DOCS_CSP if path == "/docs" else CSP),
            *([] if path.startswith("/static/") else [(b"cache-control", b"no-store")]),
        ]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *((k, v) for k, v in own if k not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


def error_answer(request: Request, exc: SeatwiseError) -> Response:
    """A domain error as the API's problem details, or as the admin center's page in the reader's words."""
    if _is_api(request):
        # A refusal by a rule carries its decision (R10), so that the caller sees the remedy.
        extra: dict[str, Any] = {"decision": exc.detail} if isinstance(exc.detail, BaseModel) else {}
        return problem(status=exc.status, code=exc.code, detail=exc.message, **extra)
    return pages.error_page(request, exc)


def create_app(*, url: str | None = None, clock: Clock | None = None) -> FastAPI:
    """The Seatwise web app for the database at `url`, reading time from `clock`."""
    docs = config.api_docs()
    app = FastAPI(title="Seatwise", version="0.1.0", docs_url="/docs" if docs else None, redoc_url=None)
    app.state.database_url = config.database_url(url)
    app.state.clock = clock or SystemClock()
    app.state.trusted_proxies = config.trusted_proxies()  # a malformed SEATWISE_TRUSTED_PROXIES stops the start
    db.engine_for(app.state.database_url)  # fail fast on a malformed URL
    app.add_middleware(IdempotencyMiddleware, problem=problem, authenticated=has_valid_key)
    app.openapi = lambda: _document_problems(FastAPI.openapi(app))  # type: ignore[method-assign]

    @app.exception_handler(SeatwiseError)
    async def domain_error(request: Request, exc: SeatwiseError) -> Response:
        return error_answer(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            errors = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
            first = errors[0] if errors else {"field": "request", "message": "invalid"}
            in_path = bool(exc.errors()) and exc.errors()[0]["loc"][0] == "path"
            status = 404 if in_path else 422  # an id in the path that cannot exist names nothing
            return problem(
                status=status,
                code=ErrorCode.NOT_FOUND if status == 404 else "invalid_request",
                detail=f"invalid {first['field']}: {first['message']}",
                errors=errors,
            )
        # A malformed id or page number in an admin center URL names no page.
        return pages.error_page(request, NotFound("there is no such page", code=ErrorCode.NOT_FOUND))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _is_api(request):
            code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(
                exc.status_code, "http_error"
            )
            # Starlette's Allow names the first route of the path only; a path has a route per method here.
            headers = {"Allow": _allowed_methods(app, request.url.path)} if exc.status_code == 405 else None
            return problem(status=exc.status_code, code=code, detail=str(exc.detail), headers=headers)
        # A wrong method is a link or form that does not exist, as far as a person can tell.
        if exc.status_code in (404, 405):
            error: SeatwiseError = NotFound("there is no such page")
        else:
            error = too_large() if exc.status_code == 413 else BadInput(str(exc.detail))
        error.status = exc.status_code
        return pages.error_page(request, error)

    app.add_middleware(InputLimits, refuse=error_answer)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        # Here as well as below: a route's errors reach this handler, a middleware's only the one below.
        return await unexpected(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # A connection cut (the server restarted, a backend terminated) or SQLite busy past its timeout: the
        # transaction was rolled back, the pool drops the dead connection, and a retry may well succeed.
        if isinstance(exc, DBAPIError) and database_unavailable(exc):
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
            return error_answer(request, Unavailable("the database cannot be reached; nothing was changed: retry"))
        # A bug must not show its stack trace to anyone; the server's log keeps it.
        # Not in an `except` block: the exception is passed in, as `exc_info`.
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        error = SeatwiseError("something went wrong on our side; it has been logged", code=ErrorCode.INTERNAL_ERROR)
        return (
            problem(status=500, code=error.code, detail=error.message)
            if _is_api(request)
            else pages.error_page(request, error)
        )

    @app.exception_handler(pages.SignInRequired)
    async def sign_in_first(request: Request, exc: pages.SignInRequired) -> Response:
        return pages.sign_in_redirect(request, exc)

    @app.get("/health", tags=["health"], operation_id="getHealth")
    def health() -> dict:
        """Whether the app and its database answer."""
        with db.read_only(app.state.database_url) as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "time": app.state.clock.now().isoformat()}

    app.include_router(catalog_router)
    app.include_router(organizations_router)
    app.include_router(tax_router)
    app.include_router(org_subscriptions_router)
    app.include_router(subscriptions_router)
    app.include_router(licenses_router)
    app.include_router(payments_router)
    app.include_router(payment_method_removal_router)
    app.include_router(billing_router)
    app.include_router(billing_run_router)
    app.include_router(events_router)
    app.include_router(webhooks_router)
    app.include_router(signin_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(billing_pages.router)
    app.include_router(operator_pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    return app


def create_app_from_env() -> FastAPI:
    """The app as each process of `seatwise serve --workers N` makes it: the database from
    SEATWISE_DATABASE_URL, the clock frozen at SEATWISE_NOW when that is set."""
    now = os.environ.get("SEATWISE_NOW")
    return create_app(clock=FixedClock(parse_instant(now, what="SEATWISE_NOW")) if now else None)
