"""FastAPI app assembly: routers, and one handler that turns domain errors into JSON."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from seatwise import config, db
from seatwise.clock import Clock, SystemClock
from seatwise.core.errors import SeatwiseError
from seatwise.subscriptions.routes import router as subscriptions_router


def create_app(*, url: str | None = None, clock: Clock | None = None) -> FastAPI:
    """The Seatwise web app for the database at `url`, reading time from `clock`."""
    app = FastAPI(title="Seatwise", version="0.1.0")
    app.state.database_url = config.database_url(url)
    app.state.clock = clock or SystemClock()
    db.engine_for(app.state.database_url)  # fail fast on a malformed URL

    @app.exception_handler(SeatwiseError)
    async def domain_error(_request: Request, exc: SeatwiseError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)

    @app.get("/health", tags=["health"])
    def health() -> dict:
        """Whether the app and its database answer."""
        with db.read_only(app.state.database_url) as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "time": app.state.clock.now().isoformat()}

    app.include_router(subscriptions_router)
    return app
