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
_MAX_MEMO = 4096
"""Written forms remembered; parsing an address costs more than the rest of the rule."""


class TrustedProxies:
    """The proxies whose `X-Forwarded-For` is believed, and the rule that reads it."""

    def __init__(self, proxies: AddressSet) -> None:
        self._proxies = proxies
        self._memo: dict[str, tuple[str, bool]] = {}

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """From the comma-separated addresses and CIDR ranges of `PATRON_TRUSTED_PROXIES`."""
        return cls(AddressSet.parse(text))

    def client_address(self, scope: Scope) -> str:
        """The client address of an HTTP request's scope, in its canonical written form."""
        client = scope.get("client")
        peer = self._read(str(client[0]))[0] if client else UNKNOWN
        if not self._proxies or peer not in self._proxies:
            return peer
        hops = [self._read(hop) for hop in forwarded_for(scope["headers"])]
        # Right to left: skip our own proxies; the first other entry is the client.
        for hop, is_address in reversed(hops):
            if hop in self._proxies:
                continue
            # An entry that is no address was written by a proxy we trust (the client's own
            # entries are further left): nothing to believe, so the request is the peer's.
            return hop if is_address else peer
        # Every hop is one of ours (or there is no header): the furthest one we know of.
        return hops[0][0] if hops else peer

    def _read(self, text: str) -> tuple[str, bool]:
        """`text` in canonical form, and whether it is an address at all."""
        # The same peers come back on every request (a balancer, a store's NAT); the bound
        # keeps a stream of new addresses from growing the memo.
        known = self._memo.get(text)
        if known is None:
            if len(self._memo) >= _MAX_MEMO:
                self._memo.clear()
            address = parse_address(text)
            known = self._memo[text] = (text, False) if address is None else (str(address), True)
        return known


def forwarded_for(headers: list[tuple[bytes, bytes]]) -> list[str]:
    """Every `X-Forwarded-For` entry, in order, ports and brackets dropped; several headers
    are read as one list."""
    hops: list[str] = []
    for name, value in headers:
        if name == b"x-forwarded-for":
            hops.extend(_hop(item) for item in value.decode("latin-1").split(","))
    return [hop for hop in hops if hop]


def _hop(item: str) -> str:
    """One entry without its port: `[2001:db8::1]:443` and `192.0.2.1:8080` lose it."""
    item = item.strip()
    if item.startswith("["):
        item = item[1 : item.find("]")] if "]" in item else item
    elif item.count(":") == 1:
        item = item.partition(":")[0]
    return item


def client_address(conn: HTTPConnection) -> str:
    """The request's client address as the middleware decided it."""
    state = conn.scope.get("state") or {}
    address = state.get(STATE_KEY)
    if isinstance(address, str):
        return address
    # Not through the middleware (never in the app): the peer, never a header.
    client = conn.scope.get("client")
    return canonical(str(client[0])) if client else UNKNOWN
