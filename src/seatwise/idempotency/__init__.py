"""Idempotency-Key: a retried write replays its first answer."""
