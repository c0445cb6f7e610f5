"""Which addresses the server may fetch on a user's behalf (SSRF guard), as pure rules.

Only globally routable unicast addresses are allowed: loopback, private
(RFC 1918, ULA), link-local, carrier-grade NAT, multicast, reserved,
documentation and unspecified ranges are refused, and so are IPv4-mapped or
NAT64 / 6to4 forms of them. ``ipaddress.is_global`` is the maintained table
of IANA's special-purpose registries; the embedded-IPv4 forms are unwrapped
here because ``is_global`` judges the IPv6 wrapper, not what it points at.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from fieldproof.errors import WebUrlInvalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_6TO4 = ipaddress.ip_network("2002::/16")
MAX_URL = 2048


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _6TO4:
        return ip.sixtofour
    return None


def is_public(ip: IPAddress | str) -> bool:
    """True for an address the server may connect to on a user's behalf."""
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    inner = embedded_ipv4(addr)
    if inner is not None:
        return is_public(inner)
    return addr.is_global and not addr.is_multicast


def check_url(url: str) -> str:
    """A URL a web capture may start from: http(s), a host, no credentials.

    Returns it unchanged; raises ``WebUrlInvalid`` otherwise. Where it points
    is checked at connection time (every connection, after every redirect and
    DNS answer), not here.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise WebUrlInvalid(f"the URL is missing or longer than {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise WebUrlInvalid("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebUrlInvalid(f"the URL cannot be read: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise WebUrlInvalid("only http and https URLs can be recorded")
    if not parts.hostname:
        raise WebUrlInvalid("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise WebUrlInvalid("the URL must not carry a user name or password")
    if port == 0:
        raise WebUrlInvalid("the URL's port is 0")
    return url
