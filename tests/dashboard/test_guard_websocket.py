"""A kernel websocket client sending what the server cannot parse is shut out, and the
server keeps serving everyone else: a real server, a real websocket client, real frames.

Before the guard, one frame announcing 2**62 parts (or any frame of the older format, or
random bytes) froze the server: its only thread looped, allocating ~100 MB/s."""

import json
import random
import struct
import threading
import time
import uuid

import pytest
from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.conftest import REPO, Workspace
from tests.dashboard.conftest import DashboardServer
from tests.dashboard.guard_client import get, kernel_id, rss_mb

V1 = "v1.kernel.websocket.jupyter.org"
ANSWER_S = 1.0  # what "still answers" means for another client's GET /
CLOSE_S = 10.0
MEMORY_GROWTH_MB = 60  # the frozen server grew by about 100 MB every second


def v1_frame(channel: str, parts: list[bytes]) -> bytes:
    return serialize_msg_to_ws_v1(parts, channel)


def json_parts(msg_type: str) -> list[bytes]:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "test",
              "session": uuid.uuid4().hex, "date": "2026-01-01T00:00:00Z", "version": "5.3"}
    return [json.dumps(part).encode() for part in (header, {}, {}, {})]


def malformed_frames() -> dict[str, bytes | str]:
    noise = random.Random(12).randbytes(4096)
    legacy = struct.pack("!II", 1, 8) + json.dumps({"channel": "shell"}).encode()
    past_end = bytearray(v1_frame("shell", json_parts("kernel_info_request")))
    past_end[8 * 6 : 8 * 7] = (10**9).to_bytes(8, "little")  # the last offset
    return {
        "absurd offset count": (2**62).to_bytes(8, "little") + bytes(64),
        "random bytes": noise,
        "old binary format": legacy,
        "offsets past the end": bytes(past_end),
        "header that is not JSON": v1_frame("shell", [b"not json", b"{}", b"{}", b"{}"]),
        "unknown channel": v1_frame("nowhere", json_parts("kernel_info_request")),
        "text frame": json.dumps({"channel": "shell", "header": {}}),
        "huge text frame": "x" * (8 * 1024 * 1024),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("guard-ws")
    # Room for the attacked page and a page or two for the other client; the rest of
    # the other client's loads are refused as busy, which is an answer too.
    server = DashboardServer(Workspace(root=REPO, base=base), base / "dashboard.log",
                             args=("--max-pages", "3", "--unconnected-timeout", "60"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def attacked_kernel(server) -> str:
    page = get(server.port, "/")
    assert page.status == 200, page.body[:300]
    return kernel_id(page.body)


class OtherClient:
    """Another visitor loading GET / every half second, timing each answer's headers."""

    def __init__(self, port: int):
        self.port = port
        self.answers: list[tuple[int, float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.load, daemon=True)
        self.thread.start()

    def load(self) -> None:
        while not self.stop.is_set():
            try:
                answer = get(self.port, "/", read_body=False, timeout=30)
                self.answers.append((answer.status, answer.seconds))
            except OSError as error:
                self.answers.append((0, float("inf")))
                print("no answer:", error)
            self.stop.wait(0.5)

    def finish(self) -> list[tuple[int, float]]:
        self.stop.set()
        self.thread.join(60)
        return self.answers


def channels_url(server, kernel: str) -> str:
    return f"ws://127.0.0.1:{server.port}/api/kernels/{kernel}/channels?session_id={uuid.uuid4()}"


def test_a_websocket_without_the_v1_subprotocol_is_refused(server, attacked_kernel):
    with pytest.raises(InvalidStatus) as refused:
        connect(channels_url(server, attacked_kernel), open_timeout=10).close()
    assert refused.value.response.status_code == 400
    assert V1.encode() in refused.value.response.body


def test_malformed_frames_close_the_socket_and_the_server_serves_others(server,
                                                                        attacked_kernel):
    before = rss_mb(server.process.pid)
    other = OtherClient(server.port)
    closed = {}
    try:
        for name, frame in malformed_frames().items():
            with connect(channels_url(server, attacked_kernel), subprotocols=[V1],
                         open_timeout=10, max_size=None) as socket:
                deadline = time.monotonic() + CLOSE_S
                with pytest.raises(ConnectionClosed) as ended:
                    socket.send(frame)  # a huge frame: closed while it is being sent
                    while time.monotonic() < deadline:
                        socket.recv(timeout=deadline - time.monotonic())
                closed[name] = ended.value.rcvd.code if ended.value.rcvd else None
            time.sleep(0.5)
    finally:
        answers = other.finish()
    after = rss_mb(server.process.pid)
    print(f"GET / answers (status, s): {answers}; server RSS {before:.0f} -> {after:.0f} MB")
    # Closed by the server, saying why: unparsable (1007) or too big (1009).
    assert closed == {name: 1009 if name == "huge text frame" else 1007
                      for name in malformed_frames()}, closed
    assert answers and all(status in (200, 503) for status, _ in answers), answers
    assert 200 in {status for status, _ in answers}, answers  # pages, not only "busy"
    slow = [(status, seconds) for status, seconds in answers if seconds > ANSWER_S]
    assert not slow, f"GET / answered in more than {ANSWER_S} s: {slow} of {answers}"
    assert after - before < MEMORY_GROWTH_MB, (before, after)


def test_a_well_formed_message_still_gets_its_reply(server, attacked_kernel):
    parts = json_parts("kernel_info_request")
    with connect(channels_url(server, attacked_kernel), subprotocols=[V1],
                 open_timeout=10) as socket:
        socket.send(v1_frame("shell", parts))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            frame = socket.recv(timeout=deadline - time.monotonic())
            channel, reply = deserialize_msg_from_ws_v1(frame)
            if channel == "shell" and json.loads(reply[1]) == json.loads(parts[0]):
                assert json.loads(reply[0])["msg_type"] == "kernel_info_reply"
                return
    pytest.fail("no kernel_info_reply")
