"""Organisations over the JSON API: a key sees its own only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session

from seatwise.core.errors import NotFound
from seatwise.core.roles import Actor
from seatwise.deps import api_actor, read_session
from seatwise.organizations import service
from seatwise.organizations.schemas import OrganizationOut

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])


@router.get("/{org_id}", response_model=OrganizationOut)
def get_organization(caller: Annotated[Actor, Depends(api_actor)], session: Annotated[Session, Depends(read_session)],
                     org_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> OrganizationOut:
    """One organisation; another one answers 404 as a missing one does."""
    if not caller.is_operator and caller.org_id != org_id:
        raise NotFound(f"unknown organisation {org_id}: expected an id from `seatwise org list`", code="unknown_org")
    return OrganizationOut.of(service.get_org(session, org_id=org_id))
