"""A webhook receiver for black-box tests of basalt's webhook targets and callbacks.

Standard library only. A WebhookReceiver is a ThreadingHTTPServer on 127.0.0.1:0 that
records every POST it gets (headers, body, whether the signature verified) and answers
2xx, or fails on purpose:

    with WebhookReceiver(secret="s3cret") as hook:
        hook.fail_first(2)             # the first 2 deliveries get 500, later ones 200
        ...                            # point a rule's webhook target at hook.url("/hook")
        deliveries = hook.wait_for(3)  # raises AssertionError with what arrived on timeout
        assert all(d.signature_ok for d in deliveries)

`always_fail()` makes every delivery fail until `succeed()` is called.

Signature, as docs/ASYNC.md documents it: `X-Basalt-Timestamp: <unix seconds>` and
`X-Basalt-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, computed
over the raw body bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time

from fake_upstreams import QuietHandler


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Basalt-Signature value basalt must send for this timestamp and body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return "sha256=" + mac


def verify_signature(secret: str, headers: "dict[str, str]", body: bytes) -> "tuple[bool, str]":
    """Checks a delivery's signature; returns (ok, why not). Headers have lower-case names."""
    ts = headers.get("x-basalt-timestamp")
    sig = headers.get("x-basalt-signature")
    if ts is None:
        return False, "no X-Basalt-Timestamp header"
    if sig is None:
        return False, "no X-Basalt-Signature header"
    if not ts.isdigit():
        return False, f"X-Basalt-Timestamp is not unix seconds: {ts!r}"
    want = expected_signature(secret, ts, body)
    if not hmac.compare_digest(sig, want):
        return False, f"X-Basalt-Signature {sig!r} != expected {want!r} (timestamp {ts})"
    return True, ""


class Delivery:
    """One request the receiver got."""

    def __init__(self, method: str, path: str, headers: "dict[str, str]", body: bytes,
                 answered: int, signature_ok: "bool | None", signature_problem: str):
        self.method = method
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body
        self.answered = answered  # the status the receiver answered with
        self.signature_ok = signature_ok  # None when the receiver has no secret
        self.signature_problem = signature_problem
        self.received_at = time.monotonic()
        self.received_wall = time.time()

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def event_type(self) -> "str | None":
        return self.headers.get("x-basalt-event-type")

    @property
    def event_id(self) -> "str | None":
        return self.headers.get("x-basalt-event-id")

    @property
    def attempt(self) -> "str | None":
        return self.headers.get("x-basalt-delivery-attempt")

    def __repr__(self) -> str:
        return (f"<Delivery {self.method} {self.path} type={self.event_type} id={self.event_id} "
                f"attempt={self.attempt} answered={self.answered} sig_ok={self.signature_ok} "
                f"{self.body[:160]!r}>")


class _Handler(QuietHandler):
    def _dispatch(self) -> None:
        body = self._read_body()
        receiver: WebhookReceiver = self.server.receiver  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        status = receiver._record(self.command, self.path, headers, body)
        data = json.dumps({"received": status < 300}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = _dispatch
    do_GET = _dispatch
    do_PUT = _dispatch


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # a peer that resets is not news
        pass


class WebhookReceiver:
    """Records deliveries; verifies signatures with `secret` (or a per-path secret)."""

    def __init__(self, secret: "str | None" = None, name: str = "hook"):
        self.name = name
        self.secret = secret
        self.path_secrets: "dict[str, str]" = {}
        self.deliveries: "list[Delivery]" = []
        self._fail_remaining = 0
        self._always_fail = False
        self._fail_status = 500
        self._cond = threading.Condition()
        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.httpd.receiver = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self._thread: "threading.Thread | None" = None

    # --------------------------------------------------------------- lifecycle
    def start(self) -> "WebhookReceiver":
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"webhook-{self.name}")
        self._thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "WebhookReceiver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # --------------------------------------------------------------- behaviour
    def fail_first(self, n: int, status: int = 500) -> "WebhookReceiver":
        """The next `n` deliveries are answered with `status`; later ones with 200."""
        with self._cond:
            self._fail_remaining = n
            self._fail_status = status
            self._always_fail = False
        return self

    def always_fail(self, status: int = 500) -> "WebhookReceiver":
        with self._cond:
            self._always_fail = True
            self._fail_status = status
        return self

    def succeed(self) -> "WebhookReceiver":
        with self._cond:
            self._always_fail = False
            self._fail_remaining = 0
        return self

    def set_secret(self, path: str, secret: str) -> None:
        """Verifies deliveries to `path` with `secret` instead of the receiver's secret."""
        with self._cond:
            self.path_secrets[path] = secret

    def _record(self, method: str, path: str, headers: "dict[str, str]", body: bytes) -> int:
        with self._cond:
            if self._always_fail:
                status = self._fail_status
            elif self._fail_remaining > 0:
                self._fail_remaining -= 1
                status = self._fail_status
            else:
                status = 200
            secret = self.path_secrets.get(path.split("?")[0], self.secret)
            if secret is None:
                ok, why = None, ""
            else:
                ok, why = verify_signature(secret, headers, body)
            self.deliveries.append(Delivery(method, path, headers, body, status, ok, why))
            self._cond.notify_all()
        return status

    # --------------------------------------------------------------- queries
    def snapshot(self, path: "str | None" = None) -> "list[Delivery]":
        with self._cond:
            return [d for d in self.deliveries if path is None or d.path.split("?")[0] == path]

    def wait_for(self, n: int, timeout: float = 15.0, path: "str | None" = None,
                 predicate=None) -> "list[Delivery]":
        """Waits until at least `n` deliveries (to `path`, satisfying `predicate`) arrived."""
        def matching():
            return [d for d in self.deliveries
                    if (path is None or d.path.split("?")[0] == path) and (predicate is None or predicate(d))]

        deadline = time.monotonic() + timeout
        with self._cond:
            while len(matching()) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"webhook receiver {self.name}: wanted {n} deliveries"
                                         f"{' to ' + path if path else ''}, got {len(matching())} within "
                                         f"{timeout}s; all deliveries: {self.deliveries!r}")
                self._cond.wait(min(left, 0.2))
            return matching()
