"""What the server refuses before doing any work: a body over 1 MB (413, refused before it is read, or as
soon as a streamed one passes the limit) and a NUL byte in the path or query string (422)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatwise.core.errors import BadInput, ErrorCode, SeatwiseError, TooLarge

MAX_BODY = 1_000_000  # bytes: far above any form or JSON body of the API (a request is a few hundred bytes)

Refuse = Callable[[Request, SeatwiseError], Response]


class BodyTooLarge(HTTPException):
    """A streamed body passed the limit while being read. An HTTPException, so that FastAPI's own body
    reading hands it to the app's handler instead of calling it a malformed body."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=too_large().message)


def too_large() -> TooLarge:
    """The refusal of a body over the limit."""
    return TooLarge(f"request body over {MAX_BODY:,} bytes: expected at most 1 MB")


def _refusal(scope: Scope) -> SeatwiseError | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY):
            return too_large() if value.isdigit() else BadInput("invalid Content-Length: expected a number of bytes")
    if "\x00" in scope["path"] or b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
        return BadInput("the address holds a NUL byte: expected text without one", code=ErrorCode.INVALID_VALUE)
    return None


class InputLimits:
    """Refuses oversized bodies and NUL bytes in addresses with the app's own error answers (`refuse`)."""

    def __init__(self, app: ASGIApp, *, refuse: Refuse) -> None:
        self.app = app
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = _refusal(scope)
        if refusal is not None:  # nothing of the body is read
            return await self.refuse(Request(scope), refusal)(scope, receive, send)
        read, started = 0, False

        async def limited() -> Message:
            nonlocal read
            message = await receive()
            read += len(message.get("body", b""))
            if read > MAX_BODY:
                raise BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except BodyTooLarge:  # raised where a middleware (Idempotency-Key) read the body, outside the app's handlers
            if started:
                raise
            await self.refuse(Request(scope), too_large())(scope, receive, send)
