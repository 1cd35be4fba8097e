"""Passwords of admins and operators: argon2id hashes, never the password itself."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from seatwise.core.errors import BadInput, ErrorCode

MIN_LENGTH = 10
# OWASP's recommended argon2id settings (19 MiB, 2 passes, 1 lane): about 40 ms a password on a
# small server, where argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes) take four times as long.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@lru_cache(maxsize=1)
def _dummy() -> str:
    # Verified against when the e-mail is unknown, so that a wrong address takes as long as a wrong
    # password; made on first use, since every CLI command imports this module.
    return _HASHER.hash("not a password of anyone")


def hash_password(password: str) -> str:
    """The argon2id hash of a password that is long enough."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH or len(password) > 200:
        raise BadInput(f"invalid password: expected {MIN_LENGTH} to 200 characters", code=ErrorCode.INVALID_PASSWORD)
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the hash; with no hash it spends the same time and says no."""
    try:
        return _HASHER.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
