"""The server survives garbage: random bytes, oversized request lines, broken chunking, resets.

After each kind of abuse /healthz still answers, and resident memory stays bounded
across thousands of malformed requests.
"""

import json
import os
import random
import socket
import struct
import threading
import time
import unittest

from basalt_proc import BasaltServer, ConnectionClosed, exchange, request_bytes

RNG = random.Random(0xBA5A17)


def garbage_cases() -> "list[tuple[str, bytes]]":
    """(name, bytes) pairs of malformed or hostile requests."""
    cases = [
        ("random binary 4 KiB", bytes(RNG.getrandbits(8) for _ in range(4096))),
        ("random binary 64 B", bytes(RNG.getrandbits(8) for _ in range(64))),
        ("NUL bytes", b"\x00" * 512),
        ("TLS ClientHello", bytes.fromhex("16030100a5010000a10303") + bytes(RNG.getrandbits(8) for _ in range(160))),
        ("oversized request line", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("oversized method", b"X" * 40_000 + b" / HTTP/1.1\r\n\r\n"),
        ("HTTP/0.9", b"GET /healthz\r\n\r\n"),
        ("bad version", b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n"),
        ("missing colon", b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n"),
        ("space before colon", b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n"),
        ("NUL in header", b"GET /healthz HTTP/1.1\r\nHost: x\x00y\r\n\r\n"),
        ("bare LF lines", b"GET /healthz HTTP/1.1\nHost: x\n\n"),
        ("obs-fold", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n"),
        ("invalid chunk size", b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n"),
        ("chunk size overflow", b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"ffffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
        ("chunk longer than declared", b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                       b"2\r\n{}}}}}}\r\n0\r\n\r\n"),
        ("negative chunk", b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n{}\r\n0\r\n\r\n"),
        ("unknown transfer-encoding", b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, bogus\r\n\r\n{}"),
        ("negative content-length", b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}"),
        ("huge content-length", b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n{}"),
        ("conflicting content-length", b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                       b"Content-Length: 5\r\n\r\n{}"),
        ("CL and TE", b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"0\r\n\r\n"),
        ("bad percent escape", b"GET /heal%zzthz HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("absolute-form target", b"GET http://evil.example/healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("asterisk target", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("binary in path", b"GET /\xff\xfe\x01 HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("deep JSON", request_bytes("POST", "/v1/echo", b"[" * 100_000 + b"]" * 100_000)),
        ("deep JSON unbalanced", request_bytes("POST", "/v1/echo", b"[" * 200_000)),
        ("pipelined garbage after valid", request_bytes("GET", "/healthz") + b"\x16\x03\x01garbage\r\n\r\n"),
    ]
    return cases


class Garbage(unittest.TestCase):
    srv: BasaltServer

    @classmethod
    def setUpClass(cls):
        cls.srv = BasaltServer(sets={"server.read_timeout_ms": 2000, "server.max_body_bytes": 1 << 20,
                                     "server.access_log": False})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def assert_healthy(self, after: str):
        self.assertTrue(self.srv.alive(), f"basalt died after {after}: {self.srv.stderr_text()[-3000:]}")
        status, _, body = self.srv.request("GET", "/healthz", timeout=5)
        self.assertEqual(status, 200, f"after {after}: {body!r}")

    def test_each_garbage_case(self):
        for name, data in garbage_cases():
            with self.subTest(case=name):
                started = time.monotonic()
                resp, raw, closed = exchange(self.srv.port, data, timeout=8, close_wait=0.3)
                elapsed = time.monotonic() - started
                # Either a 4xx answer or a closed connection, and no hang.
                if resp is not None:
                    if name == "pipelined garbage after valid":
                        self.assertEqual(resp.status, 200)
                    elif name == "obs-fold":
                        # RFC 9112 5.2: reject with 400, or replace each obs-fold with a space.
                        self.assertIn(resp.status, (200, 400), resp)
                    elif name in ("deep JSON",):
                        self.assertIn(resp.status, (200, 400), resp)
                    else:
                        self.assertGreaterEqual(resp.status, 400, resp)
                        self.assertLess(resp.status, 500, resp)
                self.assertLess(elapsed, 12, f"{name}: took {elapsed:.1f}s")
                self.assert_healthy(name)

    def test_client_resets(self):
        # Abortive closes (RST) at every stage of a request, including mid-handler.
        stages = [b"", b"GET /heal", request_bytes("POST", "/v1/echo", b'{"a": 1}')[:-3],
                  request_bytes("POST", "/v1/echo?delay_ms=200", b'{"a": 1}'), request_bytes("GET", "/metrics")]
        for _ in range(20):
            for data in stages:
                s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
                if data:
                    s.sendall(data)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
        time.sleep(0.3)  # let the delayed handlers finish against closed sockets
        self.assert_healthy("client resets")

    def test_half_close_still_answered_or_closed(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
        try:
            s.sendall(request_bytes("GET", "/healthz"))
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        if data:
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
        self.assert_healthy("half-close")


class RequestSmuggling(unittest.TestCase):
    """A request whose body length cannot be determined must not leave its body to be read as a request.

    RFC 9112 6.3: if a request has Transfer-Encoding and chunked is not the final coding, the server
    MUST answer 400 and close the connection. Treating such a body as empty lets the bytes after the
    header be parsed as a second, smuggled request.
    """

    SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\nX-Request-Id: smuggled\r\n\r\n"

    def test_transfer_encoding_without_final_chunked(self):
        with BasaltServer() as srv:
            for te in (b"gzip", b"identity", b"chunked, gzip", b"gzip, chunked", b"chunked\r\nTransfer-Encoding: gzip"):
                with self.subTest(te=te):
                    conn = srv.raw(timeout=1.5)
                    responses = []
                    try:
                        conn.send(b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + b"\r\n\r\n"
                                  + self.SMUGGLED)
                        while True:
                            responses.append(conn.read_response())
                    except (ConnectionClosed, OSError):
                        pass
                    finally:
                        conn.close()
                    self.assertTrue(responses, "no answer at all")
                    self.assertGreaterEqual(responses[0].status, 400, responses[0])
                    smuggled = [r for r in responses if r.headers.get("x-request-id") == "smuggled"]
                    self.assertFalse(smuggled, f"the body was run as a second request: {responses}")
                    self.assertEqual(len(responses), 1, responses)
                    self.assertTrue(conn.eof, "connection left open after an undeterminable body length")


class MemoryBound(unittest.TestCase):
    ROUNDS = 5000
    MAX_GROWTH_KB = 50 * 1024

    def test_rss_bounded_across_malformed_requests(self):
        with BasaltServer(sets={"server.read_timeout_ms": 2000, "server.max_header_bytes": 8192,
                                "server.max_body_bytes": 65536, "server.access_log": False}) as srv:
            big_body = json.dumps({"s": "z" * 70000}).encode()
            variants = [
                b"\x16\x03\x01" + bytes(RNG.getrandbits(8) for _ in range(2000)),
                b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
                request_bytes("GET", "/healthz", headers={"X-Pad": "p" * 10000}),
                request_bytes("POST", "/v1/echo", big_body),
                request_bytes("POST", "/v1/echo", b'{"a": [1, 2, tru'),
                b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
                b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
                b"DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
            ]
            errors = []
            outcomes: "dict[str, int]" = {}
            lock = threading.Lock()

            def worker(count: int, offset: int):
                for i in range(count):
                    data = variants[(i + offset) % len(variants)]
                    try:
                        resp, _, _ = exchange(srv.port, data, timeout=8, close_wait=0)
                        key = str(resp.status) if resp else "closed"
                    except OSError as e:
                        errors.append(repr(e))
                        key = "error"
                    with lock:
                        outcomes[key] = outcomes.get(key, 0) + 1

            def run(total: int):
                threads = [threading.Thread(target=worker, args=(total // 4, k)) for k in range(4)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(timeout=120)

            run(200)  # warm-up: thread caches, parsers, metric series
            outcomes.clear()
            before = srv.rss_kb()
            started = time.monotonic()
            run(self.ROUNDS)
            elapsed = time.monotonic() - started
            self.assertTrue(srv.alive(), srv.stderr_text()[-3000:])
            after = srv.rss_kb()
            print(f"\nRSS {before} kB -> {after} kB after {self.ROUNDS} malformed requests in {elapsed:.1f}s "
                  f"; outcomes {dict(sorted(outcomes.items()))}")
            self.assertEqual(sum(outcomes.values()), self.ROUNDS)
            self.assertLess(after - before, self.MAX_GROWTH_KB)
            self.assertLess(len(errors), self.ROUNDS // 10, errors[:10])
            self.assertEqual(srv.request("GET", "/healthz")[0], 200)
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
