"""R10 / issue 2 §4: a decision's message is in the organisation's locale, in the glossary's Dutch."""

from __future__ import annotations

from tests.cli.helpers import T0, add_customer, add_product, assign, refused


def _plain(text: str) -> str:
    return text.replace("\u00a0", " ")  # Babel puts a no-break space between € and the amount


def test_r7_trial_message_in_dutch_for_a_dutch_org_and_english_for_an_english_one(cli):
    add_product(cli)
    nl = add_customer(cli, name="Fabrikam", locale="nl")
    en = add_customer(cli, name="Contoso", locale="en")
    nl_sub = cli.ok("subscription", "trial", "--org", nl.org_id, "--sku", "BIZ", now=T0)["id"]
    en_sub = cli.ok("subscription", "trial", "--org", en.org_id, "--sku", "BIZ", now=T0)["id"]

    nl_decision = cli.ok("subscription", "cancel-preview", nl_sub, "--as", nl.billing_admin, now=T0)
    assert nl_decision["message"] == (
        "Voor een proefabonnement hoeft u niets op te zeggen. "
        "Proefabonnementen verlopen automatisch, tenzij u een betalingsmethode opgeeft. "
        "Dit proefabonnement verloopt op 1 december 2026."
    )
    # Not the seed's machine translation, which the glossary corrects.
    assert "proefklant" not in nl_decision["message"] and "opsomt" not in nl_decision["message"]

    en_decision = cli.ok("subscription", "cancel-preview", en_sub, "--as", en.billing_admin, now=T0)
    assert en_decision["message"] == (
        "If you are a trial customer, there is nothing to cancel. "
        "Trial subscriptions expire automatically unless you provide a payment method. "
        "This trial expires on 1 December 2026."
    )
    # Only the words differ: the decision is the same.
    assert {k: v for k, v in nl_decision.items() if k != "message"} == {
        k: v for k, v in en_decision.items() if k != "message"
    }

    # The refusal (exit 3) carries the same Dutch words, in JSON and as text for people.
    assert refused(cli, "subscription", "cancel", nl_sub, "--as", nl.billing_admin, now=T0) == nl_decision
    res = cli("subscription", "cancel", nl_sub, "--as", nl.billing_admin, now=T0, json_output=False)
    assert res.exit_code == 3, res
    assert res.stdout.strip() == nl_decision["message"]


def test_r7_dutch_trial_with_payment_method_offers_turning_recurring_billing_off(cli):
    add_product(cli)
    nl = add_customer(cli, name="Fabrikam", locale="nl", card=True)
    sub_id = cli.ok("subscription", "trial", "--org", nl.org_id, "--sku", "BIZ", now=T0)["id"]
    message = cli.ok("subscription", "cancel-preview", sub_id, "--as", nl.global_admin, now=T0)["message"]
    assert message.endswith(
        "Er is een betalingsmethode opgegeven, dus dit proefabonnement wordt op 1 december "
        "2026 een betaald abonnement. Zet terugkerende facturering uit om het te laten verlopen."
    )


def test_r8_too_many_assigned_in_dutch(cli):
    add_product(cli)
    nl = add_customer(cli, name="Fabrikam", locale="nl", users=25, card=True)
    sub_id = cli.ok("subscription", "buy", "--org", nl.org_id, "--sku", "BIZ", "--seats", 25, now=T0)["id"]
    assign(cli, sub_id, nl.user_ids, by=nl.user_admin, now=T0)
    decision = refused(cli, "subscription", "cancel", sub_id, "--as", nl.billing_admin, now=T0)
    assert (decision["code"], decision["remedy"]["count"]) == ("too_many_assigned_licenses", 1)
    assert decision["message"] == (
        "Als u minder dan 25 toegewezen licenties hebt, kunt u uw abonnement online opzeggen. "
        "U hebt 25 toegewezen licenties. Verwijder gebruikers tot u er minder dan 25 hebt: trek er nog 1 in."
    )


def test_r5_r15_allowed_and_not_active_in_dutch_with_dutch_money_and_dates(cli):
    add_product(cli, price="30.00")
    nl = add_customer(cli, name="Fabrikam", locale="nl", card=True)
    sub_id = cli.ok("subscription", "buy", "--org", nl.org_id, "--sku", "BIZ", "--seats", 1, now=T0)["id"]
    out = cli.ok("subscription", "cancel", sub_id, "--as", nl.billing_admin, now="2026-11-03T10:00:00Z")
    assert out["decision"]["credit"] == {"amount": "27.00", "currency": "EUR"}
    assert _plain(out["decision"]["message"]) == (
        "U kunt dit abonnement online opzeggen. Het wordt meteen uitgeschakeld en op 1 februari 2027 verwijderd. "
        "Terugbetaling: een tegoed naar rato van € 27,00 krijgt u binnen de volgende factureringsperiode terug, "
        "uiterlijk op 1 december 2026."
    )
    after = cli.ok("subscription", "cancel-preview", sub_id, "--as", nl.billing_admin, now="2026-11-04")
    assert after["message"] == "Alleen een actief abonnement kan worden opgezegd; dit abonnement is uitgeschakeld."


def test_r9_not_authorized_in_dutch(cli):
    add_product(cli)
    nl = add_customer(cli, name="Fabrikam", locale="nl", card=True)
    sub_id = cli.ok("subscription", "buy", "--org", nl.org_id, "--sku", "BIZ", "--seats", 1, now=T0)["id"]
    decision = refused(cli, "subscription", "cancel", sub_id, "--as", nl.user_admin, now=T0)
    assert decision["code"] == "not_authorized"
    assert decision["message"] == (
        "Alleen een globale beheerder of een factureringsbeheerder kan een abonnement opzeggen."
    )
