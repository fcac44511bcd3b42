"""A kernel client that finds a started kernel ready in milliseconds, not tenths of a second.

papermill's client asks every kernel it is given whether it is ready, with jupyter_client's
wait_for_ready: after the kernel_info reply it waits up to 0.2 s for a message on IOPub
(the subscription is often still connecting, so the first one is missed and the wait is
spent in full before asking again), then for 0.2 s of IOPub silence. That is 0.2 to 0.4 s
of every run, more than many cells take. The checks here are the same (a kernel_info
reply, then proof that IOPub is connected, then what arrived on it dropped), with short
waits.

A client usually connects before a kernel that is still starting has bound its ports: ZMQ
then tries again only after its reconnect interval, 100 ms by default. On loopback a
refused connection costs nothing, so this client tries every 5 ms.
"""

import time
from queue import Empty

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient

REPLY_WAIT_S = 1.0  # a kernel still starting answers when it can; a reply is never lost
IOPUB_WAIT_S = 0.02  # loopback: a connected subscription gets the status in a few ms
RECONNECT_MS = 5


class PromptKernelClient(AsyncKernelClient):
    def _context_default(self) -> zmq.asyncio.Context:
        context = super()._context_default()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)  # for the sockets it makes
        return context

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            if await self.kernel_info_answered():
                try:  # the request's busy/idle status shows IOPub is connected
                    await self.iopub_channel.get_msg(timeout=IOPUB_WAIT_S)
                    break
                except Empty:
                    pass  # not subscribed yet: ask again
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        await self.drain_iopub()

    _async_wait_for_ready = wait_for_ready  # AsyncKernelClient binds both names

    async def kernel_info_answered(self) -> bool:
        """A kernel_info reply came (to this request or an earlier one: either shows the
        shell answers)."""
        try:
            reply = await self.shell_channel.get_msg(timeout=REPLY_WAIT_S)
        except Empty:
            return False
        if reply["msg_type"] != "kernel_info_reply":
            return False
        self._handle_kernel_info_reply(reply)
        return True

    async def drain_iopub(self) -> None:
        """Drop what the kernel_info requests published and has arrived. A status still on
        its way does no harm: a run's client reads only the messages of its own requests."""
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                return
