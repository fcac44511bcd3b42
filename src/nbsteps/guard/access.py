"""Every HTTP request and websocket must name an allowed host, and carry the token if any;
a kernel websocket must ask for the v1 protocol (frames.py).

One routing rule ahead of all of Voila's handlers (its pages, kernels, websockets, files
and static assets alike) refuses the rest with a short plain-text 403, before any of them
runs. The Host check defeats DNS rebinding: a page at http://evil.example:8866 whose name
an attacker points at 127.0.0.1 sends `Host: evil.example:8866`, never an allowed name.

The token: `?token=` on the first visit (then a cookie, and a redirect that drops it from
the address bar), or `Authorization: token <token>` for scripts. The cookie holds an HMAC
of the token, not the token itself.
"""

import hashlib
import hmac
import ipaddress
from urllib.parse import urlencode

from tornado import httputil, web
from tornado.routing import Matcher

from nbsteps.guard.frames import refuse_legacy_websocket
from nbsteps.guard.options import GuardOptions

UNKNOWN_HOST = ("This server does not answer to that host name. If it should, start it "
                "with --allow-host NAME.\n")
NEED_TOKEN = ("This dashboard needs its token: open the address printed when the server "
              "started (it ends in ?token=...), or ask whoever runs it.\n")
COOKIE_DAYS = 7


class RefusedRequest(Matcher):
    """Matches the requests to refuse (so the rule's handler answers them); None otherwise."""

    def __init__(self, options: GuardOptions):
        self.options = options

    def match(self, request: httputil.HTTPServerRequest) -> dict | None:
        if not host_allowed(request.host_name, self.options):
            return {"target_kwargs": {"message": UNKNOWN_HOST}}
        if self.options.token:
            given = request.query_arguments.get("token", [b""])[-1].decode("utf-8", "replace")
            valid = bool(given) and hmac.compare_digest(given, self.options.token)
            websocket = request.headers.get("Upgrade", "").lower() == "websocket"
            if valid and not websocket:
                return {"target_kwargs": {"token": self.options.token}}  # set the cookie
            if not (valid or has_token(request, self.options.token)):
                return {"target_kwargs": {"message": NEED_TOKEN}}
        legacy = refuse_legacy_websocket(request)
        if legacy:
            return {"target_kwargs": {"message": legacy, "status": 400}}
        return None


class GuardHandler(web.RequestHandler):
    """Answers what RefusedRequest matched: a refusal, or the cookie for a valid `?token=`."""

    def initialize(self, message: str = "", token: str = "", status: int = 403) -> None:
        self.message = message
        self.token = token
        self.status = status

    def prepare(self) -> None:
        if self.token:
            self.set_cookie(cookie_name(self.request), cookie_value(self.token),
                            httponly=True, samesite="Lax", expires_days=COOKIE_DAYS)
            self.redirect(without_token(self.request))
            return
        self.set_status(self.status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(self.message)


def host_allowed(name: str, options: GuardOptions) -> bool:
    """`name` is the Host header without its port, lower case (tornado's host_name)."""
    if name in options.allowed_hosts:
        return True
    if not options.accept_ip_hosts:
        return False
    # Rebinding needs a name the attacker controls; an address literal cannot be rebound.
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def has_token(request: httputil.HTTPServerRequest, token: str) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() in ("token", "bearer") and hmac.compare_digest(value.strip(), token):
        return True
    cookie = request.cookies.get(cookie_name(request))
    return cookie is not None and hmac.compare_digest(cookie.value, cookie_value(token))


def cookie_name(request: httputil.HTTPServerRequest) -> str:
    """Per port: two dashboards on one machine keep their cookies apart."""
    _, port = httputil.split_host_and_port(request.host)
    return f"nbsteps-dashboard-{port or 80}"


def cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"nbsteps dashboard cookie", hashlib.sha256).hexdigest()


def without_token(request: httputil.HTTPServerRequest) -> str:
    kept = [(key, value.decode("utf-8", "replace"))
            for key, values in request.query_arguments.items() if key != "token"
            for value in values]
    path = "/" + request.path.lstrip("/")  # never `//host`: that leaves the site
    return path + (f"?{urlencode(kept)}" if kept else "")
