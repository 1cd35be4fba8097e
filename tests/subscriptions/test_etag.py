"""ETag and If-Match on subscriptions and their licences: a read-then-write client never loses another's update."""

from __future__ import annotations

from seatwise.subscriptions import service as subscriptions
from tests.api import client_with_key
from tests.conftest import T0
from tests.factories import world


def _bought(uow, db_url):
    with uow() as s:
        w = world(s, now=T0)
        sub = subscriptions.buy(s, org_id=w.org_id, sku=w.sku, seats=5, actor=w.global_admin, now=T0)
        s.flush()
    return w, sub.id, client_with_key(uow, db_url, org_id=w.org_id, as_user=w.global_admin.user_id)


def test_a_write_with_a_stale_if_match_is_412_and_changes_nothing(uow, db_url):
    _, sub_id, client = _bought(uow, db_url)
    read = client.get(f"/v1/subscriptions/{sub_id}")
    seen = read.headers["etag"]
    other = client.put(f"/v1/subscriptions/{sub_id}/licenses", json={"total": 8}, headers={"If-Match": seen})
    assert other.status_code == 200 and other.headers["etag"] != seen
    # The first client read 5 seats and, not knowing of the 8, asks for 6: refused, the 8 stay.
    stale = client.put(f"/v1/subscriptions/{sub_id}/licenses", json={"total": 6}, headers={"If-Match": seen})
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    assert client.get(f"/v1/subscriptions/{sub_id}").json()["seats"] == 8
    fresh = client.get(f"/v1/subscriptions/{sub_id}").headers["etag"]
    assert fresh == other.headers["etag"]
    again = client.put(f"/v1/subscriptions/{sub_id}/licenses", json={"total": 6}, headers={"If-Match": fresh})
    assert again.status_code == 200 and again.json()["subscription"]["seats"] == 6


def test_the_etag_changes_with_the_licences_assigned_and_guards_every_write(uow, db_url):
    w, sub_id, client = _bought(uow, db_url)
    before = client.get(f"/v1/subscriptions/{sub_id}").headers["etag"]
    user = w.user_ids[0]
    assigned = client.post(f"/v1/subscriptions/{sub_id}/assignments", json={"user_id": user})
    assert assigned.status_code == 201 and assigned.headers["etag"] != before
    assert client.get(f"/v1/subscriptions/{sub_id}").headers["etag"] == assigned.headers["etag"]
    stale = {"If-Match": before}
    for method, path, body in [
        ("POST", f"/v1/subscriptions/{sub_id}/assignments", {"user_id": w.user_ids[1]}),
        ("DELETE", f"/v1/subscriptions/{sub_id}/assignments/{user}", None),
        ("PUT", f"/v1/subscriptions/{sub_id}/recurring-billing", {"enabled": False}),
        ("POST", f"/v1/subscriptions/{sub_id}/cancellation", {}),
        ("POST", f"/v1/subscriptions/{sub_id}/reactivation", None),
    ]:
        answer = client.request(method, path, json=body, headers=stale)
        assert (answer.status_code, answer.json()["code"]) == (412, "precondition_failed"), (method, path)
    after = client.get(f"/v1/subscriptions/{sub_id}")
    assert after.headers["etag"] == assigned.headers["etag"]
    assert (after.json()["assigned"], after.json()["recurring_billing"], after.json()["status"]) == (1, True, "active")
    anything = {"If-Match": "*"}
    assert client.put(
        f"/v1/subscriptions/{sub_id}/recurring-billing", json={"enabled": False}, headers=anything
    ).is_success


def test_an_idempotency_key_replay_sends_the_etag_of_the_first_answer(uow, db_url):
    w, sub_id, client = _bought(uow, db_url)
    path, key = f"/v1/subscriptions/{sub_id}/licenses", {"Idempotency-Key": "seats-7"}
    first = client.put(path, json={"total": 7}, headers=key)
    again = client.put(path, json={"total": 7}, headers=key)
    assert first.status_code == again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"] == client.get(f"/v1/subscriptions/{sub_id}").headers["etag"]
    path, body, key = (
        f"/v1/organizations/{w.org_id}/subscriptions",
        {"sku": w.sku, "seats": 1},
        {"Idempotency-Key": "b"},
    )
    bought, rebought = (client.post(path, json=body, headers=key) for _ in range(2))
    assert bought.status_code == rebought.status_code == 201, bought.text
    assert rebought.headers["etag"] == bought.headers["etag"] and rebought.json() == bought.json()
