"""Read-only JSON of subscriptions (the HTTP API grows here)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from seatwise.deps import read_session
from seatwise.subscriptions import service
from seatwise.subscriptions.schemas import SubscriptionOut

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


def _out(session: Session, subs) -> list[SubscriptionOut]:
    counts = service.assigned_counts(session, sub_ids=[s.id for s in subs])
    products = {}
    rows = []
    for sub in subs:
        product = products.get(sub.product_id) or products.setdefault(sub.product_id, service.product_of(session, sub))
        rows.append(SubscriptionOut.of(sub, sku=product.sku, product_name=product.name, assigned=counts[sub.id]))
    return rows


@router.get("", response_model=list[SubscriptionOut])
def list_subscriptions(session: Session = Depends(read_session)) -> list[SubscriptionOut]:
    """Every subscription, oldest first."""
    return _out(session, service.list_all(session))


@router.get("/{sub_id}", response_model=SubscriptionOut)
def get_subscription(sub_id: int, session: Session = Depends(read_session)) -> SubscriptionOut:
    """One subscription."""
    return _out(session, [service.get(session, sub_id=sub_id)])[0]
