"""HTTP routes of the admin API: apply and read an org's declarative document (SPEC section 3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import RootModel
from starlette.requests import Request

from patron import errors
from patron.api.body import read_body
from patron.api.deps import AdminDep, DbDep, OrgCacheDep
from patron.api.openapi import ERROR_RESPONSES, json_body
from patron.api.responses import JsonResponse
from patron.errors import ApiError
from patron.orgs import service, validation
from patron.orgs.schema import OrgDocument, OrgView, config_to_wire

router = APIRouter(tags=["admin"])

OrgCode = Annotated[
    str,
    Path(
        alias="orgCode",
        description="1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit.",
    ),
]


class _JsonObject(RootModel[dict[str, Any]]):
    """Any JSON object: the document's own rules are checked by `patron.orgs.validation`, which
    reports the problems of every section at once."""


@router.put(
    "/admin/orgs/{orgCode}",
    response_model=OrgView,
    responses={s: ERROR_RESPONSES[s] for s in (400, 401, 409, 413, 415)},
    openapi_extra=json_body(OrgDocument),
)
async def put_org(
    request: Request, org_code: OrgCode, _admin: AdminDep, db: DbDep, cache: OrgCacheDep
) -> JsonResponse:
    """Create the org or bring it to exactly this configuration (idempotent)."""
    body = await read_body(request, _JsonObject)
    doc = validation.load_document(org_code, body.root)
    config, _changed = await service.apply_document(db, org_code, doc)
    cache.put(config)
    return JsonResponse(config_to_wire(config))


@router.get(
    "/admin/orgs/{orgCode}",
    response_model=OrgView,
    responses={s: ERROR_RESPONSES[s] for s in (400, 401, 404)},
)
async def get_org(org_code: OrgCode, _admin: AdminDep, db: DbDep) -> JsonResponse:
    """The org's configuration as stored, without passwords or secrets."""
    document = await service.read(db, org_code)
    if document is None:
        raise ApiError.one(errors.ORG_NOT_FOUND, f"No org has the code {org_code!r}", "orgCode")
    return JsonResponse(document)
