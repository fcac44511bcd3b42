"""Kernel websockets speak the v1 protocol, and a frame that is not v1 closes the socket.

jupyter_server reads a v1 frame's first 8 bytes as the number of offsets that follow and
builds that list before looking at anything else; Voila 0.5.13 reads every binary frame it
sends that way, whatever the protocol. A client without the v1 subprotocol (the older
format), or one sending random bytes, hands them a count near 2**63: the server's only
thread loops, allocating, and stops answering everyone. So the socket is refused unless
the client asks for v1, and each frame's offsets are checked before anything parses it.
"""

import re

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

V1 = "v1.kernel.websocket.jupyter.org"
# A v1 message: the channel name, then header, parent header, metadata, content, and the
# binary buffers. No page sends more than a few buffers.
MIN_OFFSETS = 6
MAX_OFFSETS = 6 + 64
CHANNELS = ("shell", "control", "iopub", "stdin")
# Tornado closes a socket whose frame announces more than this, before reading it. The
# page sends widget changes and clicks, never files.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
KERNEL_CHANNELS = re.compile(r"/api/kernels/[^/]+/channels/?$")
INVALID_PAYLOAD = 1007  # the websocket close code for data that does not parse


def check_v1_frame(frame: bytes | str) -> str | None:
    """Why `frame` is not a v1 kernel message that parses in bounded time; None if it is."""
    if not isinstance(frame, bytes):
        return "a text frame (v1 sends binary frames only)"
    if len(frame) < 8 * (MIN_OFFSETS + 1):
        return f"{len(frame)} bytes, too short for a message"
    count = int.from_bytes(frame[:8], "little")
    if not MIN_OFFSETS <= count <= MAX_OFFSETS:
        return f"it announces {count} parts"
    offsets = [int.from_bytes(frame[8 * i : 8 * (i + 1)], "little") for i in range(1, count + 1)]
    if offsets[0] != 8 * (count + 1):
        return "its first part does not start after the offsets"
    if any(later < earlier for earlier, later in zip(offsets, offsets[1:], strict=False)):
        return "its offsets go backwards"
    if offsets[-1] > len(frame):
        return "its offsets point past its end"
    try:
        channel = frame[offsets[0] : offsets[1]].decode("ascii")
    except UnicodeDecodeError:
        return "its channel name is not text"
    if channel not in CHANNELS:
        return "it names no kernel channel"
    return None


def refuse_legacy_websocket(request) -> str | None:
    """Why a request to open a kernel websocket must be refused (before the upgrade, with
    a plain 400), or None: it must offer the v1 subprotocol; the legacy one is not spoken."""
    if not KERNEL_CHANNELS.search(request.path):
        return None
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    if V1 in (name.strip() for name in header.split(",")):
        return None
    return f"A kernel websocket needs the {V1} subprotocol.\n"


class GuardedKernelConnection(ZMQChannelsWebsocketConnection):
    """jupyter_server's kernel websocket, closing on a frame it could not parse safely."""

    def handle_incoming_message(self, incoming_msg) -> None:
        problem = check_v1_frame(incoming_msg)
        if problem is None:
            try:
                super().handle_incoming_message(incoming_msg)
                return
            except (ValueError, TypeError, KeyError, IndexError, AssertionError) as error:
                problem = f"its header does not parse ({type(error).__name__})"
        handler = self.websocket_handler
        self.log.warning("closing a kernel websocket from %s: unparsable message: %s",
                         handler.request.remote_ip, problem)
        handler.close(INVALID_PAYLOAD, "unparsable kernel message")
