"""A loopback stand-in for the Hugging Face Hub and a Google Drive mirror, for the download tests.

``FakeHost`` is an HTTP server on 127.0.0.1 (a free port) that answers what ``huggingface_hub``
asks of the Hub for a public file: ``HEAD``/``GET`` on
``/datasets/<repo>/resolve/<rev>/<path>`` (dataset repositories) and ``/<repo>/resolve/<rev>/<path>``
(model repositories), with the ``X-Repo-Commit`` header, the sha256 as ``ETag`` (as the Hub does
for LFS files), ``Range`` requests (206) and ``X-Error-Code: EntryNotFound`` on a 404. Files under
``/drive/<id>`` stand in for a public Drive file (gdown fetches any URL). Faults are injected per
path: ``cut[path] = n`` sends the full ``Content-Length`` but closes after ``n`` bytes, once, and
``fail[path] = k`` answers the next ``k`` GETs with 503. Every request is logged as
(method, path, Range header).
"""

from __future__ import annotations

import hashlib
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHost:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.fail: dict[str, int] = {}
        self.log: list[tuple[str, str, str | None]] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                host._serve(self, body=False)

            def do_GET(self):
                host._serve(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add_dataset_file(self, repo: str, path: str, data: bytes) -> str:
        key = f"/datasets/{repo}/resolve/main/{path}"
        self.files[key] = data
        return key

    def add_model_file(self, repo: str, path: str, data: bytes) -> str:
        key = f"/{repo}/resolve/main/{path}"
        self.files[key] = data
        return key

    def add_drive_file(self, file_id: str, data: bytes) -> str:
        key = f"/drive/{file_id}"
        self.files[key] = data
        return key

    def gets(self, key: str) -> list[str | None]:
        """The Range headers of every GET of ``key`` so far (None: a whole-file GET)."""
        return [r for m, p, r in self.log if m == "GET" and p == key]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _serve(self, handler, body: bool) -> None:
        path = urllib.parse.unquote(handler.path.split("?")[0])
        rng = handler.headers.get("Range")
        self.log.append((handler.command, path, rng))
        data = self.files.get(path)
        if data is None:
            handler.send_response(404)
            handler.send_header("X-Error-Code", "EntryNotFound")
            handler.send_header("X-Error-Message", "Entry not found")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if body and self.fail.get(path, 0) > 0 and path not in self.cut:
            self.fail[path] -= 1
            handler.send_response(503)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        start = 0
        match = re.match(r"bytes=(\d+)-", rng or "")
        if match and body:
            start = int(match.group(1))
        handler.send_response(206 if start else 200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Accept-Ranges", "bytes")
        handler.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        handler.send_header("X-Repo-Commit", COMMIT)
        handler.send_header("Content-Length", str(len(data) - start))
        if start:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        if not body:
            handler.end_headers()
            return
        cut = self.cut.pop(path, None)
        if cut is not None:  # the full length announced, part of it sent, the connection closed
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(data[start:cut])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.end_headers()
        handler.wfile.write(data[start:])
