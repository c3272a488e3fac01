"""Loopback HTTP and FTP servers for download tests, with faults injected on request.

:class:`FileServer` serves a folder tree (laid out like GEO's: ``geo/series/...``,
``geo/samples/...``, ``geo/platforms/...``, and the ``/geo/download/?acc=..&file=..`` CGI mapped
to ``geo/download/<acc>/<file>``) from 127.0.0.1 on an ephemeral port, honours ``Range``, and
records every request. ``fail(path, *faults)`` makes the next requests for ``path`` misbehave,
one fault per request:

- ``"500"``: answer 500 Internal Server Error
- ``"truncate"``: promise the full Content-Length, send half the body, close
- ``"stall"``: wait ``stall_s`` seconds before answering (longer than the client's timeout)
- ``"html"``: answer 200 with an HTML error page
- ``"ignore_range"``: answer 200 with the whole file although a Range was asked

:class:`FtpServer` is a minimal passive-mode FTP server (USER, PASS, TYPE, SIZE, PASV, REST,
RETR) over the same tree, with the ``"truncate"`` fault.
"""

from __future__ import annotations

import re
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Error</title></head>"
    b"<body><h1>Sorry, the file is temporarily unavailable</h1></body></html>\n"
)


@dataclass
class Request:
    """One request as the server saw it."""

    path: str
    range: str | None
    status: int


@dataclass
class _Faults:
    """Faults queued per path, consumed one per request, and the request log (thread-safe)."""

    queued: dict[str, list[str]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_for(self, path: str) -> str | None:
        with self.lock:
            queue = self.queued.get(path) or []
            return queue.pop(0) if queue else None

    def log(self, path: str, range_header: str | None, status: int) -> None:
        with self.lock:
            self.requests.append(Request(path, range_header, status))


class _Tree:
    """Shared by both servers: the served folder and its faults."""

    def __init__(self, root: Path):
        self.root = root
        self.faults = _Faults()
        self.stall_s = 2.0

    def add_file(self, relpath: str, data: bytes) -> Path:
        """Place ``data`` at ``relpath`` under the served root."""
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def fail(self, relpath: str, *faults: str) -> None:
        """Make the next ``len(faults)`` requests for ``relpath`` misbehave, in order."""
        with self.faults.lock:
            self.faults.queued.setdefault(relpath, []).extend(faults)

    def requests_for(self, relpath: str) -> list[Request]:
        with self.faults.lock:
            return [request for request in self.faults.requests if request.path == relpath]


class FileServer(_Tree):
    """Threaded HTTP server on 127.0.0.1; use as a context manager."""

    def __enter__(self) -> FileServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _HttpHandler)
        self._httpd.daemon_threads = True
        self._httpd.tree = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"


class _HttpHandler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        """Quiet: the tests read ``requests_for`` instead."""

    def do_GET(self) -> None:
        tree: _Tree = self.server.tree
        self.relpath = self._relpath()
        fault = tree.faults.next_for(self.relpath)
        try:
            self._answer(tree, self.relpath, fault, self.headers.get("Range"))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send_response(self, code: int, message: str | None = None) -> None:
        """Log the request before answering, so a client never sees an answer not yet logged."""
        self.server.tree.faults.log(self.relpath, self.headers.get("Range"), code)
        super().send_response(code, message)

    def _relpath(self) -> str:
        parts = urlsplit(self.path)
        if parts.path == "/geo/download/":
            query = parse_qs(parts.query)
            return f"geo/download/{query['acc'][0]}/{query['file'][0]}"
        return unquote(parts.path).lstrip("/")

    def _answer(self, tree: _Tree, relpath: str, fault: str | None, range_header) -> None:
        if fault == "stall":
            time.sleep(tree.stall_s)
        if fault == "500":
            return self._send(500, b"", "text/plain")
        if fault == "html":
            return self._send(200, HTML_ERROR_PAGE, "text/html")
        path = tree.root / relpath
        if not path.is_file():
            return self._send(404, b"not found", "text/plain")
        data = path.read_bytes()
        if fault == "truncate":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if match and fault != "ignore_range":
            start = int(match.group(1))
            if start >= len(data):
                return self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{len(data)}"})
            content_range = f"bytes {start}-{len(data) - 1}/{len(data)}"
            return self._send(206, data[start:], None, {"Content-Range": content_range})
        return self._send(200, data, None)

    def _send(self, status: int, body: bytes, content_type, headers=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class FtpServer(_Tree):
    """Minimal passive-mode FTP server on 127.0.0.1; use as a context manager."""

    def __enter__(self) -> FtpServer:
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _FtpHandler)
        self._server.daemon_threads = True
        self._server.tree = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"ftp://127.0.0.1:{self._server.server_address[1]}"


class _FtpHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.tree: _Tree = self.server.tree
        self.passive: socket.socket | None = None
        self.rest = 0
        self._reply("220 loopback test FTP")
        for raw in self.rfile:
            command, _, argument = raw.decode().strip().partition(" ")
            if not self._dispatch(command.upper(), argument):
                break
        if self.passive:
            self.passive.close()

    def _dispatch(self, command: str, argument: str) -> bool:
        replies = {"USER": "331 password please", "PASS": "230 logged in", "TYPE": "200 ok"}
        if command in replies:
            self._reply(replies[command])
        elif command == "SIZE":
            path = self.tree.root / argument.lstrip("/")
            self._reply(f"213 {path.stat().st_size}" if path.is_file() else "550 no such file")
        elif command == "PASV":
            self.passive = socket.create_server(("127.0.0.1", 0))
            port = self.passive.getsockname()[1]
            self._reply(f"227 Entering Passive Mode (127,0,0,1,{port // 256},{port % 256})")
        elif command == "REST":
            self.rest = int(argument)
            self._reply(f"350 restarting at {self.rest}")
        elif command == "RETR":
            self._retrieve(argument.lstrip("/"))
        elif command == "QUIT":
            self._reply("221 bye")
            return False
        else:
            self._reply("502 not implemented")
        return True

    def _retrieve(self, relpath: str) -> None:
        path = self.tree.root / relpath
        fault = self.tree.faults.next_for(relpath)
        self.tree.faults.log(relpath, f"REST {self.rest}" if self.rest else None, 0)
        if not path.is_file():
            self._reply("550 no such file")
            return
        data = path.read_bytes()[self.rest :]
        self.rest = 0
        self._reply("150 opening binary data connection")
        connection, _ = self.passive.accept()
        with connection:
            connection.sendall(data[: len(data) // 2] if fault == "truncate" else data)
        self.passive.close()
        self.passive = None
        self._reply("426 transfer aborted" if fault == "truncate" else "226 transfer complete")

    def _reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())
