"""The mail outbox (R27): messages written in the transaction of the change, sent over SMTP outside any."""
