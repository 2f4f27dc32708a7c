"""Fake model upstreams for black-box gateway tests: real HTTP servers on 127.0.0.1:0.

Standard library only. A FakeUpstream is a ThreadingHTTPServer (HTTP/1.1, keep-alive,
chunked writes for SSE) that records every request it gets and answers each with the
next scripted behaviour:

    with FakeUpstream("primary") as fake:
        fake.script(Error(429, retry_after="1"), default=Answer("from primary"))
        ...  # point a basalt provider's base_url at fake.openai_base_url
        fake.wait_requests(2)
        fake.requests[0].json["model"]

`Answer` speaks whichever wire format the request path asks for: OpenAI chat
completions (JSON, or SSE chunks + a usage chunk + [DONE] when `stream` is set),
OpenAI embeddings and model lists, and the Anthropic Messages API (JSON, or its SSE
events). Other behaviours: `Error` (status, OpenAI- or Anthropic-shaped body,
Retry-After), `Slow` (waits, watching for the client to close, then answers),
`Reset` (a TCP reset before any response), `StreamThenReset` (SSE chunks, then a
reset), `StallStream` (SSE chunks, then waits for the client to go away).

Also here: an AWS event-stream frame decoder and a SigV4 signer for the Bedrock routes.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import http.server
import json
import os
import select
import socket
import struct
import threading
import time
import urllib.parse

# ----------------------------------------------------------------------------- requests


class Recorded:
    """One request a fake received, and what became of its connection."""

    def __init__(self, method: str, path: str, headers: "dict[str, str]", body: bytes):
        self.method = method
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body
        self.received_at = time.monotonic()
        self.first_data_at: "float | None" = None  # when the first SSE data chunk was sent
        self.marker_sent_at: "dict[str, float]" = {}  # content piece -> when it was sent
        self.closed_at: "float | None" = None  # when the client was seen to close (watching behaviours)
        self.done = threading.Event()  # set when the behaviour has finished

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self) -> str:
        return f"<Recorded {self.method} {self.path} {self.body[:120]!r}>"


# ----------------------------------------------------------------------------- server


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, TCP_NODELAY, no request log, and a body reader that
    understands Content-Length and chunked bodies. Fake servers subclass it."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are dropped after this

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args) -> None:  # quiet
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class _Handler(QuietHandler):
    def _dispatch(self) -> None:
        body = self._read_body()
        rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        fake: FakeUpstream = self.server.fake  # type: ignore[attr-defined]
        behaviour = fake._take(rec)
        self._counted_done = False
        try:
            behaviour(self, rec)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
            if rec.closed_at is None:
                rec.closed_at = time.monotonic()
        finally:
            rec.done.set()
            self._mark_done()

    do_GET = _dispatch
    do_POST = _dispatch

    def _mark_done(self) -> None:
        """Ends this request's in-flight count (once). Called before a whole answer's
        last bytes are written, so the client cannot have received the answer, and
        sent its next request, while this one still counts as in flight."""
        if not getattr(self, "_counted_done", True):
            self._counted_done = True
            self.server.fake._finished()  # type: ignore[attr-defined]

    # --------------------------------------------------------------- writing helpers
    def send_json(self, status: int, obj, headers: "dict[str, str] | None" = None) -> None:
        data = json.dumps(obj).encode()
        self._mark_done()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()  # flushes the head now

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def reset(self) -> None:
        """Closes the connection with a TCP RST (SO_LINGER 0)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        # The file objects hold references to the socket, so close() would not close the fd
        # while they live: detach it and close the fd itself, which sends the RST now.
        try:
            os.close(self.connection.detach())
        except OSError:
            pass

    def wait_closed(self, rec: Recorded, seconds: float, stop: threading.Event) -> bool:
        """Waits up to `seconds` for the client to close; records and returns True if it did."""
        deadline = time.monotonic() + seconds
        sock = self.connection
        while time.monotonic() < deadline and not stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], 0.01)
            except (OSError, ValueError):
                ready = [sock]
            if ready:
                try:
                    data = sock.recv(1, socket.MSG_PEEK)
                except (ConnectionResetError, OSError):
                    data = b""
                if not data:
                    rec.closed_at = time.monotonic()
                    self.close_connection = True
                    return True
                time.sleep(0.01)  # bytes of a next request: not a close
        return False


class FakeUpstream:
    """An HTTP server on 127.0.0.1:0 answering with scripted behaviours; records requests."""

    def __init__(self, name: str = "fake"):
        self.name = name
        self.requests: "list[Recorded]" = []
        self.in_flight = 0  # requests being answered now
        self.max_in_flight = 0  # the most at once
        self._script: "list" = []
        self._default = Answer(f"answer from {name}")
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.stop_event = threading.Event()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.httpd.fake = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self._thread: "threading.Thread | None" = None

    # --------------------------------------------------------------- lifecycle
    def start(self) -> "FakeUpstream":
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"fake-{self.name}")
        self._thread.start()
        return self

    def close(self) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "FakeUpstream":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    # --------------------------------------------------------------- scripting
    def script(self, *behaviours, default=None) -> "FakeUpstream":
        """Answers the next requests with `behaviours` in order, then with `default`."""
        with self._lock:
            self._script = list(behaviours)
            if default is not None:
                self._default = default
        return self

    def _take(self, rec: Recorded):
        with self._cond:
            self.requests.append(rec)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            behaviour = self._script.pop(0) if self._script else self._default
            self._cond.notify_all()
        return behaviour

    def _finished(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def count(self, path_suffix: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path.endswith(path_suffix))

    def wait_requests(self, n: int, timeout: float = 10.0) -> "list[Recorded]":
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake {self.name}: {len(self.requests)} requests, wanted {n}")
                self._cond.wait(left)
            return list(self.requests)


# ----------------------------------------------------------------------------- wire formats

def _words(text: str) -> "list[str]":
    parts = text.split(" ")
    return [p + (" " if i < len(parts) - 1 else "") for i, p in enumerate(parts)]


def openai_completion(text: str, model: str, usage=(11, 7), finish: str = "stop") -> dict:
    return {
        "id": "chatcmpl-fake123", "object": "chat.completion", "created": 1700000000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                  "total_tokens": usage[0] + usage[1]},
    }


def openai_chunk(model: str, delta: dict, finish=None, usage=None, choices=True) -> dict:
    chunk = {"id": "chatcmpl-fake123", "object": "chat.completion.chunk", "created": 1700000000,
             "model": model, "choices": []}
    if choices:
        chunk["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def anthropic_message(text: str, model: str, usage=(11, 7), stop: str = "end_turn") -> dict:
    return {"id": "msg_fake123", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": usage[0], "output_tokens": usage[1]}}


def anthropic_events(pieces: "list[str]", model: str, usage=(11, 7)) -> "list[tuple[str, dict]]":
    events = [("message_start", {"type": "message_start", "message": {
        "id": "msg_fake123", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"})]
    for p in pieces:
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": p}}))
    events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ("message_delta", {"type": "message_delta",
                                  "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                  "usage": {"output_tokens": usage[1]}}),
               ("message_stop", {"type": "message_stop"})]
    return events


def _sse(data: str, event: "str | None" = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + f"data: {data}\n\n").encode()


def _is_anthropic(rec: Recorded) -> bool:
    return rec.path.split("?")[0].endswith("/v1/messages")


def _stream_pieces(h: _Handler, rec: Recorded, pieces: "list[str]", first_delay: float, gap: float,
                   usage, stop: threading.Event, finish: bool = True) -> None:
    """Writes pieces as SSE in the request's wire format (OpenAI or Anthropic)."""
    body = rec.json or {}
    model = body.get("model", "fake-model")
    h.start_sse()
    if first_delay:
        stop.wait(first_delay)
    if _is_anthropic(rec):
        events = anthropic_events(pieces, model, usage)
        if not finish:
            events = events[:3 + len(pieces)]
        for i, (name, data) in enumerate(events):
            if name == "content_block_delta":
                piece = data["delta"]["text"]
                if rec.first_data_at is None:
                    rec.first_data_at = time.monotonic()
                rec.marker_sent_at[piece] = time.monotonic()
                h.write_chunk(_sse(json.dumps(data), name))
                if gap:
                    stop.wait(gap)
            else:
                h.write_chunk(_sse(json.dumps(data), name))
    else:
        want_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        h.write_chunk(_sse(json.dumps(openai_chunk(model, {"role": "assistant", "content": ""}))))
        for p in pieces:
            if rec.first_data_at is None:
                rec.first_data_at = time.monotonic()
            rec.marker_sent_at[p] = time.monotonic()  # before the write: a conservative measure
            h.write_chunk(_sse(json.dumps(openai_chunk(model, {"content": p}))))
            if gap:
                stop.wait(gap)
        if not finish:
            return
        h.write_chunk(_sse(json.dumps(openai_chunk(model, {}, finish="stop"))))
        if want_usage:
            u = {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}
            h.write_chunk(_sse(json.dumps(openai_chunk(model, {}, usage=u, choices=False))))
        h.write_chunk(_sse("[DONE]"))
    h.end_chunks()


# ----------------------------------------------------------------------------- behaviours

class Answer:
    """A successful answer in the request's wire format (chat plain/stream, embeddings, models)."""

    def __init__(self, text: str = "Hello from the fake upstream.", pieces: "list[str] | None" = None,
                 first_delay: float = 0.0, gap: float = 0.0, usage=(11, 7), dim: int = 8):
        self.text = text
        self.pieces = pieces if pieces is not None else _words(text)
        self.first_delay = first_delay
        self.gap = gap
        self.usage = usage
        self.dim = dim

    def __call__(self, h: _Handler, rec: Recorded) -> None:
        stop = h.server.fake.stop_event  # type: ignore[attr-defined]
        path = rec.path.split("?")[0]
        body = rec.json if rec.body else {}
        if rec.method == "GET" and path.endswith("/models"):
            h.send_json(200, {"object": "list", "data": [
                {"id": "fake-model-a", "object": "model", "created": 1700000000, "owned_by": "fake"}]})
            return
        if path.endswith("/embeddings"):
            inputs = body.get("input")
            inputs = inputs if isinstance(inputs, list) else [inputs]
            data = []
            for i, _ in enumerate(inputs):
                vec = [0.0] * self.dim
                vec[i % self.dim] = 1.0
                data.append({"object": "embedding", "index": i, "embedding": vec})
            h.send_json(200, {"object": "list", "data": data, "model": body.get("model"),
                              "usage": {"prompt_tokens": 3, "total_tokens": 3}})
            return
        if body.get("stream"):
            _stream_pieces(h, rec, self.pieces, self.first_delay, self.gap, self.usage, stop)
            return
        if self.first_delay:
            stop.wait(self.first_delay)
        model = body.get("model", "fake-model")
        if _is_anthropic(rec):
            h.send_json(200, anthropic_message(self.text, model, self.usage))
        else:
            h.send_json(200, openai_completion(self.text, model, self.usage))


class Error:
    """An error answer in the request's wire format, optionally with Retry-After."""

    def __init__(self, status: int, message: str = "fake upstream error", retry_after: "str | None" = None,
                 err_type: "str | None" = None):
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.err_type = err_type

    def __call__(self, h: _Handler, rec: Recorded) -> None:
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        if _is_anthropic(rec):
            kind = self.err_type or {400: "invalid_request_error", 429: "rate_limit_error",
                                     529: "overloaded_error"}.get(self.status, "api_error")
            body = {"type": "error", "error": {"type": kind, "message": self.message}}
        else:
            kind = self.err_type or {400: "invalid_request_error", 429: "rate_limit_exceeded"}.get(
                self.status, "server_error")
            body = {"error": {"message": self.message, "type": kind, "param": None, "code": kind}}
        h.send_json(self.status, body, headers)


class Slow:
    """Waits `seconds` (noticing a client close), then behaves like `then` if still connected."""

    def __init__(self, seconds: float, then=None):
        self.seconds = seconds
        self.then = then if then is not None else Answer("slow answer")

    def __call__(self, h: _Handler, rec: Recorded) -> None:
        if h.wait_closed(rec, self.seconds, h.server.fake.stop_event):  # type: ignore[attr-defined]
            return
        self.then(h, rec)


class Reset:
    """Resets the connection without answering."""

    def __call__(self, h: _Handler, rec: Recorded) -> None:
        h.reset()


class StreamThenReset:
    """Streams `pieces` (SSE, no end), then resets the connection."""

    def __init__(self, pieces: "list[str]", gap: float = 0.02):
        self.pieces = pieces
        self.gap = gap

    def __call__(self, h: _Handler, rec: Recorded) -> None:
        stop = h.server.fake.stop_event  # type: ignore[attr-defined]
        _stream_pieces(h, rec, self.pieces, 0.0, self.gap, (11, 7), stop, finish=False)
        time.sleep(0.05)
        h.reset()


class StallStream:
    """Streams `pieces` (SSE), then waits up to `seconds` for the client to close."""

    def __init__(self, pieces: "list[str]", seconds: float = 15.0):
        self.pieces = pieces
        self.seconds = seconds

    def __call__(self, h: _Handler, rec: Recorded) -> None:
        stop = h.server.fake.stop_event  # type: ignore[attr-defined]
        _stream_pieces(h, rec, self.pieces, 0.0, 0.0, (11, 7), stop, finish=False)
        if not h.wait_closed(rec, self.seconds, stop):
            h.close_connection = True


# ----------------------------------------------------------------------------- SSE reading

def parse_sse(text: str) -> "list[tuple[str | None, str]]":
    """Parses an SSE body into (event name or None, data) pairs."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data or name:
            events.append((name, "\n".join(data)))
    return events


# ----------------------------------------------------------------------------- AWS event stream

def decode_eventstream(data: bytes) -> "list[tuple[dict[str, object], bytes]]":
    """Decodes application/vnd.amazon.eventstream frames, checking both CRCs.

    Returns [(headers, payload)]; raises ValueError on a bad or truncated frame.
    """
    out = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 16:
            raise ValueError(f"truncated prelude at {pos}")
        total, hlen, pcrc = struct.unpack(">III", data[pos:pos + 12])
        if binascii.crc32(data[pos:pos + 8]) != pcrc:
            raise ValueError(f"prelude CRC mismatch at {pos}")
        if total < 16 or pos + total > len(data):
            raise ValueError(f"bad total length {total} at {pos}")
        frame = data[pos:pos + total]
        (mcrc,) = struct.unpack(">I", frame[-4:])
        if binascii.crc32(frame[:-4]) != mcrc:
            raise ValueError(f"message CRC mismatch at {pos}")
        headers: "dict[str, object]" = {}
        hp, hend = 12, 12 + hlen
        while hp < hend:
            nlen = frame[hp]
            name = frame[hp + 1:hp + 1 + nlen].decode()
            hp += 1 + nlen
            vtype = frame[hp]
            hp += 1
            if vtype == 7:  # string
                (vlen,) = struct.unpack(">H", frame[hp:hp + 2])
                headers[name] = frame[hp + 2:hp + 2 + vlen].decode()
                hp += 2 + vlen
            elif vtype == 6:  # bytes
                (vlen,) = struct.unpack(">H", frame[hp:hp + 2])
                headers[name] = frame[hp + 2:hp + 2 + vlen]
                hp += 2 + vlen
            elif vtype in (0, 1):
                headers[name] = vtype == 0
            elif vtype == 2:
                headers[name] = frame[hp]
                hp += 1
            elif vtype == 3:
                headers[name] = struct.unpack(">h", frame[hp:hp + 2])[0]
                hp += 2
            elif vtype == 4:
                headers[name] = struct.unpack(">i", frame[hp:hp + 4])[0]
                hp += 4
            elif vtype in (5, 8):
                headers[name] = struct.unpack(">q", frame[hp:hp + 8])[0]
                hp += 8
            elif vtype == 9:
                headers[name] = frame[hp:hp + 16]
                hp += 16
            else:
                raise ValueError(f"unknown header value type {vtype}")
        out.append((headers, frame[hend:-4]))
        pos += total
    return out


def invoke_stream_events(data: bytes) -> "list[dict]":
    """The Anthropic events inside InvokeModelWithResponseStream `chunk` frames."""
    events = []
    for headers, payload in decode_eventstream(data):
        if headers.get(":message-type") != "event" or headers.get(":event-type") != "chunk":
            raise ValueError(f"unexpected frame {headers} {payload[:200]!r}")
        events.append(json.loads(base64.b64decode(json.loads(payload)["bytes"])))
    return events


# ----------------------------------------------------------------------------- SigV4

def sigv4_headers(method: str, host: str, path: str, body: bytes, access_key: str, secret: str,
                  region: str = "us-east-1", service: str = "bedrock",
                  when: "datetime.datetime | None" = None,
                  extra: "dict[str, str] | None" = None,
                  query: "dict[str, str] | None" = None) -> "dict[str, str]":
    """Headers (incl. Authorization) signing a request with AWS Signature Version 4.
    `query` is the request's query string as a dict (signed in canonical order)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash,
               "content-type": "application/json"}
    headers.update({k.lower(): v for k, v in (extra or {}).items()})
    names = sorted(headers)
    canonical_headers = "".join(f"{n}:{' '.join(headers[n].strip().split())}\n" for n in names)
    signed = ";".join(names)
    # The URI path is encoded once more for every service but S3.
    canonical_path = urllib.parse.quote(path, safe="/-_.~")
    q = lambda v: urllib.parse.quote(str(v), safe="-_.~")  # noqa: E731
    canonical_query = "&".join(f"{q(k)}={q(v)}" for k, v in sorted((query or {}).items()))
    canonical = "\n".join([method, canonical_path, canonical_query, canonical_headers, signed,
                           payload_hash])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])

    def _hmac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    k = _hmac(("AWS4" + secret).encode(), day)
    k = _hmac(k, region)
    k = _hmac(k, service)
    k = _hmac(k, "aws4_request")
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {n: headers[n] for n in names if n != "host"}
    out["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                            f"SignedHeaders={signed}, Signature={signature}")
    return out
