"""Client addresses: their one written form, and sets of addresses named by CIDR ranges.

Pure (no I/O): used by the settings (to validate `PATRON_TRUSTED_PROXIES` and
`PATRON_AUTH_ALLOWLIST`), by the HTTP layer (which proxies to trust) and by the throttle (which
addresses are never throttled).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_MAX_CACHED = 4096
"""Addresses whose membership an `AddressSet` remembers; a client cannot grow it past this."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """The ranges of a comma-separated list of addresses and CIDR ranges; ValueError if one is bad.

    A bare address is a range of one; host bits set in a range (`10.0.0.1/8`) are allowed and
    ignored, as operators often write them.
    """
    networks = []
    for item in text.split(","):
        item = item.strip()
        if item:
            networks.append(ipaddress.ip_network(item, strict=False))
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """The address `text` names (IPv4-mapped IPv6 read as IPv4), or None when it is not one."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def canonical(text: str) -> str:
    """One written form per address (`2001:DB8:0::1` and `2001:db8::1` are one client).

    Text that is no address (a test client's name, a Unix socket) is kept as it is.
    """
    address = parse_address(text)
    return text if address is None else str(address)


class AddressSet:
    """A fixed set of CIDR ranges that answers "is this address in it?" for written addresses."""

    def __init__(self, networks: Iterable[Network] = ()) -> None:
        self._networks = tuple(networks)
        # Membership of the addresses seen lately: the same few peers (load balancers, a
        # store's NAT) come back on every request, and parsing costs more than a dict look-up.
        self._seen: dict[str, bool] = {}

    @classmethod
    def parse(cls, text: str) -> AddressSet:
        """The set of a comma-separated list of addresses and CIDR ranges."""
        return cls(parse_networks(text))

    def __bool__(self) -> bool:
        return bool(self._networks)

    def __contains__(self, text: object) -> bool:
        if not self._networks or not isinstance(text, str):
            return False
        known = self._seen.get(text)
        if known is None:
            address = parse_address(text)
            known = address is not None and any(address in net for net in self._networks)
            if len(self._seen) >= _MAX_CACHED:
                self._seen.clear()
            self._seen[text] = known
        return known
