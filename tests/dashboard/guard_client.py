"""A plain HTTP client for the guard's tests: any Host header, any headers, timed answers."""

import http.client
import re
import time
from dataclasses import dataclass
from pathlib import Path

KERNEL_ID = re.compile(r'"kernelId": "([0-9a-f-]+)"')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float  # from sending the request to the status line and headers


def get(port: int, path: str = "/", host: str | None = None, headers: dict | None = None,
        read_body: bool = True, timeout: float = 60, client: str = "127.0.0.1") -> Answer:
    """GET `path` from 127.0.0.1:`port`, sending `Host: host` (default 127.0.0.1:port),
    from the loopback address `client` (any 127.x.y.z: another client to the server)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                            source_address=(client, 0))
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host or f"127.0.0.1:{port}")
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        started = time.monotonic()
        connection.endheaders()
        response = connection.getresponse()
        seconds = time.monotonic() - started
        body = response.read() if read_body else b""
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                      body, seconds)
    finally:
        connection.close()


def kernel_id(page: bytes) -> str:
    found = KERNEL_ID.search(page.decode("utf-8", "replace"))
    assert found, "the page names no kernel"
    return found.group(1)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")
