"""Voila with the guard in front: the hook `nbsteps dashboard` calls to start the server."""

import sys

from tornado.routing import Rule
from traitlets import Any
from voila.app import Voila

from nbsteps.guard.access import GuardHandler, RefusedRequest
from nbsteps.guard.frames import MAX_MESSAGE_BYTES, GuardedKernelConnection
from nbsteps.guard.kernels import LimitedKernelManager
from nbsteps.guard.options import GuardOptions


class GuardedVoila(Voila):
    """Voila whose first routing rule refuses unknown hosts and visitors without the token."""

    guard = Any(None, config=True, help="the GuardOptions the server enforces")

    def init_handlers(self) -> list:
        # Voila adds its handlers after this returns, each rule before the catch-all one;
        # inserted first, this rule sees every request before any of them.
        self.app.default_router.rules.insert(0, Rule(RefusedRequest(self.guard), GuardHandler))
        return super().init_handlers()


def configure_guard(config, options: GuardOptions) -> None:
    """Add the guard's settings to Voila's traitlets Config."""
    config.GuardedVoila.guard = options
    config.Voila.kernel_websocket_connection_class = GuardedKernelConnection
    settings = dict(config.Voila.get("tornado_settings", {}))
    settings["websocket_max_message_size"] = MAX_MESSAGE_BYTES
    config.Voila.tornado_settings = settings
    config.VoilaConfiguration.multi_kernel_manager_class = LimitedKernelManager
    config.LimitedKernelManager.max_pages = options.max_pages
    config.LimitedKernelManager.max_pages_per_client = options.max_pages_per_client
    config.LimitedKernelManager.unconnected_timeout = options.unconnected_timeout_s


def announce_token(options: GuardOptions, host: str, port: int) -> None:
    """Tell whoever starts the server how visitors get in."""
    if not options.token:
        return
    shown = options.token if options.token_generated else "<your token>"
    name = "localhost" if host in ("0.0.0.0", "::", "") else host
    print(f"nbsteps dashboard: every visitor needs the token; open "
          f"http://{name}:{port}/?token={shown}", file=sys.stderr, flush=True)

