"""Size limits (413, 431), read/idle timeouts (slow-loris) and max_connections (503)."""

import json
import socket
import threading
import time
import unittest

from basalt_proc import (BasaltServer, ConnectionClosed, RawConn, error_envelope, exchange, metric_value,
                         request_bytes, wait_until)


class BodyAndHeaderLimits(unittest.TestCase):
    srv: BasaltServer

    @classmethod
    def setUpClass(cls):
        cls.srv = BasaltServer(sets={"server.max_body_bytes": 1024, "server.max_header_bytes": 4096})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    @staticmethod
    def json_of_size(n: int) -> bytes:
        body = json.dumps({"s": "x" * (n - 9)}).encode()
        assert len(body) == n, len(body)
        return body

    def test_body_at_limit_ok(self):
        body = self.json_of_size(1024)
        status, _, data = self.srv.request("POST", "/v1/echo", body)
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data), json.loads(body))

    def test_body_over_limit_413(self):
        status, headers, data = self.srv.request("POST", "/v1/echo", self.json_of_size(1025))
        self.assertEqual(status, 413, data)
        error_envelope(data)
        self.assertTrue(headers.get("x-request-id"))

    def test_declared_length_over_limit_413_without_body(self):
        # The server must refuse on the header alone, not wait for 100 MB that never comes.
        data = request_bytes("POST", "/v1/echo", headers={"Content-Length": "100000000"})
        started = time.monotonic()
        resp, raw, _ = exchange(self.srv.port, data, timeout=5)
        self.assertIsNotNone(resp, f"no response, got {raw!r}")
        self.assertEqual(resp.status, 413, resp)
        self.assertLess(time.monotonic() - started, 4)

    def test_chunked_body_over_limit_413(self):
        chunk = b"x" * 600
        data = (b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + (b"%x\r\n%s\r\n" % (len(chunk), chunk)) * 3 + b"0\r\n\r\n")
        resp, raw, _ = exchange(self.srv.port, data, timeout=5)
        self.assertIsNotNone(resp, f"no response, got {raw!r}")
        self.assertEqual(resp.status, 413, resp)

    def test_headers_under_limit_ok(self):
        status, _, _ = self.srv.request("GET", "/healthz", headers={"X-Pad": "p" * 3000})
        self.assertEqual(status, 200)

    def test_one_big_header_431(self):
        resp, raw, _ = exchange(self.srv.port, request_bytes("GET", "/healthz", headers={"X-Pad": "p" * 8000}))
        self.assertIsNotNone(resp, f"no response, got {raw!r}")
        self.assertEqual(resp.status, 431, resp)
        error_envelope(resp.body)

    def test_many_headers_431(self):
        headers = {f"X-H{i}": "v" * 40 for i in range(200)}
        resp, raw, _ = exchange(self.srv.port, request_bytes("GET", "/healthz", headers=headers))
        self.assertIsNotNone(resp, f"no response, got {raw!r}")
        self.assertEqual(resp.status, 431, resp)

    def test_still_serving_after_rejections(self):
        for _ in range(3):
            exchange(self.srv.port, request_bytes("POST", "/v1/echo", self.json_of_size(4000)))
        self.assertEqual(self.srv.request("GET", "/healthz")[0], 200)


class DefaultLimits(unittest.TestCase):
    def test_defaults_10mib_body_16kib_headers(self):
        with BasaltServer() as srv:
            # 10 MiB + 1 declared: refused from the header.
            resp, raw, _ = exchange(srv.port, request_bytes(
                "POST", "/v1/echo", headers={"Content-Length": str(10 * 1024 * 1024 + 1)}), timeout=5)
            self.assertIsNotNone(resp, raw)
            self.assertEqual(resp.status, 413)
            # 1 MiB body is fine.
            body = json.dumps({"s": "y" * (1 << 20)}).encode()
            status, _, data = srv.request("POST", "/v1/echo", body, timeout=30)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(data), json.loads(body))
            # 12 KiB of headers pass, 20 KiB get 431.
            self.assertEqual(srv.request("GET", "/healthz", headers={"X-Pad": "p" * 12000})[0], 200)
            resp, raw, _ = exchange(srv.port, request_bytes("GET", "/healthz", headers={"X-Pad": "p" * 20000}))
            self.assertIsNotNone(resp, raw)
            self.assertEqual(resp.status, 431)


class SlowClients(unittest.TestCase):
    READ_TIMEOUT = 0.5
    IDLE_TIMEOUT = 2.0

    srv: BasaltServer

    @classmethod
    def setUpClass(cls):
        cls.srv = BasaltServer(sets={"server.read_timeout_ms": int(cls.READ_TIMEOUT * 1000),
                                     "server.idle_timeout_ms": int(cls.IDLE_TIMEOUT * 1000)})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def loris(self, prefix: bytes, result: dict, max_seconds: float = 10.0) -> None:
        """Sends `prefix`, then one more header byte every 50 ms until the server reacts."""
        try:
            sock = self.srv.connect()
        except OSError as e:
            result["error"] = repr(e)
            return
        conn = RawConn(sock)
        first = time.monotonic()
        got = b""
        try:
            pending = prefix
            while time.monotonic() - first < max_seconds:
                to_send, pending = (pending[:1], pending[1:]) if pending else (b"a", b"")
                try:
                    sock.sendall(to_send)
                except (BrokenPipeError, ConnectionResetError):
                    result["how"] = "reset on send"
                    break
                if conn.closed_by_peer(0.05):
                    got = conn.buf
                    result["how"] = "closed"
                    break
                if conn.buf:
                    got = conn.buf + conn.read_to_close()
                    result["how"] = "answered"
                    break
            else:
                result["how"] = "still open"
        finally:
            result["elapsed"] = time.monotonic() - first
            result["got"] = got
            conn.close()

    def test_slow_loris_dropped_while_others_served(self):
        results = [dict() for _ in range(12)]
        prefixes = [b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",     # trickled headers
                    b"GE",                                                # trickled request line
                    b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"a\":\""]  # body
        threads = [threading.Thread(target=self.loris, args=(prefixes[i % 3], results[i]), daemon=True)
                   for i in range(len(results))]
        for t in threads:
            t.start()
        # Meanwhile other clients are served promptly.
        latencies = []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline or any(t.is_alive() for t in threads):
            started = time.monotonic()
            status, _, _ = self.srv.request("GET", "/healthz", timeout=5)
            latencies.append(time.monotonic() - started)
            self.assertEqual(status, 200)
            time.sleep(0.02)
            if time.monotonic() > deadline + 15:
                break
        for t in threads:
            t.join(timeout=15)
        print("\nslow clients: " + ", ".join(
            f"{r.get('how')} {r.get('elapsed', 0):.2f}s{' 408' if r.get('got', b'').startswith(b'HTTP/1.1 408') else ''}"
            for r in results) + f"; other clients: {len(latencies)} requests, max {max(latencies) * 1000:.0f} ms")
        self.assertLess(max(latencies), 2.0, f"healthz slowed down by slow clients: max {max(latencies):.3f}s")
        for i, r in enumerate(results):
            with self.subTest(client=i, prefix=prefixes[i % 3][:20]):
                self.assertNotIn("error", r)
                self.assertIn(r.get("how"), ("closed", "answered", "reset on send"), r)
                # dropped within a bound: the read timeout plus generous slack
                self.assertLess(r["elapsed"], self.READ_TIMEOUT + 3.0, r)
                self.assertGreater(r["elapsed"], self.READ_TIMEOUT * 0.8, r)
                if r["got"]:
                    self.assertTrue(r["got"].startswith(b"HTTP/1.1 408"), r["got"][:100])
        self.assertTrue(self.srv.alive())

    def test_idle_keepalive_not_cut_by_read_timeout(self):
        # Waiting between requests is governed by idle_timeout_ms, not read_timeout_ms.
        with self.srv.raw() as conn:
            conn.send(request_bytes("GET", "/healthz"))
            self.assertEqual(conn.read_response().status, 200)
            time.sleep(self.READ_TIMEOUT * 2)
            conn.send(request_bytes("GET", "/healthz"))
            self.assertEqual(conn.read_response().status, 200)

    def test_idle_connection_closed_after_idle_timeout(self):
        with self.srv.raw() as conn:
            started = time.monotonic()
            closed = conn.closed_by_peer(self.IDLE_TIMEOUT + 5)
            elapsed = time.monotonic() - started
            self.assertTrue(closed, "idle connection never closed")
            self.assertGreater(elapsed, self.IDLE_TIMEOUT * 0.5)
            self.assertLess(elapsed, self.IDLE_TIMEOUT + 4)


class SlowReader(unittest.TestCase):
    def test_client_that_stops_reading_is_dropped(self):
        # A client asks for an 8 MiB answer and never reads it: after server.write_timeout_ms
        # the server gives up on it instead of holding the connection (and its buffer) forever.
        with BasaltServer(sets={"server.write_timeout_ms": 500, "server.idle_timeout_ms": 60000}) as srv:
            def others_open():
                return metric_value(srv, "basalt_http_open_connections") - 1  # minus the scrape itself
            wait_until(lambda: others_open() == 0, 10, what="no open connections at the start")
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(30)
            sock.connect(("127.0.0.1", srv.port))
            try:
                body = json.dumps({"s": "r" * (8 << 20)}).encode()
                sock.sendall(request_bytes("POST", "/v1/echo", body))
                wait_until(lambda: others_open() >= 1, 5, interval=0.02, what="the connection to be open")
                started = time.monotonic()
                wait_until(lambda: others_open() == 0, 10, interval=0.05,
                           what="the non-reading client to be dropped")
                elapsed = time.monotonic() - started
                self.assertLess(elapsed, 8)
                self.assertEqual(srv.request("GET", "/healthz")[0], 200)
                # What is left to read is a truncated answer, then EOF or reset.
                got = b""
                try:
                    while True:
                        chunk = sock.recv(1 << 20)
                        if not chunk:
                            break
                        got += chunk
                except ConnectionResetError:
                    pass
                self.assertLess(len(got), len(body), "the whole answer arrived: the client was not dropped")
            finally:
                sock.close()


class MaxConnections(unittest.TestCase):
    LIMIT = 5

    def hold_connection(self, srv: BasaltServer) -> RawConn:
        """Opens a connection and proves it is served (retrying while older ones are still closing)."""
        def attempt():
            conn = srv.raw(timeout=5)
            try:
                conn.send(request_bytes("GET", "/healthz"))
                resp = conn.read_response()
            except (ConnectionClosed, OSError):
                conn.close()
                return None
            if resp.status != 200:
                conn.close()
                return None
            return conn
        return wait_until(attempt, 10, interval=0.1, what="a served connection below the limit")

    def test_extra_connection_gets_503(self):
        with BasaltServer(sets={"server.max_connections": self.LIMIT}) as srv:
            held = [self.hold_connection(srv) for _ in range(self.LIMIT)]
            try:
                # An extra connection that only listens.
                with srv.raw(timeout=5) as extra:
                    try:
                        resp = extra.read_response()
                    except ConnectionClosed as e:
                        self.fail(f"extra connection closed without a 503: {e}")
                    self.assertEqual(resp.status, 503, resp)
                    json.loads(resp.body)
                    self.assertTrue(extra.closed_by_peer(3), "the refused connection stays open")
                # An extra connection that sends a request straight away, like real clients.
                resp, raw, closed = exchange(srv.port, request_bytes("GET", "/healthz"), timeout=5)
                self.assertIsNotNone(resp, f"extra connection with a request got no 503 (read {raw!r})")
                self.assertEqual(resp.status, 503, resp)
                self.assertTrue(closed)
                # The held ones still work (keep-alive).
                for conn in held:
                    conn.send(request_bytes("GET", "/healthz"))
                    self.assertEqual(conn.read_response().status, 200)
                # Freeing one slot lets a new client in.
                held.pop().close()
                held.append(self.hold_connection(srv))
            finally:
                for conn in held:
                    conn.close()
            wait_until(lambda: srv.request("GET", "/healthz")[0] == 200, 10, what="service after release")


if __name__ == "__main__":
    unittest.main()
