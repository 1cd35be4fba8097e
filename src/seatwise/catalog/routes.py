"""The catalogue over the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from seatwise.catalog import service
from seatwise.catalog.schemas import ProductOut
from seatwise.core.roles import Actor
from seatwise.deps import api_actor, read_session

router = APIRouter(prefix="/v1/products", tags=["products"])


@router.get("", response_model=list[ProductOut])
def list_products(_caller: Annotated[Actor, Depends(api_actor)],
                  session: Annotated[Session, Depends(read_session)]) -> list[ProductOut]:
    """Every product of the catalogue, oldest first."""
    return [ProductOut.of(p) for p in service.list_products(session)]
