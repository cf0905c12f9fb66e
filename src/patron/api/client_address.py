"""The client address of a request, decided once by the middleware (SPEC section 4).

When the peer (the socket's other end) is one of `PATRON_TRUSTED_PROXIES`, the client is the
right-most address of `X-Forwarded-For` that is not itself a trusted proxy: every proxy appends
the address it received the request from, so the entries to the right of the first untrusted
one were written by proxies we trust and everything to its left was sent by the client (who
may write anything there). From any other peer the header is ignored, so a client cannot
choose its own address. Throttling and the request log read the result with `client_address`.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import Scope

from patron.addresses import AddressSet, canonical, parse_address

STATE_KEY = "client_address"
"""Where the middleware leaves the address in the request's state."""
UNKNOWN = ""
"""The address of a request whose peer the server does not know (a Unix socket)."""


class TrustedProxies:
    """The proxies whose `X-Forwarded-For` is believed, and the rule that reads it."""

    def __init__(self, proxies: AddressSet) -> None:
        self._proxies = proxies

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """From the comma-separated addresses and CIDR ranges of `PATRON_TRUSTED_PROXIES`."""
        return cls(AddressSet.parse(text))

    def client_address(self, scope: Scope) -> str:
        """The client address of an HTTP request's scope, in its canonical written form."""
        client = scope.get("client")
        peer = canonical(str(client[0])) if client else UNKNOWN
        if not self._proxies or peer not in self._proxies:
            return peer
        hops = forwarded_for(scope["headers"])
        # Right to left: skip our own proxies; the first other entry is the client.
        for hop in reversed(hops):
            if hop in self._proxies:
                continue
            # An entry that is no address was written by a proxy we trust (the client's own
            # entries are further left): nothing to believe, so the request is the peer's.
            return hop if parse_address(hop) is not None else peer
        # Every hop is one of ours (or there is no header): the furthest one we know of.
        return hops[0] if hops else peer


def forwarded_for(headers: list[tuple[bytes, bytes]]) -> list[str]:
    """Every `X-Forwarded-For` entry, in order, several headers read as one list."""
    hops: list[str] = []
    for name, value in headers:
        if name == b"x-forwarded-for":
            hops.extend(_hop(item) for item in value.decode("latin-1").split(","))
    return [hop for hop in hops if hop]


def _hop(item: str) -> str:
    """One entry as an address: `[2001:db8::1]:443` and `192.0.2.1:8080` lose their port."""
    item = item.strip()
    if item.startswith("["):
        item = item[1 : item.find("]")] if "]" in item else item
    elif item.count(":") == 1:
        item = item.partition(":")[0]
    return canonical(item)


def client_address(conn: HTTPConnection) -> str:
    """The request's client address as the middleware decided it."""
    state = conn.scope.get("state") or {}
    address = state.get(STATE_KEY)
    if isinstance(address, str):
        return address
    # Not through the middleware (never in the app): the peer, never a header.
    client = conn.scope.get("client")
    return canonical(str(client[0])) if client else UNKNOWN
