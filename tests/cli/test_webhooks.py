"""`seatwise webhook`: the operator lists endpoints with their state, shows attempts, disables, enables,
rotates a secret (printed once), resends an event and deletes; a refused URL is one line and writes nothing."""

from __future__ import annotations

from tests.cli.conftest import one_line_error, snapshot


def test_the_operator_manages_webhook_endpoints_from_the_cli(cli, monkeypatch):
    monkeypatch.setenv("SEATWISE_WEBHOOK_ALLOW", "127.0.0.1")
    org = cli.ok("org", "add", "--name", "Contoso", "--currency", "EUR", "--locale", "en")["id"]
    added = cli.ok("webhook", "add", "--url", "http://127.0.0.1:9/hook", "--org", org)
    assert added["secret"].startswith("whsec_") and added["enabled"] is True and added["org_id"] == org
    [listed] = cli.ok("webhook", "list")
    assert "secret" not in listed and listed["id"] == added["id"] and listed["failing_since"] is None
    off = cli.ok("webhook", "disable", added["id"])
    assert off["enabled"] is False and off["disabled_reason"] == "disabled by operator"
    assert cli.ok("webhook", "enable", added["id"])["enabled"] is True
    rotated = cli.ok("webhook", "rotate-secret", added["id"])
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != added["secret"]
    shown = cli.ok("webhook", "show", added["id"])
    assert shown["recent_attempts"] == [] and "secret" not in shown
    res = cli("webhook", "resend", added["id"], "--event", 99, json_output=False)
    assert res.exit_code == 2 and "unknown event 99" in one_line_error(res)
    assert cli.ok("webhook", "delete", added["id"])["deleted"] is True
    assert cli.ok("webhook", "list") == []
    actions = [e["action"] for e in cli.ok("audit", "list") if e["action"].startswith("webhook_endpoint.")]
    assert (
        actions
        == [
            "webhook_endpoint.added",
            "webhook_endpoint.disabled",
            "webhook_endpoint.enabled",
            "webhook_endpoint.secret_rotated",
            "webhook_endpoint.deleted",
        ][:: -1 if actions and actions[0] == "webhook_endpoint.deleted" else 1]
    )


def test_a_webhook_url_the_policy_refuses_is_one_line_and_writes_nothing(cli, db_url, monkeypatch):
    monkeypatch.setenv("SEATWISE_WEBHOOK_ALLOW", "")
    before = snapshot(db_url)
    for url in ("http://127.0.0.1:9/hook", "https://169.254.169.254/", "https://localhost:5432/"):
        res = cli("webhook", "add", "--url", url, json_output=False)
        assert res.exit_code == 2, res
        assert "not allowed" in one_line_error(res)
    assert snapshot(db_url) == before
