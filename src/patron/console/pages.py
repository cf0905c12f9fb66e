"""Rendering console pages: one Jinja2 environment (autoescaped) and the headers every page has.

Every value a customer or an org supplies reaches the page through autoescaping, never through
`|safe`; pages load only the package's own script and style sheet, and the Content-Security-Policy
forbids everything else (inline scripts and styles included).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from patron.customers.render import timestamp

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages show personal data: no cache may keep a copy, and Back after sign-out shows nothing.
    "Cache-Control": "no-store",
}


def display(value: Any) -> str:
    """A stored value as a person reads it: text as is, anything else as JSON, nothing as '—'."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return timestamp(value) or "—"
    return orjson.dumps(value).decode()


@cache
def environment() -> Environment:
    """The templates of `patron.console`, autoescaped, failing loudly on an undefined name."""
    env = Environment(
        loader=PackageLoader("patron.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["display"] = display
    return env


def page(
    template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """`template` rendered with `context`, with the console's security headers."""
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
