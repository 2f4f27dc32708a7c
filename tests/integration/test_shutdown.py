"""Graceful shutdown on SIGTERM/SIGINT: in-flight requests finish, new connections are refused."""

import json
import signal
import socket
import subprocess
import threading
import time
import unittest

from basalt_proc import BasaltServer, parse_metrics, request_bytes, wait_until


def in_flight(srv: BasaltServer) -> float:
    """Requests being handled, not counting the /metrics scrape that asks."""
    status, _, body = srv.request("GET", "/metrics", timeout=5)
    if status != 200:
        return 0
    for labels, value in parse_metrics(body.decode()).get("basalt_http_requests_in_flight", []):
        return value - 1
    return 0


def delayed_echo(srv: BasaltServer, delay_ms: int, doc: dict, result: dict) -> None:
    """POST /v1/echo?delay_ms=N on its own connection; fills `result`."""
    started = time.monotonic()
    try:
        with srv.raw(timeout=30) as conn:
            conn.send(request_bytes("POST", f"/v1/echo?delay_ms={delay_ms}", json.dumps(doc).encode()))
            result["sent"] = time.monotonic()
            resp = conn.read_response()
            result["status"] = resp.status
            result["body"] = resp.body
            result["headers"] = resp.headers
    except Exception as e:  # noqa: BLE001 - reported by the test
        result["error"] = repr(e)
    finally:
        result["elapsed"] = time.monotonic() - started
        result["done"] = time.monotonic()


def connect_refused(port: int) -> bool:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
    except ConnectionRefusedError:
        return True
    s.close()
    return False


class GracefulShutdown(unittest.TestCase):
    def test_in_flight_request_completes_and_new_connections_refused(self):
        srv = BasaltServer()
        srv.start()
        self.addCleanup(srv.close)
        result: dict = {}
        t = threading.Thread(target=delayed_echo, args=(srv, 1500, {"inflight": True, "n": 1}, result), daemon=True)
        t.start()
        # Poll until the server is handling the request (instead of a fixed sleep), then give it ~200 ms.
        wait_until(lambda: in_flight(srv) >= 1, 5, what="the delayed request to be in flight")
        time.sleep(0.2)
        signalled = time.monotonic()
        srv.send_signal(signal.SIGTERM)

        refused_at = wait_until(lambda: connect_refused(srv.port) and time.monotonic(), 1.0, interval=0.02,
                                what="new connections to be refused after SIGTERM")
        # Once refused, it stays refused.
        for _ in range(5):
            self.assertTrue(connect_refused(srv.port))
            time.sleep(0.02)

        t.join(timeout=15)
        self.assertFalse(t.is_alive(), "in-flight request never finished")
        self.assertNotIn("error", result, result)
        self.assertEqual(result.get("status"), 200, result)
        self.assertEqual(json.loads(result["body"]), {"inflight": True, "n": 1})
        self.assertGreaterEqual(result["elapsed"], 1.4)
        self.assertLess(refused_at, result["done"], "new connections were accepted while draining")
        try:
            code = srv.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.fail("basalt did not exit within 5 s of the in-flight request finishing")
        self.assertEqual(code, 0, srv.stderr_text()[-2000:])
        self.assertLess(time.monotonic() - signalled, 7)

    def test_many_in_flight_requests_all_answered(self):
        srv = BasaltServer()
        srv.start()
        self.addCleanup(srv.close)
        results = [dict() for _ in range(20)]
        threads = [threading.Thread(target=delayed_echo, args=(srv, 800 + 50 * i, {"i": i}, results[i]), daemon=True)
                   for i in range(len(results))]
        for t in threads:
            t.start()
        wait_until(lambda: in_flight(srv) >= len(results), 5, what="all delayed requests in flight")
        srv.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=15)
        for i, r in enumerate(results):
            with self.subTest(i=i):
                self.assertNotIn("error", r, r)
                self.assertEqual(r.get("status"), 200, r)
                self.assertEqual(json.loads(r["body"]), {"i": i})
        self.assertEqual(srv.wait(timeout=5), 0)

    def test_idle_keepalive_does_not_delay_exit(self):
        srv = BasaltServer(sets={"server.shutdown_grace_ms": 10000})
        srv.start()
        self.addCleanup(srv.close)
        with srv.raw() as conn:
            conn.send(request_bytes("GET", "/healthz"))
            self.assertEqual(conn.read_response().status, 200)
            started = time.monotonic()
            srv.send_signal(signal.SIGTERM)
            self.assertTrue(conn.closed_by_peer(5), "idle keep-alive connection not closed on shutdown")
            code = srv.wait(timeout=5)
            self.assertEqual(code, 0)
            self.assertLess(time.monotonic() - started, 3.0, "an idle connection held up the shutdown")

    def test_sigint_exits_zero(self):
        srv = BasaltServer()
        srv.start()
        self.addCleanup(srv.close)
        srv.send_signal(signal.SIGINT)
        self.assertEqual(srv.wait(timeout=5), 0)

    def test_grace_period_bounds_shutdown(self):
        srv = BasaltServer(sets={"server.shutdown_grace_ms": 500})
        srv.start()
        self.addCleanup(srv.close)
        result: dict = {}
        t = threading.Thread(target=delayed_echo, args=(srv, 8000, {"slow": True}, result), daemon=True)
        t.start()
        wait_until(lambda: in_flight(srv) >= 1, 5, what="the delayed request to be in flight")
        started = time.monotonic()
        srv.send_signal(signal.SIGTERM)
        try:
            code = srv.wait(timeout=6)
        except subprocess.TimeoutExpired:
            self.fail("basalt ignored shutdown_grace_ms=500 with an 8 s request in flight")
        self.assertEqual(code, 0)
        self.assertLess(time.monotonic() - started, 4.0)
        t.join(timeout=5)
        self.assertNotEqual(result.get("status"), 200, "an 8 s request cannot have completed")


if __name__ == "__main__":
    unittest.main()
