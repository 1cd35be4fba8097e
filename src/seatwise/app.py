"""FastAPI app assembly: the JSON API, the admin center, and one error handler for each."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import text
from starlette.exceptions import HTTPException

from seatwise import config, db
from seatwise.catalog.routes import router as catalog_router
from seatwise.clock import Clock, SystemClock
from seatwise.core.errors import BadInput, NotFound, SeatwiseError
from seatwise.licenses.routes import router as licenses_router
from seatwise.organizations.routes import router as organizations_router
from seatwise.subscriptions.routes import router as subscriptions_router
from seatwise.web import operator as operator_pages
from seatwise.web import pages
from seatwise.web import routes as admin_pages

log = logging.getLogger("seatwise")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/v1", "/health", "/openapi.json", "/docs"))


def problem(*, status: int, code: str, detail: str, **extra) -> JSONResponse:
    """An error of the JSON API as RFC 9457 problem details, with the stable `code` of the domain error."""
    body = {"type": f"urn:seatwise:problem:{code}", "title": code.replace("_", " ").capitalize(), "status": status,
            "detail": detail, "code": code, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(to_jsonable_python(body), status_code=status, media_type="application/problem+json",
                        headers=headers)


def _field(location: tuple) -> str:
    # ("body", "seats") -> "seats"; ("path", "sub_id") -> "sub_id"; a whole body -> "body"
    names = [str(part) for part in location if part not in ("body", "path", "query", "header")]
    return ".".join(names) or str(location[0] if location else "request")


def create_app(*, url: str | None = None, clock: Clock | None = None) -> FastAPI:
    """The Seatwise web app for the database at `url`, reading time from `clock`."""
    app = FastAPI(title="Seatwise", version="0.1.0")
    app.state.database_url = config.database_url(url)
    app.state.clock = clock or SystemClock()
    db.engine_for(app.state.database_url)  # fail fast on a malformed URL

    @app.exception_handler(SeatwiseError)
    async def domain_error(request: Request, exc: SeatwiseError):
        if _is_api(request):
            # A refusal by a rule carries its decision (R10), so that the caller sees the remedy.
            extra = {"decision": exc.detail} if isinstance(exc.detail, BaseModel) else {}
            return problem(status=exc.status, code=exc.code, detail=exc.message, **extra)
        return pages.error_page(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        if _is_api(request):
            errors = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
            first = errors[0] if errors else {"field": "request", "message": "invalid"}
            in_path = bool(exc.errors()) and exc.errors()[0]["loc"][0] == "path"
            status = 404 if in_path else 422  # an id in the path that cannot exist names nothing
            return problem(status=status, code="not_found" if status == 404 else "invalid_request",
                           detail=f"invalid {first['field']}: {first['message']}", errors=errors)
        # A malformed id or page number in an admin center URL names no page.
        return pages.error_page(request, NotFound("there is no such page", code="not_found"))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if _is_api(request):
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
            return problem(status=exc.status_code, code=code, detail=str(exc.detail))
        # A wrong method is a link or form that does not exist, as far as a person can tell.
        error = NotFound("there is no such page") if exc.status_code in (404, 405) else BadInput(str(exc.detail))
        error.status = exc.status_code
        return pages.error_page(request, error)

    @app.middleware("http")
    async def not_in_frames(request: Request, call_next):
        # Pages with one-click forms must not be shown inside another site's frame (clickjacking).
        response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        # A bug must not show its stack trace to anyone; the server's log keeps it.
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        error = SeatwiseError("something went wrong on our side; it has been logged", code="internal_error")
        return problem(status=500, code=error.code, detail=error.message) if _is_api(request) \
            else pages.error_page(request, error)

    @app.exception_handler(pages.SignInRequired)
    async def sign_in_first(request: Request, exc: pages.SignInRequired):
        return pages.sign_in_redirect(request, exc)

    @app.get("/health", tags=["health"])
    def health() -> dict:
        """Whether the app and its database answer."""
        with db.read_only(app.state.database_url) as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "time": app.state.clock.now().isoformat()}

    app.include_router(catalog_router)
    app.include_router(organizations_router)
    app.include_router(subscriptions_router)
    app.include_router(licenses_router)
    app.include_router(admin_pages.router)
    app.include_router(operator_pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    return app
