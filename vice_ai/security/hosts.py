"""Which `Host` a request may name: the defence against DNS rebinding.

A page on attacker.example whose name the attacker re-points at this server's
address is, to the browser, the same origin as the attacker's site: its
requests carry `Host: attacker.example` (and a matching `Origin`), so the
same-origin checks pass. Refusing every host name this server was not told
about closes that door, for pages, the API and websocket handshakes alike.

`VICE_AI_ALLOWED_HOSTS` lists the names (comma-separated; `name:port` allows
one port only, `.example.org` the name and its subdomains, `*` any host). Unset,
the allowed names are localhost, 127.0.0.1 and ::1 plus the address `run.py` was
told to listen on (for 0.0.0.0 or ::, also this machine's host name).
"""
from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from typing import Any

from flask import Flask, request

from ..errors import BadHost

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_ADDRESSES = ("", "0.0.0.0", "::", "[::]")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# A host name or IPv4 address, or an IPv6 address in brackets, then an optional port.
_HOST = re.compile(r"(?P<name>[a-z0-9_.-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?", re.IGNORECASE | re.ASCII)


def split_host(value: str) -> tuple[str, int | None] | None:
    """`name[:port]` (IPv6 in brackets, or bare without a port) as (lower-case name, port); None if malformed.

    The name loses its brackets and a trailing dot ("localhost." is localhost)."""
    value = value.strip()
    if value.count(":") > 1 and not value.startswith("["):
        value = f"[{value}]"  # a bare IPv6 address
    found = _HOST.fullmatch(value)
    if found is None:
        return None
    port = int(found["port"]) if found["port"] else None
    if port is not None and not 0 < port < 65536:
        return None
    name = found["name"].lower().strip("[]")
    if name.endswith("."):
        name = name[:-1]
    return (name, port) if name else None


@dataclass(frozen=True)
class AllowedHost:
    name: str
    port: int | None
    subdomains: bool

    def allows(self, name: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        return name == self.name or (self.subdomains and name.endswith("." + self.name))


def parse_allowed(entries: list[str]) -> list[AllowedHost] | None:
    """The configured entries as rules; None means any host (`*`). ValueError names a malformed entry."""
    rules = []
    for entry in entries:
        entry = entry.strip()
        if entry == "*":
            return None
        subdomains = entry.startswith(".")
        parsed = split_host(entry[1:] if subdomains else entry)
        if parsed is None:
            raise ValueError(f"VICE_AI_ALLOWED_HOSTS: {entry!r} is not a host name, an address or name:port")
        rules.append(AllowedHost(parsed[0], parsed[1], subdomains))
    return rules


def default_hosts(listen_host: str | None) -> list[str]:
    """The hosts allowed when none are configured: this machine's local names and the listening address."""
    hosts = list(LOCAL_NAMES)
    if listen_host is None:
        return hosts
    name = listen_host.strip()
    # Listening everywhere: the machine's own name too; a local name already listed is not named twice.
    extra = socket.gethostname() if name in WILDCARD_ADDRESSES else name
    return hosts if extra in hosts else [*hosts, extra]


def allowed_hosts(config: Any) -> list[str]:
    """The configured allow-list, or the default one."""
    configured = config.get("ALLOWED_HOSTS")
    if configured:
        return list(configured)
    return default_hosts(config.get("LISTEN_HOST"))


def host_allowed(rules: list[AllowedHost] | None, host: str, scheme: str) -> bool:
    """Whether the request's `host[:port]` matches a rule (a missing port is the scheme's default)."""
    if rules is None:
        return True
    parsed = split_host(host) if host else None
    if parsed is None:
        return False
    name, port = parsed
    effective = port if port is not None else DEFAULT_PORTS.get(scheme.lower(), 80)
    return any(rule.allows(name, effective) for rule in rules)


def init_app(app: Flask) -> None:
    """Refuse (400 `bad_host`) any request whose Host is not allowed, before anything else runs."""
    rules = parse_allowed(allowed_hosts(app.config))

    def _check() -> None:
        if not host_allowed(rules, request.host, request.scheme):
            raise BadHost("This server does not answer to that host name: add it to VICE_AI_ALLOWED_HOSTS.")

    app.before_request_funcs.setdefault(None, []).insert(0, _check)
