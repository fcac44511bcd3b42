"""The kernel manager of every kernel nbsteps starts: its clients find the kernel ready in
milliseconds (prompt_kernels.py), it sees a killed kernel gone in 10 ms steps rather than
jupyter_client's 100 (every run waits for its kernel's end), and it closes its clients with
its kernel.

papermill (nbclient) stops the channels of the client it opens only when it created the
kernel manager itself; nbsteps always hands it one (started ahead, or by run_step), so that
client stayed open after the run. Its heartbeat then pinged the dead kernel's port once a
second for as long as the process lived; once a later kernel bound that port number for its
shell or control socket, every ping arrived there as a malformed message and that kernel
printed "ERROR:tornado.general ... DELIM not in msg_list" on the terminal, once a second.
"""

import logging

from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from traitlets import DottedObjectName, Type

from nbsteps.prompt_kernels import PromptKernelClient

log = logging.getLogger("nbsteps")
END_POLL_S = 0.01  # a killed kernel ends within milliseconds


class ClosingKernelManager(AsyncKernelManager):
    """An AsyncKernelManager handing out PromptKernelClients, which stops the channels of
    every client it handed out (`client()`) before its kernel is shut down for good (not
    for a restart)."""

    client_class = DottedObjectName("nbsteps.prompt_kernels.PromptKernelClient", config=True)
    client_factory = Type(PromptKernelClient, klass=AsyncKernelClient, config=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.clients_handed_out: list = []

    def client(self, **kwargs):
        client = super().client(**kwargs)
        self.clients_handed_out.append(client)
        return client

    async def _async_wait(self, pollinterval: float = END_POLL_S) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, END_POLL_S))

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        if not restart:
            self.stop_clients()
        await super().shutdown_kernel(now=now, restart=restart)

    def stop_clients(self) -> None:
        """Stop the channels of the clients handed out so far (their sockets and the
        heartbeat thread); a client already stopped is left as it is."""
        clients, self.clients_handed_out = self.clients_handed_out, []
        for client in clients:
            try:
                client.stop_channels()
            except Exception as error:  # the kernel is shut down all the same
                log.debug("could not stop a kernel client's channels: %s", error)
