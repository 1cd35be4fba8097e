"""API keys: who calls the HTTP API, with which organisation and role."""
