"""Who may use the dashboard and how much of the machine one page may take: one object.

The command line (and the dashboard container's environment) fill a GuardOptions; the
server's guard reads nothing else. `resolve_guard` refuses, in one line, a server that
would be reachable from other machines without a secret.
"""

import ipaddress
import os
import secrets
import socket
from dataclasses import dataclass, field

from nbsteps.errors import UsageError

TOKEN_VARIABLE = "NBSTEPS_DASHBOARD_TOKEN"
ALLOW_HOSTS_VARIABLE = "NBSTEPS_DASHBOARD_ALLOW_HOSTS"  # comma-separated
# Set by docker-compose.yml to the host address the container's port is published on:
# inside a container the server must listen on 0.0.0.0, and only the host's side of the
# port says whether other machines can reach it.
PUBLISHED_VARIABLE = "NBSTEPS_DASHBOARD_PUBLISHED_ON"
AUTO_TOKEN = "auto"
MIN_TOKEN_CHARS = 16
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
WILDCARDS = ("0.0.0.0", "::", "")

# Defaults for a two-core machine: a page kernel with its warm kernel takes about 450 MB,
# and eight runs at once already share two cores eight ways.
MAX_PAGES = 8
MAX_PAGES_PER_CLIENT = 4
# A page whose browser never connected (a script, a crawler) or went away without saying
# so keeps its kernel this long at most.
UNCONNECTED_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class GuardOptions:
    """What the server's guard enforces on every request and every kernel start."""

    allowed_hosts: frozenset[str]  # Host header names (lower case, without the port)
    accept_ip_hosts: bool = False  # any IP literal as Host (exposed on a wildcard address)
    token: str = ""  # empty: no secret asked (loopback only)
    max_pages: int = MAX_PAGES  # page kernels in all
    max_pages_per_client: int = MAX_PAGES_PER_CLIENT  # page kernels per client address
    unconnected_timeout_s: float = UNCONNECTED_TIMEOUT_S
    token_generated: bool = field(default=False, compare=False)


@dataclass
class GuardRequest:
    """What the command line asked for, before it is checked."""

    host: str = "127.0.0.1"
    allow_hosts: list[str] = field(default_factory=list)
    token: str | None = None  # a token, AUTO_TOKEN, or None (then the environment's)
    max_pages: int = MAX_PAGES
    max_pages_per_client: int = MAX_PAGES_PER_CLIENT
    unconnected_timeout_s: float = UNCONNECTED_TIMEOUT_S


def resolve_guard(request: GuardRequest, environ=os.environ) -> GuardOptions:
    """The options the server runs with; UsageError, in one line, for anything unsafe."""
    check_limits(request)
    reachable = environ.get(PUBLISHED_VARIABLE) or request.host
    token, generated = read_token(request.token, environ)
    exposed = not is_loopback(reachable)
    if exposed and not token:
        raise UsageError(
            f"--host {reachable} makes the dashboard reachable from other machines, and its "
            f"page runs code: give it a secret with --token TOKEN (or {TOKEN_VARIABLE}; "
            f"at least {MIN_TOKEN_CHARS} characters), or --token {AUTO_TOKEN} to have one "
            "made and printed")
    names = set(LOOPBACK_NAMES)
    names.update(normalise_host(name) for name in request.allow_hosts)
    names.update(normalise_host(name) for name in
                 environ.get(ALLOW_HOSTS_VARIABLE, "").split(",") if name.strip())
    wildcard = reachable in WILDCARDS
    if not wildcard:
        names.add(normalise_host(reachable))
    elif exposed:
        names.update(normalise_host(name) for name in (socket.gethostname(), socket.getfqdn()))
    return GuardOptions(
        allowed_hosts=frozenset(names), accept_ip_hosts=wildcard and exposed, token=token,
        max_pages=request.max_pages, max_pages_per_client=request.max_pages_per_client,
        unconnected_timeout_s=request.unconnected_timeout_s, token_generated=generated)


def check_limits(request: GuardRequest) -> None:
    if request.max_pages < 1 or request.max_pages_per_client < 1:
        raise UsageError("--max-pages and --max-pages-per-client must be 1 or more")
    if not 5 <= request.unconnected_timeout_s <= 86400:
        raise UsageError("--unconnected-timeout must be between 5 and 86400 seconds")


def read_token(given: str | None, environ) -> tuple[str, bool]:
    """The token and whether it was generated here; UsageError for a guessable one."""
    token = given if given is not None else environ.get(TOKEN_VARIABLE, "")
    token = token.strip()
    if token == AUTO_TOKEN:
        return secrets.token_urlsafe(24), True
    if token and (len(token) < MIN_TOKEN_CHARS or not token.isprintable() or " " in token):
        raise UsageError(f"the dashboard token must be at least {MIN_TOKEN_CHARS} printable "
                         f"characters without spaces (or --token {AUTO_TOKEN})")
    return token, False


def is_loopback(host: str) -> bool:
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def normalise_host(name: str) -> str:
    """A Host header's name part as tornado gives it: lower case, IPv6 in brackets."""
    name = name.strip().lower()
    try:
        if ipaddress.ip_address(name.strip("[]")).version == 6:
            return f"[{name.strip('[]')}]"
    except ValueError:
        pass
    return name


def add_guard_arguments(parser) -> None:
    """The `nbsteps dashboard` options that fill a GuardRequest."""
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a host name the page may be reached by, besides localhost and "
                        f"--host (repeat it; env {ALLOW_HOSTS_VARIABLE}, comma-separated)")
    parser.add_argument("--token", metavar="TOKEN",
                        help=f"secret asked of every visitor (env {TOKEN_VARIABLE}); "
                        f"`{AUTO_TOKEN}` makes one and prints it; required beyond loopback")
    parser.add_argument("--max-pages", type=int, default=MAX_PAGES, metavar="N",
                        help=f"open pages (page kernels) at once, in all (default {MAX_PAGES})")
    parser.add_argument("--max-pages-per-client", type=int, default=MAX_PAGES_PER_CLIENT,
                        metavar="N", help="open pages at once per client address "
                        f"(default {MAX_PAGES_PER_CLIENT})")
    parser.add_argument("--unconnected-timeout", type=float, default=UNCONNECTED_TIMEOUT_S,
                        metavar="S", help="shut a page's kernel down after S seconds without "
                        f"its browser (default {UNCONNECTED_TIMEOUT_S:.0f})")


def read_guard_request(args) -> GuardRequest:
    return GuardRequest(host=args.host, allow_hosts=args.allow_host, token=args.token,
                        max_pages=args.max_pages, max_pages_per_client=args.max_pages_per_client,
                        unconnected_timeout_s=args.unconnected_timeout)
