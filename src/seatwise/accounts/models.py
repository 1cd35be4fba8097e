"""The accounts that sign in to the admin center: operators, their sessions, and wrong-password counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from seatwise.db import Base, UTCDateTime


class Operator(Base):
    """A person of the software vendor: signs in to the operator console."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(5), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser; the cookie holds the token, the table only its hash."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), nullable=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the idle timeout counts from here


class SignInAttempts(Base):
    """Wrong passwords counted for one throttling key (`core.signin`): an address from one client, one client
    across every address, or one address from every client; per namespace (admin, operator), known or not."""

    __tablename__ = "sign_in_attempts"

    realm: Mapped[str] = mapped_column(String(10), primary_key=True)  # admin, operator, or * for a client's all
    email: Mapped[str] = mapped_column(String(254), primary_key=True)  # '' for a client across every address
    client: Mapped[str] = mapped_column(String(64), primary_key=True)  # '' for an address from every client
    failures: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # the count's start; purged a day later
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Setting(Base):
    """Installation settings kept in the database, such as the key that signs session cookies."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
