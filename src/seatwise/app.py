"""FastAPI app assembly: the JSON API, the admin center, and one error handler for each."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.exceptions import HTTPException

from seatwise import config, db
from seatwise.clock import Clock, SystemClock
from seatwise.core.errors import BadInput, NotFound, SeatwiseError
from seatwise.subscriptions.routes import router as subscriptions_router
from seatwise.web import operator as operator_pages
from seatwise.web import pages
from seatwise.web import routes as admin_pages


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/v1", "/health", "/openapi.json", "/docs"))


def create_app(*, url: str | None = None, clock: Clock | None = None) -> FastAPI:
    """The Seatwise web app for the database at `url`, reading time from `clock`."""
    app = FastAPI(title="Seatwise", version="0.1.0")
    app.state.database_url = config.database_url(url)
    app.state.clock = clock or SystemClock()
    db.engine_for(app.state.database_url)  # fail fast on a malformed URL

    @app.exception_handler(SeatwiseError)
    async def domain_error(request: Request, exc: SeatwiseError):
        if _is_api(request):
            return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)
        return pages.error_page(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        if _is_api(request):
            return JSONResponse({"code": "bad_input", "message": "invalid request", "errors": exc.errors()},
                                status_code=422)
        # A malformed id or page number in an admin center URL names no page.
        return pages.error_page(request, NotFound("there is no such page", code="not_found"))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if _is_api(request):
            return JSONResponse({"code": "http_error", "message": str(exc.detail)}, status_code=exc.status_code)
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

    @app.exception_handler(pages.SignInRequired)
    async def sign_in_first(request: Request, exc: pages.SignInRequired):
        return pages.sign_in_redirect(request, exc)

    @app.get("/health", tags=["health"])
    def health() -> dict:
        """Whether the app and its database answer."""
        with db.read_only(app.state.database_url) as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "time": app.state.clock.now().isoformat()}

    app.include_router(subscriptions_router)
    app.include_router(admin_pages.router)
    app.include_router(operator_pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    return app
