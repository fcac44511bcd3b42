"""A real HTTP server on loopback that serves a corpus, and misbehaves on request.

Routes (GET, and HEAD for files, counted in `checks`): any file under `root` by its name,
with an ETag and a Last-Modified (and 304 to a request whose If-None-Match still fits)
unless `validators` is False; `/missing` answers 404; `/page.html` answers an HTML page
with status 200; `/stall` sends headers and a few bytes, then nothing; `/trickle` sends a
byte every 0.1 s; `/slow-headers` sends its status line and headers one byte every 0.2 s.

Also runs as a script, to serve a folder on a compose network (the ingest image has the
python3 it needs; see tests/containers/compose.parts.yml):

    python3 corpus_server.py FOLDER [--host 0.0.0.0] [--port 8000] [--delay SECONDS]
"""

import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HTML_PAGE = b"<!DOCTYPE html><html><body><h1>Rate limited</h1></body></html>"


class CorpusServer:
    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0, quiet: bool = True):
        self.root = root
        self.quiet = quiet  # else one line per request on stderr, as http.server writes it
        self.stop_stalling = threading.Event()
        self.delay_s = 0.0  # added before each file is served: a slow, far-away source
        self.validators = True  # ETag and Last-Modified on files, and 304 when unchanged
        self.requests: list[str] = []  # paths asked for, in order
        self.checks: list[str] = []  # paths asked about with HEAD (is it still the same?)
        self.server = ThreadingHTTPServer((host, port), self.make_handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_stalling.set()
        self.server.shutdown()
        self.server.server_close()

    def make_handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # noqa: A002 (http.server's name)
                if not server.quiet:
                    super().log_message(format, *args)

            def do_GET(self):
                name = self.path.lstrip("/")
                server.requests.append(name)
                if not server.quiet:  # at once: http.server's own line waits for the answer
                    sys.stderr.write(f"asked for {self.path}\n")
                if name == "page.html":
                    self.answer(HTTPStatus.OK, HTML_PAGE, "text/html")
                elif name == "stall":
                    self.send_response(HTTPStatus.OK)
                    self.send_header("Content-Length", "1000000")
                    self.end_headers()
                    self.wfile.write(b'{"posts": [')
                    self.wfile.flush()
                    server.stop_stalling.wait(60)
                elif name == "trickle":
                    self.send_response(HTTPStatus.OK)
                    self.send_header("Content-Length", "1000000")
                    self.end_headers()
                    while not server.stop_stalling.wait(0.1):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                elif name == "slow-headers":
                    head = b"HTTP/1.1 200 OK\r\n" + b"X-Padding: a\r\n" * 10_000
                    for byte in head:
                        if server.stop_stalling.wait(0.2):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                elif (server.root / name).is_file():
                    server.stop_stalling.wait(server.delay_s)
                    self.answer_file(server.root / name)
                else:
                    self.answer(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

            def do_HEAD(self):
                name = self.path.lstrip("/")
                server.checks.append(name)
                if (server.root / name).is_file():
                    self.answer_file(server.root / name, head=True)
                else:
                    self.answer(HTTPStatus.NOT_FOUND, b"", "text/plain")

            def answer_file(self, path: Path, head: bool = False):
                body = path.read_bytes()
                if not server.validators:
                    self.answer(HTTPStatus.OK, body, "application/json", head=head)
                    return
                import email.utils
                import hashlib

                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                modified = email.utils.formatdate(path.stat().st_mtime, usegmt=True)
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(HTTPStatus.NOT_MODIFIED)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.answer(HTTPStatus.OK, body, "application/json",
                            {"ETag": etag, "Last-Modified": modified}, head=head)

            def answer(self, status, body: bytes, kind: str, headers: dict | None = None,
                       head: bool = False):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for header, value in (headers or {}).items():
                    self.send_header(header, value)
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        return Handler


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Serve the files of a folder over HTTP.")
    parser.add_argument("root", type=Path)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--delay", type=float, default=0.0,
                        help="seconds to wait before serving each file (a far-away source)")
    args = parser.parse_args()
    server = CorpusServer(args.root, args.host, args.port, quiet=False)
    server.delay_s = args.delay
    server.server.serve_forever()


if __name__ == "__main__":
    main()
