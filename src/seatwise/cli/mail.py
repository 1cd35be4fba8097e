"""`seatwise mail`: every message the outbox holds, sent, kept or failed, and what the server answered."""

from __future__ import annotations

from typing import Annotated

import typer

from seatwise.cli.common import Ctx, command, group
from seatwise.cli.output import Out
from seatwise.mail import service as mail
from seatwise.mail.schemas import MessageOut, MessageWithBodiesOut

messages = group("Mail: what was sent, kept (no SMTP server configured) or failed.")


@command(messages, "list")
def mail_list(
    ctx: Ctx,
    org: Annotated[int | None, typer.Option(help="Only this organisation's messages.")] = None,
    status: Annotated[str | None, typer.Option(help="Only queued, sending, sent, kept or failed ones.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many, newest first.")] = 100,
) -> Out:
    """List messages newest first: recipient, subject, status, attempts."""
    with ctx.read() as session:
        rows = [
            MessageOut.of(m).model_dump() for m in mail.list_messages(session, org_id=org, status=status, limit=limit)
        ]
    if ctx.json:
        return Out(rows)
    columns = ("id", "org_id", "to_address", "subject", "status", "attempts", "created_at", "last_error")
    return Out([{k: r[k] for k in columns} for r in rows], text=None if rows else "no mail")


@command(messages, "show")
def mail_show(ctx: Ctx, message_id: Annotated[int, typer.Argument(metavar="ID")]) -> Out:
    """Show one message: its headers, status, attempts, the server's last answer, and its text."""
    with ctx.read() as session:
        data = MessageWithBodiesOut.of(mail.get_message(session, message_id=message_id)).model_dump()
    headers = [
        f"Message-ID: {data['message_id']}",
        f"To: {data['to_name'] + ' ' if data['to_name'] else ''}<{data['to_address']}>",
        f"Subject: {data['subject']}",
        f"Date: {data['created_at']:%Y-%m-%d %H:%M:%S} UTC",
    ]
    facts = [
        f"status: {data['status']}",
        f"attempts: {data['attempts']}",
        f"last error: {data['last_error'] or '-'}",
        f"kind: {data['kind']} (organisation {data['org_id'] or '-'}, {data['locale']})",
    ]
    facts += [f"attachment: {a}" for a in data["attachments"]]
    return Out(data, text="\n".join([*headers, *facts, "", data["text"]]))
