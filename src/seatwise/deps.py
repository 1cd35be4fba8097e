"""FastAPI dependencies shared by the routers: the database session and the clock."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from seatwise import db


def read_session(request: Request) -> Iterator[Session]:
    """A read-only session on the app's database for one request."""
    with db.read_only(request.app.state.database_url) as session:
        yield session
