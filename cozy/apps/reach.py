"""Where the network sources an instance's owner gives may connect (no server-side request forgery).

An owner's source (given through the API) reaches public addresses only: its
host is resolved, refused if any address is not global, and the connection
goes to the addresses checked (cozy.apps.pinned, cozy.apps.gitsource), so a
DNS answer that changes between the check and the connection (rebinding)
reaches nothing new. The operator's ``COZY_APPS_SOURCE_ALLOW`` names hosts and
networks owners may reach anyway (a registry on the LAN), and the operator's
apps registry is trusted. Sources given to ``manage.py`` are the operator's:
``TRUSTED`` checks nothing.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

log = logging.getLogger(__name__)
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_PORTS = {"http": 80, "https": 443, "git": 9418, "git+http": 80, "git+https": 443}


class HostNotAllowed(ValueError):
    """An owner's source names (or redirects to) a host it may not reach; the message names only that host."""


def not_allowed(host: str) -> HostNotAllowed:
    return HostNotAllowed(f"this source's host is not allowed: {host!r} (only public addresses, "
                          "unless the operator allows it)")  # fmt: skip


@dataclass(frozen=True)
class Reach:
    checked: bool  # False: the operator's own source, nothing is checked
    networks: tuple[Network, ...] = ()  # addresses allowed even if not public
    hosts: frozenset[str] = frozenset()  # names allowed whatever they resolve to

    def pinned(self, host: str, port: int) -> list[str] | None:
        """The addresses a connection to ``host`` must use, each checked (raises HostNotAllowed),
        or None when nothing is to be checked and the connection may resolve the name itself."""
        if not self.checked or _name(host) in self.hosts:
            return None
        addresses = _resolve(host, port)
        for address in addresses:
            if not any(address in net for net in self.networks) and not public(address):
                log.warning("an owner's app source was refused: %s resolves to %s", host, address)
                raise not_allowed(host)
        return [str(a) for a in addresses]


TRUSTED = Reach(checked=False)


def public(address: Address) -> bool:
    """A global unicast address, embedding no private IPv4 one (mapped, 6to4, Teredo)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
        if any(v4 is not None and not public(v4) for v4 in embedded):
            return False
    return address.is_global and not (address.is_loopback or address.is_private or address.is_link_local
                                      or address.is_multicast or address.is_reserved or address.is_unspecified)


def owners_reach(*trusted_urls: str) -> Reach:
    """The reach of owners' sources: public addresses, ``COZY_APPS_SOURCE_ALLOW``, and the hosts
    of ``trusted_urls`` (the operator's registry)."""
    networks, hosts = parse_allow(_allow_setting())
    trusted = {_name(urlsplit(u).hostname or "") for u in trusted_urls} - {""}
    return Reach(checked=True, networks=networks, hosts=hosts | trusted)


def parse_allow(entries: Iterable[str]) -> tuple[tuple[Network, ...], frozenset[str]]:
    """(networks, host names) of the allow setting's entries: ``10.0.0.0/8``, ``192.168.1.5``,
    ``fd00::/8``, ``registry.lan``."""
    networks: list[Network] = []
    hosts: set[str] = set()
    for entry in entries:
        text = entry.strip().replace("[", "").replace("]", "")
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            hosts.add(_name(text))
    return tuple(networks), frozenset(hosts)


def _allow_setting() -> list[str]:
    value = getattr(settings, "COZY_APPS_SOURCE_ALLOW", ())
    return re.split(r"[,\s]+", value) if isinstance(value, str) else [str(v) for v in value]


def _name(host: str) -> str:
    return host.strip().lower().rstrip(".")


def _resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to, in the resolver's order (refused if it resolves to none)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        log.info("an owner's app source was refused: %s does not resolve", host)
        raise not_allowed(host) from None
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
        if address not in found:
            found.append(address)
    if not found:
        raise not_allowed(host)
    return found
