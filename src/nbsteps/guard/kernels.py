"""A bounded number of page kernels, and none kept for a browser that is not there.

Every page load starts a kernel that runs the dashboard notebook (and, once its browser
connects, a warm kernel beside it): about 450 MB together. A script fetching the page in
a loop would start them until the machine runs out of memory. So: at most `max_pages` page
kernels at once, `max_pages_per_client` per client address; beyond that the page answers
503 saying the server is busy. And a page kernel with no browser connected to it (never
connected: a script or a crawler; or gone without saying goodbye) is shut down after
`unconnected_timeout` seconds, instead of jupyter_server's idle culler, which keeps a
kernel alive as long as anything happens in it.

Page kernels, and the warm and run kernels they start (kernels.start_kernel passes it on),
run at a lower priority than the server: eight runs computing on two cores must not keep the
server from answering everyone else.
"""

import asyncio
import time
from collections import Counter

from jupyter_server.base.call_context import CallContext
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from tornado.ioloop import PeriodicCallback
from traitlets import Float, Int

from nbsteps import priority
from nbsteps.guard.options import MAX_PAGES, MAX_PAGES_PER_CLIENT, UNCONNECTED_TIMEOUT_S

CHECK_INTERVAL_MS = 5000
KERNEL_NICENESS = 10
BUSY = ("The dashboard is busy: it already has as many open pages as it allows. Close "
        "other tabs of it, or try again in a minute.")


class LimitedKernelManager(AsyncMappingKernelManager):
    max_pages = Int(MAX_PAGES, config=True, help="Page kernels at once, in all.")
    max_pages_per_client = Int(MAX_PAGES_PER_CLIENT, config=True,
                               help="Page kernels at once for one client address.")
    unconnected_timeout = Float(UNCONNECTED_TIMEOUT_S, config=True,
                                help="Seconds a page kernel may go without a browser.")
    kernel_niceness = Int(KERNEL_NICENESS, config=True,
                          help="Added to page kernels' niceness: the server comes first.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._clients: dict[str, str] = {}  # kernel id -> the client address it serves
        self._starting: Counter[str] = Counter()  # starts under way, per client address
        self._unconnected_since: dict[str, float] = {}
        self._culling: set[str] = set()
        self._watch: PeriodicCallback | None = None

    async def start_kernel(self, *args, **kwargs) -> str:
        client = current_client()
        self.refuse_when_full(client)
        self._starting[client] += 1  # counted at once: concurrent loads cannot overshoot
        try:
            kernel_id = await super().start_kernel(*args, **kwargs)
        finally:
            self._starting[client] -= 1
        self._clients[kernel_id] = client
        self._unconnected_since[kernel_id] = time.monotonic()
        lower_kernel_priority(self.get_kernel(kernel_id), self.kernel_niceness)
        self.watch_connections()
        return kernel_id

    def refuse_when_full(self, client: str) -> None:
        live = set(self.list_kernel_ids())
        self._clients = {k: c for k, c in self._clients.items() if k in live}
        mine = sum(1 for c in self._clients.values() if c == client) + self._starting[client]
        total = len(live) + sum(self._starting.values())
        if total >= self.max_pages or mine >= self.max_pages_per_client:
            self.log.warning("refused a page for %s: %d page kernels (%d for this client)",
                             client, total, mine)
            # The reason is what Voila's error page shows, under "503".
            raise web.HTTPError(503, BUSY, reason=BUSY)

    def notify_connect(self, kernel_id: str) -> None:
        super().notify_connect(kernel_id)
        self._unconnected_since.pop(kernel_id, None)

    def notify_disconnect(self, kernel_id: str) -> None:
        super().notify_disconnect(kernel_id)
        if self._kernel_connections.get(kernel_id, 0) <= 0:
            self._unconnected_since[kernel_id] = time.monotonic()

    def watch_connections(self) -> None:
        if self._watch is None:
            self._watch = PeriodicCallback(self.cull_unconnected, CHECK_INTERVAL_MS)
            self._watch.start()

    def cull_unconnected(self) -> None:
        now = time.monotonic()
        for kernel_id, since in list(self._unconnected_since.items()):
            if kernel_id not in self:
                self._unconnected_since.pop(kernel_id, None)
            elif now - since > self.unconnected_timeout and kernel_id not in self._culling:
                self._culling.add(kernel_id)
                asyncio.ensure_future(self.cull(kernel_id, now - since))

    async def cull(self, kernel_id: str, unconnected_s: float) -> None:
        self.log.warning("shutting down page kernel %s: no browser connected for %.0f s",
                         kernel_id, unconnected_s)
        try:
            await self.shutdown_kernel(kernel_id)
        except Exception as error:  # gone meanwhile (the page's own shutdown request)
            self.log.debug("culling %s: %s", kernel_id, error)
        finally:
            self._culling.discard(kernel_id)
            self._unconnected_since.pop(kernel_id, None)


def lower_kernel_priority(kernel, niceness: int) -> None:
    """The page kernel, and the session it leads (priority.py says why both), `niceness`
    below the server."""
    pid = getattr(getattr(kernel, "provisioner", None), "pid", None)
    if pid is not None and niceness > 0:
        priority.lower_priority(pid, priority.own_niceness() + niceness)


def current_client() -> str:
    """The address of the client whose request starts this kernel (the page handler)."""
    handler = CallContext.get(CallContext.JUPYTER_HANDLER)
    request = getattr(handler, "request", None)
    return getattr(request, "remote_ip", None) or "unknown"
