"""FastAPI dependencies on the application's state, declared once as `Annotated` aliases.

Every dependency is `async def`, even the trivial ones: FastAPI runs a plain `def` dependency in
a worker thread, which costs more than the dependency itself on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from patron.db.driver import Database


async def get_db(request: Request) -> Database:
    """The application's database."""
    db: Database = request.app.state.db
    return db


DbDep = Annotated[Database, Depends(get_db)]
