"""The Idempotency-Key header on the JSON API's writes, as an ASGI middleware around every route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatwise import db
from seatwise.core.errors import SeatwiseError
from seatwise.idempotency import service

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CLAIM = "idempotency_claim"  # request.state's name for the key this request holds
KEPT = "idempotency_kept"  # request.state's name for the status a route kept with its change


class ProblemResponse(Protocol):
    """The JSON API's problem details answer (seatwise.app.problem)."""

    def __call__(self, *, status: int, code: str, detail: str) -> Response: ...


class IdempotencyMiddleware:
    """Replays the first answer to a write retried with the same Idempotency-Key (kept 24 hours)."""

    def __init__(self, app: ASGIApp, *, problem: ProblemResponse, authenticated: Callable[[str, str], bool]) -> None:
        self.app = app
        self.problem = problem
        self.authenticated = authenticated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get("idempotency-key")
        state = scope["app"].state
        if key is None or not await run_in_threadpool(
            self.authenticated, state.database_url, headers.get("authorization", "")
        ):
            # Nobody known: the route answers 401 (or works without a key), and no key is claimed or kept.
            return await self.app(scope, receive, send)
        body = await _read_body(receive)
        path = scope["path"] + ("?" + scope["query_string"].decode("latin-1") if scope["query_string"] else "")
        caller = service.caller_of(headers.get("authorization", ""))
        try:
            service.check_key(key)
            replay = await run_in_threadpool(
                _begin, state, caller=caller, key=key, fingerprint=service.fingerprint(scope["method"], path, body)
            )
        except SeatwiseError as exc:
            return await self.problem(status=exc.status, code=exc.code, detail=exc.message)(scope, receive, send)
        if isinstance(replay, service.Replay):
            await send(
                {
                    "type": "http.response.start",
                    "status": replay.status,
                    "headers": [
                        (b"content-type", (replay.content_type or "application/json").encode()),
                        (b"idempotent-replayed", b"true"),
                        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in replay.headers.items()),
                    ],
                }
            )
            return await send({"type": "http.response.body", "body": replay.body})

        claim = replay
        # The route keeps its answer with its change (deps.answer), in the same transaction.
        request_state = scope.setdefault("state", {})
        request_state[CLAIM] = claim
        answer: dict[str, Any] = {"status": 500, "body": b"", "content_type": None}

        first = True

        async def replay_body() -> Message:
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["content_type"] = next(
                    (v.decode("latin-1") for k, v in message.get("headers", []) if k.lower() == b"content-type"), None
                )
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_body, keep)
        finally:
            # The answer kept with the change went out: a second write transaction would find it there. Any
            # other answer (the change failed to commit after all) is the one to keep or drop now.
            if request_state.get(KEPT) != answer["status"]:
                await run_in_threadpool(_finish, state, claim=claim, answer=answer)


def _begin(state: State, *, caller: str, key: str, fingerprint: str) -> service.Replay | service.Claim:
    with db.read_only(state.database_url) as session:
        return service.begin(session, caller=caller, key=key, fingerprint=fingerprint, now=state.clock.now())


def _finish(state: State, *, claim: service.Claim, answer: dict[str, Any]) -> None:
    with db.unit_of_work(state.database_url) as session:
        service.finish(session, claim=claim, **answer)


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body
