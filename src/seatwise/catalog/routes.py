"""The catalogue over the JSON API."""

from __future__ import annotations

from fastapi import APIRouter

from seatwise.catalog import service
from seatwise.catalog.schemas import ProductOut
from seatwise.deps import DB, Caller, Page, Pages, page_of

router = APIRouter(prefix="/v1/products", tags=["products"])


@router.get("", operation_id="listProducts", response_model=Page[ProductOut])
def list_products(_caller: Caller, session: DB, paging: Pages) -> Page[ProductOut]:
    """The products of the catalogue, oldest first."""
    rows = service.page_products(session, after=paging.after, limit=paging.fetch)
    return page_of(rows, paging, lambda products: [ProductOut.of(p) for p in products])
