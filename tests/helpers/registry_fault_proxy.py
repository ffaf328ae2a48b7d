"""A loopback HTTP proxy in front of a real docker-registry that injects the faults the server
itself cannot be made to produce: 5xx answers, slow answers, dropped connections, altered bodies.

Every request is forwarded to the real registry unless a fault says otherwise; the proxy never
makes up the protocol. It also records every request it sees, so tests can count them.

    proxy = FaultProxy(server.url).start()
    proxy.add(Fault(method="GET", path="/manifests/sha256:", status=503, times=2))
    ... use proxy.url as the registry ...
    proxy.stop()
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"}


@dataclass
class Fault:
    method: str | None = None  # None: any method
    path: str = ""  # applies when the request path contains this text
    times: int | None = None  # None: every time; else this many times, then it is spent
    status: int | None = None  # answer this instead of forwarding (with `body`, if given)
    content_type: str = "application/json"  # with `status`
    retry_after: str | None = None  # with `status`: a Retry-After header
    message: str | None = None  # with `status`: the error message in the distribution-style body
    delay: float = 0.0  # seconds to wait before forwarding
    body: bytes | None = None  # forward, then answer with this body instead
    fix_digest: bool = True  # with `body`: make Docker-Content-Digest match the new body
    headers: dict[str, str] = field(default_factory=dict)  # set these answer headers (forwarded or not)
    drop: bool = False  # close the connection without answering
    drip: float = 0.0  # send the answer (status line, headers, body) one byte every this many seconds
    applied: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.applied >= self.times:
            return False
        return (self.method is None or self.method == method) and self.path in path


@dataclass
class FaultProxy:
    upstream: str  # http://127.0.0.1:PORT of the real registry
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of each request
    answers: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status) forwarded

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream)
        self._upstream_host, self._upstream_port = parts.hostname, parts.port
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.requests.clear()
            self.answers.clear()

    def count(self, method: str | None = None, path: str = "") -> int:
        with self._lock:
            return sum(1 for m, p in self.requests if (method is None or m == method) and path in p)

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            self.requests.append((method, path))
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.applied += 1
                    return fault
        return None

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one_request(self):
                try:
                    super().handle_one_request()
                except (ConnectionError, TimeoutError):
                    self.close_connection = True  # the client gave up (a timeout test): nothing to do

            def _handle(self):
                method, path = self.command, self.path
                length = int(self.headers.get("Content-Length") or 0)
                request_body = self.rfile.read(length) if length else None
                fault = proxy._fault_for(method, path)
                if fault and fault.drip:
                    real, self.wfile = self.wfile, io.BytesIO()
                    try:
                        self._answer(method, path, request_body, fault)
                        answer = self.wfile.getvalue()
                    finally:
                        self.wfile = real
                    for i in range(len(answer)):  # each byte is a successful read: no per-read timeout fires
                        real.write(answer[i:i + 1])
                        time.sleep(fault.drip)
                    return
                self._answer(method, path, request_body, fault)

            def _answer(self, method, path, request_body, fault):
                if fault and fault.drop:
                    self.close_connection = True
                    return
                if fault and fault.status is not None:
                    message = fault.message if fault.message is not None else f"injected {fault.status}"
                    body = fault.body if fault.body is not None else \
                        json.dumps({"errors": [{"code": "INJECTED", "message": message}]}).encode()
                    self.send_response(fault.status)
                    self.send_header("Content-Type", fault.content_type)
                    if fault.retry_after is not None:
                        self.send_header("Retry-After", fault.retry_after)
                    for k, v in fault.headers.items():  # a Location with a 3xx, say
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if method != "HEAD":
                        self.wfile.write(body)
                    return
                if fault and fault.delay:
                    time.sleep(fault.delay)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP and k.lower() != "host"}
                upstream = http.client.HTTPConnection(proxy._upstream_host, proxy._upstream_port, timeout=30)
                try:
                    upstream.request(method, path, body=request_body, headers=headers)
                    response = upstream.getresponse()
                    body = response.read()
                    out_headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
                    length_header = response.getheader("Content-Length")
                finally:
                    upstream.close()
                if fault and fault.body is not None:
                    body = fault.body
                    length_header = str(len(body))
                    if fault.fix_digest:
                        digest = "sha256:" + hashlib.sha256(body).hexdigest()
                        out_headers = [(k, digest if k.lower() == "docker-content-digest" else v) for k, v in out_headers]
                if fault and fault.headers:
                    replaced = {k.lower() for k in fault.headers}
                    out_headers = [(k, v) for k, v in out_headers if k.lower() not in replaced]
                    out_headers += list(fault.headers.items())
                with proxy._lock:
                    proxy.answers.append((method, path, response.status))
                self.send_response(response.status, response.reason)
                for k, v in out_headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", length_header if method == "HEAD" and length_header else str(len(body)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_DELETE = do_PUT = do_POST = do_PATCH = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
