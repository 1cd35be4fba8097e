"""The operator CLI end to end on a real database (SQLite file and PostgreSQL): issue 2 §4.

Every call passes --db and --now; the clock jumps forward between calls so that a whole
lifecycle is walked through in one test.
"""

from __future__ import annotations

from tests.cli.conftest import ISO_UTC, Cli, one_line_error, snapshot
from tests.cli.helpers import (
    T0,
    add_customer,
    add_product,
    assert_decision_shape,
    assert_subscription_shape,
    assign,
    refused,
    run_billing,
    show,
    unassign,
)

# --- the walk ------------------------------------------------------------------------------


def test_lifecycle_walk_trial_convert_renew_expire_disable_reactivate_cancel_delete(cli):
    """R1, R2, R3, R4, R5, R6, R7, R8, R10, R12, R15, R19 through the CLI, jumping in time with --now."""
    add_product(cli)
    c = add_customer(cli, users=30)

    # R1: a trial of 30 licences for 30 days; no payment method yet.
    trial = cli.ok(
        "subscription", "trial", "--org", c.org_id, "--sku", "BIZ", "--seats", 30, "--as", c.billing_admin, now=T0
    )
    assert_subscription_shape(trial)
    sub_id = trial["id"]
    assert (trial["status"], trial["seats"], trial["assigned"], trial["recurring_billing"]) == ("trial", 30, 0, True)
    assert trial["trial_end"] == "2026-12-01T00:00:00Z"
    assert trial["unit_price"] == "12.50" and trial["sku"] == "BIZ"

    # R7: nothing to cancel; without a card the trial will simply expire.
    preview = cli.ok("subscription", "cancel-preview", sub_id, "--as", c.billing_admin, now=T0)
    assert_decision_shape(preview)
    assert (preview["allowed"], preview["code"]) == (False, "trial_nothing_to_cancel")
    assert preview["remedy"] == {"action": "none", "count": None}
    assert preview["dates"] == {"expires_on": "2026-12-01T00:00:00Z"}
    assert "If you are a trial customer, there is nothing to cancel." in preview["message"]

    # R1: trial licences are fixed.
    error = refused(cli, "licenses", "set", sub_id, "--total", 35, "--as", c.billing_admin, now=T0)
    assert error["error"]["code"] == "trial_seats_fixed"

    # Users get licences during the trial (user-management admin, R9).
    assign(cli, sub_id, c.user_ids, by=c.user_admin, now="2026-11-02T10:00:00Z")
    assert show(cli, sub_id)["assigned"] == 30

    # A card on file: R7's remedy becomes "turn recurring billing off", the trial would convert.
    cli.ok(
        "payment-method",
        "add",
        "--org",
        c.org_id,
        "--card",
        "4242424242424242",
        "--exp",
        "12/30",
        now="2026-11-20T09:00:00Z",
    )
    preview = cli.ok("subscription", "cancel-preview", sub_id, "--as", c.billing_admin, now="2026-11-20T09:00:00Z")
    assert preview["code"] == "trial_nothing_to_cancel"
    assert preview["remedy"] == {"action": "turn_off_recurring_billing", "count": None}
    assert preview["dates"] == {"converts_on": "2026-12-01T00:00:00Z"}

    # R2: the billing run converts the trial at its end; the first paid period starts then.
    assert run_billing(cli, "2026-11-30T23:59:59Z") == dict.fromkeys(
        ("converted", "renewed", "expired", "disabled", "deleted"), 0
    )
    assert run_billing(cli, "2026-12-01T00:00:00Z")["converted"] == 1
    sub = show(cli, sub_id, now="2026-12-01T00:00:00Z")
    assert (sub["status"], sub["status_reason"], sub["state_until"]) == ("active", None, None)
    assert (sub["current_period_start"], sub["current_period_end"]) == ("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")

    # R8: 30 assigned, so self-service cancellation is refused: unassign 6. Nothing changes.
    day3 = "2026-12-03T09:30:00Z"
    before = snapshot(cli.url)
    decision = refused(cli, "subscription", "cancel", sub_id, "--as", c.billing_admin, now=day3)
    assert_decision_shape(decision)
    assert (decision["allowed"], decision["code"]) == (False, "too_many_assigned_licenses")
    assert decision["remedy"] == {"action": "unassign_licenses", "count": 6}
    assert decision["credit"] == {"amount": "0.00", "currency": "EUR"}
    assert "You have 30 assigned licenses" in decision["message"] and "unassign 6 more" in decision["message"]
    assert snapshot(cli.url) == before
    # R10: the preview and the refusal are the same decision.
    assert cli.ok("subscription", "cancel-preview", sub_id, "--as", c.billing_admin, now=day3) == decision

    # R12/R15: buy 5 on day 3 of a 31-day period: 12.50 x 5 x 29/31 = 58.47.
    change = cli.ok("licenses", "set", sub_id, "--total", 35, "--as", c.billing_admin, now=day3)
    assert change["change"] == 5 and change["subscription"]["seats"] == 35
    assert change["prorated"] == {
        "kind": "charge",
        "amount": {"amount": "58.47", "currency": "EUR"},
        "vat": {"amount": "0.00", "currency": "EUR"},  # no vendor profile: no VAT (R24)
        "total": {"amount": "58.47", "currency": "EUR"},
        "days": 29,
        "days_in_period": 31,
    }
    # R12: not below the assigned count (30): unassign 1 first.
    error = refused(cli, "licenses", "set", sub_id, "--total", 29, "--as", c.billing_admin, now=day3)
    assert error["error"]["code"] == "below_assigned"
    assert error["error"]["detail"]["remedy"] == {"action": "unassign_licenses", "count": 1}
    # Remove 3 on day 3: credit 12.50 x 3 x 28/31 = 33.87.
    change = cli.ok("licenses", "set", sub_id, "--total", 32, "--as", c.global_admin, now=day3)
    assert change["change"] == -3 and change["subscription"]["seats"] == 32
    assert change["prorated"] == {
        "kind": "credit",
        "amount": {"amount": "33.87", "currency": "EUR"},
        "vat": {"amount": "0.00", "currency": "EUR"},  # no vendor profile: no VAT (R24)
        "total": {"amount": "33.87", "currency": "EUR"},
        "days": 28,
        "days_in_period": 31,
    }
    # The same total again changes nothing and prorates nothing.
    change = cli.ok("licenses", "set", sub_id, "--total", 32, "--as", c.global_admin, now=day3)
    assert (change["change"], change["prorated"]) == (0, None)

    # R19: several elapsed periods in one run (Jan 1, Feb 1, Mar 1), and a second run does nothing.
    assert run_billing(cli, "2027-03-15T12:00:00Z") == {
        "converted": 0,
        "renewed": 3,
        "expired": 0,
        "disabled": 0,
        "deleted": 0,
    }
    assert run_billing(cli, "2027-03-15T12:00:00Z")["renewed"] == 0
    sub = show(cli, sub_id)
    assert (sub["current_period_start"], sub["current_period_end"]) == ("2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z")

    # R4: recurring billing off cancels nothing by itself ...
    sub = cli.ok(
        "subscription", "recurring-billing", sub_id, "off", "--as", c.billing_admin, now="2027-03-15T12:00:00Z"
    )
    assert (sub["status"], sub["recurring_billing"], sub["seats"], sub["assigned"]) == ("active", False, 32, 30)
    # ... at period end it expires (30 days), then is disabled (90 days).
    assert run_billing(cli, "2027-04-01T00:00:00Z")["expired"] == 1
    sub = show(cli, sub_id)
    assert (sub["status"], sub["status_reason"], sub["state_until"]) == (
        "expired",
        "recurring_billing_off",
        "2027-05-01T00:00:00Z",
    )
    assert run_billing(cli, "2027-05-01T00:00:00Z")["disabled"] == 1
    sub = show(cli, sub_id)
    assert (sub["status"], sub["status_reason"], sub["state_until"]) == (
        "disabled",
        "recurring_billing_off",
        "2027-07-30T00:00:00Z",
    )

    # R6: reactivated from disabled keeps the billing date; 22 of 31 days of May are charged now.
    out = cli.ok("subscription", "reactivate", sub_id, "--as", c.global_admin, now="2027-05-10T09:30:00Z")
    assert_subscription_shape(out["subscription"])
    assert (out["subscription"]["status"], out["subscription"]["recurring_billing"]) == ("active", True)
    assert (out["subscription"]["current_period_start"], out["subscription"]["current_period_end"]) == (
        "2027-05-01T00:00:00Z",
        "2027-06-01T00:00:00Z",
    )
    assert out["charge"] == {"amount": "283.87", "currency": "EUR"} and out["charged_days"] == 22

    # R8 again after reactivation: unassign 6, then the preview allows it (R10) ...
    day12 = "2027-05-12T09:30:00Z"
    decision = refused(cli, "subscription", "cancel", sub_id, "--as", c.billing_admin, now=day12)
    assert decision["remedy"] == {"action": "unassign_licenses", "count": 6}
    unassign(cli, sub_id, c.user_ids[:6], by=c.user_admin, now=day12)
    preview = cli.ok("subscription", "cancel-preview", sub_id, "--as", c.billing_admin, now=day12)
    assert_decision_shape(preview)
    assert (preview["allowed"], preview["code"]) == (True, "allowed")
    assert preview["remedy"] == {"action": "confirm_cancellation", "count": None}
    # R15: cancelled on day 12 of 31: 12.50 x 32 x 19/31 = 245.16 comes back.
    assert preview["credit"] == {"amount": "245.16", "currency": "EUR"}
    assert preview["dates"] == {
        "canceled_on": day12,
        "current_period_end": "2027-06-01T00:00:00Z",
        "credit_returned_by": "2027-06-01T00:00:00Z",
        "deleted_on": "2027-08-10T09:30:00Z",
    }

    # ... and the cancellation agrees with the preview (R10); R5: disabled at once, deleted in 90 days.
    out = cli.ok(
        "subscription",
        "cancel",
        sub_id,
        "--as",
        c.billing_admin,
        "--reason",
        "too_expensive",
        "--comment",
        "Budget cut",
        now=day12,
    )
    assert out["decision"] == preview
    sub = out["subscription"]
    assert_subscription_shape(sub)
    assert (sub["status"], sub["status_reason"], sub["recurring_billing"]) == ("disabled", "canceled", False)
    assert sub["state_until"] == "2027-08-10T09:30:00Z"
    assert show(cli, sub_id, now=day12) == sub

    # A cancelled subscription cannot be cancelled again, nor can its recurring billing change.
    preview = cli.ok("subscription", "cancel-preview", sub_id, "--as", c.billing_admin, now="2027-05-13")
    assert (preview["allowed"], preview["code"]) == (False, "not_active")
    assert refused(cli, "subscription", "cancel", sub_id, "--as", c.billing_admin, now="2027-05-13")["code"] == (
        "not_active"
    )
    error = refused(cli, "subscription", "recurring-billing", sub_id, "on", "--as", c.billing_admin, now="2027-05-13")
    assert error["error"]["code"] == "not_active"

    # R5: deleted 90 days after the cancellation; its licences are freed; deleted is terminal (R6).
    assert run_billing(cli, "2027-08-10T09:29:59Z")["deleted"] == 0
    assert run_billing(cli, "2027-08-10T09:30:00Z")["deleted"] == 1
    sub = show(cli, sub_id, now="2027-08-11")
    assert (sub["status"], sub["assigned"]) == ("deleted", 0)
    error = refused(cli, "subscription", "reactivate", sub_id, "--as", c.global_admin, now="2027-08-11")
    assert error["error"]["code"] == "deleted"

    # The audit log has every state change, in order, with who did it.
    entries = cli.ok("audit", "list", "--subscription", sub_id, now="2027-08-11")
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("subscription.trial_started", f"user:{c.admin_ids['billing_admin']}"),
        ("subscription.converted", "system:billing-run"),
        ("licenses.changed", f"user:{c.admin_ids['billing_admin']}"),
        ("licenses.changed", f"user:{c.admin_ids['global_admin']}"),
        ("subscription.renewed", "system:billing-run"),
        ("subscription.renewed", "system:billing-run"),
        ("subscription.renewed", "system:billing-run"),
        ("subscription.recurring_billing_off", f"user:{c.admin_ids['billing_admin']}"),
        ("subscription.expired", "system:billing-run"),
        ("subscription.disabled", "system:billing-run"),
        ("subscription.reactivated", f"user:{c.admin_ids['global_admin']}"),
        ("subscription.canceled", f"user:{c.admin_ids['billing_admin']}"),
        ("licenses.released", "system:billing-run"),
        ("subscription.deleted", "system:billing-run"),
    ]
    for entry in entries:
        assert ISO_UTC.match(entry["at"]) and entry["org_id"] == c.org_id and entry["entity_id"] == sub_id
    canceled = next(e for e in entries if e["action"] == "subscription.canceled")
    assert canceled["at"] == day12
    assert (canceled["before"]["status"], canceled["after"]["status"]) == ("active", "disabled")
    assert canceled["after"]["credit"] == 24516
    org_actions = [e["action"] for e in cli.ok("audit", "list", "--org", c.org_id, now="2027-08-11")]
    assert org_actions.count("license.assigned") == 30 and org_actions.count("license.unassigned") == 6
    assert org_actions.count("user.added") == 33 and "payment_method.added" in org_actions


def test_r2_trial_without_payment_method_expires_then_is_deleted_30_days_later(cli):
    add_product(cli)
    c = add_customer(cli)
    sub_id = cli.ok("subscription", "trial", "--org", c.org_id, "--sku", "BIZ", "--seats", 5, now=T0)["id"]
    assert run_billing(cli, "2026-12-01T00:00:00Z") == {
        "converted": 0,
        "renewed": 0,
        "expired": 1,
        "disabled": 0,
        "deleted": 0,
    }
    sub = show(cli, sub_id)
    assert (sub["status"], sub["status_reason"], sub["state_until"]) == (
        "expired",
        "trial_ended",
        "2026-12-31T00:00:00Z",
    )
    assert run_billing(cli, "2026-12-30T23:59:59Z")["deleted"] == 0
    assert run_billing(cli, "2026-12-31T00:00:00Z")["deleted"] == 1
    assert show(cli, sub_id)["status"] == "deleted"


def test_r2_trial_with_card_but_recurring_billing_off_expires_instead_of_converting(cli):
    add_product(cli)
    c = add_customer(cli, card=True)
    sub_id = cli.ok("subscription", "trial", "--org", c.org_id, "--sku", "BIZ", now=T0)["id"]
    assert show(cli, sub_id)["seats"] == 25  # the default
    sub = cli.ok("subscription", "recurring-billing", sub_id, "off", "--as", c.global_admin, now="2026-11-10")
    assert (sub["status"], sub["recurring_billing"]) == ("trial", False)
    preview = cli.ok("subscription", "cancel-preview", sub_id, "--as", c.global_admin, now="2026-11-10")
    assert preview["remedy"]["action"] == "none" and "expires_on" in preview["dates"]
    # Many periods later in one run: expired at the trial end, deleted 30 days after; never converted.
    assert run_billing(cli, "2027-06-01T00:00:00Z") == {
        "converted": 0,
        "renewed": 0,
        "expired": 1,
        "disabled": 0,
        "deleted": 1,
    }


def test_r3_r6_buy_then_expired_reactivation_starts_a_new_period_charged_in_full(cli):
    add_product(cli)
    c = add_customer(cli, card=True)
    sub = cli.ok(
        "subscription",
        "buy",
        "--org",
        c.org_id,
        "--sku",
        "BIZ",
        "--seats",
        10,
        "--as",
        c.billing_admin,
        now="2027-01-31T15:00:00Z",
    )
    assert_subscription_shape(sub)
    assert (sub["status"], sub["seats"], sub["trial_end"]) == ("active", 10, None)
    # R3: anchored on the 31st; February clamps to its last day.
    assert (sub["current_period_start"], sub["current_period_end"]) == ("2027-01-31T00:00:00Z", "2027-02-28T00:00:00Z")
    # Off and on again before the period ends: it renews as if nothing happened.
    assert (
        cli.ok("subscription", "recurring-billing", sub["id"], "off", "--as", c.billing_admin, now="2027-02-10")[
            "recurring_billing"
        ]
        is False
    )
    assert (
        cli.ok("subscription", "recurring-billing", sub["id"], "on", "--as", c.global_admin, now="2027-02-11")[
            "recurring_billing"
        ]
        is True
    )
    assert run_billing(cli, "2027-03-01T00:00:00Z") == {
        "converted": 0,
        "renewed": 1,
        "expired": 0,
        "disabled": 0,
        "deleted": 0,
    }
    sub = show(cli, sub["id"])
    assert (sub["status"], sub["current_period_start"], sub["current_period_end"]) == (
        "active",
        "2027-02-28T00:00:00Z",
        "2027-03-31T00:00:00Z",
    )
    cli.ok("subscription", "recurring-billing", sub["id"], "off", "--as", c.billing_admin, now="2027-03-02")
    assert run_billing(cli, "2027-04-05T00:00:00Z")["expired"] == 1
    out = cli.ok("subscription", "reactivate", sub["id"], "--as", c.billing_admin, now="2027-04-05T10:00:00Z")
    assert out["subscription"]["status"] == "active" and out["subscription"]["recurring_billing"] is True
    assert (out["subscription"]["current_period_start"], out["subscription"]["current_period_end"]) == (
        "2027-04-05T00:00:00Z",
        "2027-05-05T00:00:00Z",
    )
    assert out["charge"] == {"amount": "125.00", "currency": "EUR"} and out["charged_days"] == 30


def test_r4_r19_recurring_billing_off_expired_30_disabled_90_deleted_in_one_run(cli):
    add_product(cli)
    c = add_customer(cli, users=2, card=True)
    sub_id = cli.ok("subscription", "buy", "--org", c.org_id, "--sku", "BIZ", "--seats", 2, now=T0)["id"]
    assign(cli, sub_id, c.user_ids, by=c.user_admin, now=T0)
    cli.ok("subscription", "recurring-billing", sub_id, "off", "--as", c.global_admin, now=T0)
    # Dec 1 expired, Dec 31 disabled, Mar 31 deleted: all in one run a year later.
    summary = cli.ok("billing", "run", "--now", "2027-11-01T00:00:00Z")
    assert summary["subscriptions"] == 1
    assert summary["transitions"] == {"converted": 0, "renewed": 0, "expired": 1, "disabled": 1, "deleted": 1}
    sub = show(cli, sub_id, now="2027-11-01")
    assert (sub["status"], sub["status_reason"], sub["state_until"], sub["assigned"]) == (
        "deleted",
        "recurring_billing_off",
        None,
        0,
    )
    steps = [
        (e["action"], e["at"])
        for e in cli.ok("audit", "list", "--subscription", sub_id, now="2027-11-01")
        if e["actor"] == "system:billing-run"
    ]
    assert steps == [
        ("subscription.expired", "2026-12-01T00:00:00Z"),
        ("subscription.disabled", "2026-12-31T00:00:00Z"),
        ("licenses.released", "2027-03-31T00:00:00Z"),
        ("subscription.deleted", "2027-03-31T00:00:00Z"),
    ]
    assert cli.ok("billing", "run", "--now", "2027-11-01T00:00:00Z")["subscriptions"] == 0


def test_r6_reactivation_needs_a_billing_admin_and_refuses_active(cli):
    add_product(cli)
    c = add_customer(cli, card=True)
    sub_id = cli.ok("subscription", "buy", "--org", c.org_id, "--sku", "BIZ", "--seats", 3, now=T0)["id"]
    assert (
        refused(cli, "subscription", "reactivate", sub_id, "--as", c.billing_admin, now=T0)["error"]["code"]
        == "not_reactivatable"
    )
    cli.ok("subscription", "recurring-billing", sub_id, "off", "--as", "operator", now=T0)
    run_billing(cli, "2026-12-02T00:00:00Z")
    assert (
        refused(cli, "subscription", "reactivate", sub_id, "--as", c.user_admin, now="2026-12-02")["error"]["code"]
        == "not_authorized"
    )
    assert show(cli, sub_id)["status"] == "expired"


def test_r7_r8_seed_cases_24_allowed_25_unassign_1_30_unassign_6(cli):
    add_product(cli)
    c = add_customer(cli, users=30, card=True)
    sub_id = cli.ok("subscription", "buy", "--org", c.org_id, "--sku", "BIZ", "--seats", 30, now=T0)["id"]
    assign(cli, sub_id, c.user_ids[:24], by=c.global_admin, now=T0)
    results = {}
    for assigned, newly in ((24, []), (25, c.user_ids[24:25]), (30, c.user_ids[25:])):
        assign(cli, sub_id, newly, by=c.user_admin, now=T0)
        d = cli.ok("subscription", "cancel-preview", sub_id, "--as", c.billing_admin, now="2026-11-03T09:30:00Z")
        results[assigned] = (d["allowed"], d["code"], d["remedy"]["count"])
    assert results == {
        24: (True, "allowed", None),
        25: (False, "too_many_assigned_licenses", 1),
        30: (False, "too_many_assigned_licenses", 6),
    }


def test_r15_cancel_on_day_3_of_a_30_day_period_credits_27_30(cli):
    add_product(cli, price="30.00")
    c = add_customer(cli, card=True)
    sub_id = cli.ok("subscription", "buy", "--org", c.org_id, "--sku", "BIZ", "--seats", 1, now=T0)["id"]
    out = cli.ok("subscription", "cancel", sub_id, "--as", c.global_admin, now="2026-11-03T18:00:00Z")
    assert out["decision"]["credit"] == {"amount": "27.00", "currency": "EUR"}
    assert out["subscription"]["status"] == "disabled"


def test_r8_operator_may_cancel_above_the_threshold_and_is_audited(cli):
    add_product(cli)
    c = add_customer(cli, users=30, card=True)
    sub_id = cli.ok("subscription", "buy", "--org", c.org_id, "--sku", "BIZ", "--seats", 30, now=T0)["id"]
    assign(cli, sub_id, c.user_ids, by=c.user_admin, now=T0)
    assert refused(cli, "subscription", "cancel", sub_id, "--as", c.global_admin, now=T0)["remedy"]["count"] == 6
    out = cli.ok("subscription", "cancel", sub_id, "--as", "operator", now=T0)
    assert out["decision"]["code"] == "allowed" and out["subscription"]["status"] == "disabled"
    # 30 days in November, cancelled on day 1: 29/30 of 30 x 12.50 = 362.50.
    assert out["decision"]["credit"]["amount"] == "362.50"
    last = cli.ok("audit", "list", "--subscription", sub_id, now=T0)[-1]
    assert (last["action"], last["actor"]) == ("subscription.canceled", "operator")


def test_r9_roles_through_the_cli(cli):
    add_product(cli)
    c = add_customer(cli, users=2, card=True)
    other = add_customer(cli, name="Fabrikam", card=True)
    sub_id = cli.ok(
        "subscription", "buy", "--org", c.org_id, "--sku", "BIZ", "--seats", 5, "--as", c.global_admin, now=T0
    )["id"]
    user = "u0@contoso.example"
    before = snapshot(cli.url)
    # A User-management admin and a plain user may not cancel: the decision says to ask an admin.
    for who in (c.user_admin, user):
        d = refused(cli, "subscription", "cancel", sub_id, "--as", who, now=T0)
        assert (d["code"], d["remedy"]["action"]) == ("not_authorized", "ask_a_global_or_billing_admin")
        assert cli.ok("subscription", "cancel-preview", sub_id, "--as", who, now=T0)["code"] == "not_authorized"
    # Nor buy or remove licences, nor change recurring billing, nor buy subscriptions.
    for args in (
        ("licenses", "set", sub_id, "--total", 6, "--as", c.user_admin),
        ("subscription", "recurring-billing", sub_id, "off", "--as", c.user_admin),
        ("subscription", "buy", "--org", c.org_id, "--sku", "BIZ", "--seats", 1, "--as", c.user_admin),
        ("license", "assign", sub_id, "--user", c.user_ids[0], "--as", c.billing_admin),
        ("license", "assign", sub_id, "--user", c.user_ids[0], "--as", user),
    ):
        assert refused(cli, *args, now=T0)["error"]["code"] == "not_authorized", args
    # Nobody acts outside their own organisation: another customer's subscription does not exist for them.
    res = cli("subscription", "cancel", sub_id, "--as", other.global_admin, now=T0)
    assert res.exit_code == 2 and res.data["error"]["code"] == "unknown_subscription", res
    res = cli(
        "subscription", "buy", "--org", c.org_id, "--sku", "BIZ", "--seats", 1, "--as", other.global_admin, now=T0
    )
    assert res.exit_code == 3 and res.data["error"]["code"] == "not_authorized", res
    assert snapshot(cli.url) == before
    # The User-management admin does manage assignments.
    assign(cli, sub_id, c.user_ids, by=c.user_admin, now=T0)
    assert show(cli, sub_id)["assigned"] == 2


def test_r11_window_policy_cancel_only_within_7_days_of_start_or_renewal(cli):
    add_product(cli, sku="COMMIT", policy="window")
    c = add_customer(cli, card=True)
    sub_id = cli.ok("subscription", "buy", "--org", c.org_id, "--sku", "COMMIT", "--seats", 10, now=T0)["id"]
    assert (
        cli.ok("subscription", "cancel-preview", sub_id, "--as", c.billing_admin, now="2026-11-07T23:59:59Z")["code"]
        == "allowed"
    )
    d = refused(cli, "subscription", "cancel", sub_id, "--as", c.billing_admin, now="2026-11-08T00:00:00Z")
    assert_decision_shape(d)
    assert (d["code"], d["remedy"]) == (
        "outside_cancellation_window",
        {"action": "turn_off_recurring_billing", "count": None},
    )
    assert d["dates"] == {"window_closed_on": "2026-11-08T00:00:00Z", "current_period_end": "2026-12-01T00:00:00Z"}
    error = refused(cli, "licenses", "set", sub_id, "--total", 9, "--as", c.billing_admin, now="2026-11-08")
    assert error["error"]["code"] == "outside_cancellation_window"
    # Buying more is always possible; after the renewal the window opens again.
    assert (
        cli.ok("licenses", "set", sub_id, "--total", 11, "--as", c.billing_admin, now="2026-11-08")["subscription"][
            "seats"
        ]
        == 11
    )
    run_billing(cli, "2026-12-01T00:00:00Z")
    assert (
        cli.ok("subscription", "cancel-preview", sub_id, "--as", c.billing_admin, now="2026-12-03T00:00:00Z")["code"]
        == "allowed"
    )


def test_r12_seat_cap_and_r13_no_more_assigned_than_seats(cli):
    add_product(cli, max_seats=300)
    c = add_customer(cli, users=3, card=True)
    res = cli("subscription", "buy", "--org", c.org_id, "--sku", "BIZ", "--seats", 301, now=T0)
    assert res.exit_code == 3 and res.data["error"]["code"] == "seat_cap_exceeded", res
    sub_id = cli.ok("subscription", "buy", "--org", c.org_id, "--sku", "BIZ", "--seats", 2, now=T0)["id"]
    assert (
        refused(cli, "licenses", "set", sub_id, "--total", 301, "--as", c.billing_admin, now=T0)["error"]["code"]
        == "seat_cap_exceeded"
    )
    assert (
        cli.ok("licenses", "set", sub_id, "--total", 300, "--as", c.billing_admin, now=T0)["subscription"]["seats"]
        == 300
    )
    cli.ok("licenses", "set", sub_id, "--total", 2, "--as", "operator", now=T0)
    assign(cli, sub_id, c.user_ids[:2], by=c.user_admin, now=T0)
    error = refused(cli, "license", "assign", sub_id, "--user", c.user_ids[2], "--as", c.user_admin, now=T0)
    assert error["error"]["code"] == "no_free_licenses"
    error = refused(cli, "license", "assign", sub_id, "--user", c.user_ids[0], "--as", c.user_admin, now=T0)
    assert error["error"]["code"] == "already_assigned"
    error = refused(cli, "license", "unassign", sub_id, "--user", c.user_ids[2], "--as", c.user_admin, now=T0)
    assert error["error"]["code"] == "not_assigned"
    listed = cli.ok("license", "list", sub_id, now=T0)
    assert [row["user_id"] for row in listed] == sorted(c.user_ids[:2])
    assert show(cli, sub_id)["assigned"] == 2


def test_r13_user_remove_frees_the_licence_and_restore_within_30_days_gives_it_back(cli):
    add_product(cli)
    c = add_customer(cli, users=3, card=True)
    sub_id = cli.ok("subscription", "buy", "--org", c.org_id, "--sku", "BIZ", "--seats", 2, now=T0)["id"]
    u0, u1, u2 = c.user_ids
    assign(cli, sub_id, [u0], by=c.user_admin, now=T0)

    removed = cli.ok("user", "remove", u0, now="2026-11-05T10:00:00Z")
    assert (removed["status"], removed["removed_at"]) == ("removed", "2026-11-05T10:00:00Z")
    sub = show(cli, sub_id)
    assert (sub["seats"], sub["assigned"]) == (2, 0)  # the seat stays paid for
    assert refused(cli, "user", "remove", u0, now="2026-11-06")["error"]["code"] == "already_removed"
    # A removed user cannot act.
    res = cli("subscription", "cancel-preview", sub_id, "--as", "u0@contoso.example", now="2026-11-06")
    assert res.exit_code == 2 and res.data["error"]["code"] == "unknown_actor", res

    restored = cli.ok("user", "restore", u0, now="2026-12-04T09:59:59Z")  # 29 days later
    assert (restored["status"], restored["removed_at"]) == ("active", None)
    assert show(cli, sub_id)["assigned"] == 1
    assert refused(cli, "user", "restore", u0, now="2026-12-05")["error"]["code"] == "not_removed"

    # Restored when every seat is taken: the user comes back without the licence.
    cli.ok("user", "remove", u0, now="2026-12-05T00:00:00Z")
    assign(cli, sub_id, [u1, u2], by=c.user_admin, now="2026-12-05T01:00:00Z")
    assert cli.ok("user", "restore", u0, now="2026-12-06")["status"] == "active"
    assert [row["user_id"] for row in cli.ok("license", "list", sub_id, now="2026-12-06")] == sorted([u1, u2])

    # After 30 days a removed user stays removed.
    cli.ok("user", "remove", u1, now="2026-12-06T00:00:00Z")
    assert refused(cli, "user", "restore", u1, now="2027-01-05T00:00:00Z")["error"]["code"] == ("restore_window_passed")
    users = {u["id"]: u["status"] for u in cli.ok("user", "list", "--org", c.org_id, now="2027-01-05")}
    assert (users[u0], users[u1], users[u2]) == ("active", "removed", "active")
    actions = [e["action"] for e in cli.ok("audit", "list", "--org", c.org_id, now="2027-01-05")]
    assert actions.count("user.removed") == 3 and actions.count("user.restored") == 2
    assert "license.suspended" in actions and "license.resumed" in actions and "license.released" in actions


def test_subscription_list_and_product_org_listings(cli):
    add_product(cli)
    add_product(cli, sku="ANNUAL", price="120.00")
    c = add_customer(cli, card=True)
    d = add_customer(cli, name="Fabrikam", card=True)
    a = cli.ok("subscription", "trial", "--org", c.org_id, "--sku", "BIZ", now=T0)
    b = cli.ok("subscription", "buy", "--org", c.org_id, "--sku", "ANNUAL", "--seats", 4, now=T0)
    e = cli.ok("subscription", "buy", "--org", d.org_id, "--sku", "BIZ", "--seats", 1, now=T0)
    listed = cli.ok("subscription", "list", "--org", c.org_id, now=T0)
    assert isinstance(listed, list) and [s["id"] for s in listed] == [a["id"], b["id"]]
    for sub in listed:
        assert_subscription_shape(sub)
    assert [s["id"] for s in cli.ok("subscription", "list", now=T0)] == [a["id"], b["id"], e["id"]]
    assert [p["sku"] for p in cli.ok("product", "list", now=T0)] == ["ANNUAL", "BIZ"]
    assert [o["name"] for o in cli.ok("org", "list", now=T0)] == ["Contoso", "Fabrikam"]
    methods = cli.ok("payment-method", "list", "--org", c.org_id, now=T0)
    assert [(m["kind"], m["last4"], m["expires"]) for m in methods] == [("card", "4242", "12/2030")]
    invoice = cli.ok("payment-method", "add", "--org", d.org_id, "--invoice", now=T0)
    assert (invoice["kind"], invoice["last4"]) == ("invoice", None)
    # Without --json: a table for people, one row per subscription.
    res = cli("subscription", "list", "--org", c.org_id, now=T0, json_output=False)
    assert res.exit_code == 0 and res.stderr == "", res
    rows = [line for line in res.stdout.splitlines() if line.strip()]
    assert len(rows) == 3 and "trial" in rows[1] and "0/25" in rows[1] and "active" in rows[2], res.stdout


def test_now_accepts_a_date_and_an_offset_and_stores_utc(cli):
    org = cli.ok("org", "add", "--name", "Contoso", now="2026-11-01T11:30:00+02:00")
    assert org["created_at"] == "2026-11-01T09:30:00Z"
    org = cli.ok("org", "add", "--name", "Fabrikam", now="2026-11-26")
    assert org["created_at"] == "2026-11-26T00:00:00Z"


def test_demo_seed_is_idempotent(cli):
    first = cli("demo", "seed", now=T0)
    assert first.exit_code == 0, first
    after_first = snapshot(cli.url)
    statuses = {s["status"] for s in cli.ok("subscription", "list", now=T0)}
    assert statuses == {"trial", "active", "expired", "disabled", "deleted"}
    assert {o["locale"] for o in cli.ok("org", "list", now=T0)} == {"en", "nl"}
    second = cli("demo", "seed", now="2026-12-01T00:00:00Z")
    assert second.exit_code == 0, second
    assert snapshot(cli.url) == after_first


# --- exit codes ---------------------------------------------------------------------------


def test_exit_3_refusal_writes_nothing_and_prints_the_decision_without_json(cli):
    add_product(cli)
    c = add_customer(cli)
    sub_id = cli.ok("subscription", "trial", "--org", c.org_id, "--sku", "BIZ", now=T0)["id"]
    before = snapshot(cli.url)
    res = cli("subscription", "cancel", sub_id, "--as", c.global_admin, now=T0, json_output=False)
    assert res.exit_code == 3, res
    assert res.stdout.startswith("If you are a trial customer, there is nothing to cancel."), res
    assert one_line_error(res) == "error: cancellation refused: trial_nothing_to_cancel"
    assert snapshot(cli.url) == before


def test_exit_1_database_without_schema(tmp_path):
    cli = Cli(f"sqlite:///{tmp_path / 'empty.db'}")
    res = cli("org", "list", now=T0)
    assert res.exit_code == 1, res
    assert "seatwise db upgrade" in one_line_error(res)
    assert res.data["error"]["code"] == "no_schema"


def test_exit_1_database_unreachable():
    cli = Cli("postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2")
    res = cli("org", "list", now=T0)
    assert res.exit_code == 1, res
    assert one_line_error(res).startswith("error: database error:")
