"""1,000 concurrent keep-alive connections, each answered twice on the same socket."""

import json
import selectors
import socket
import time
import unittest

from basalt_proc import BasaltServer, parse_metrics, raise_nofile, request_bytes

N = 1000


class Pending:
    __slots__ = ("sock", "index", "buf", "response")

    def __init__(self, sock: socket.socket, index: int):
        self.sock = sock
        self.index = index
        self.buf = b""
        self.response = None


def parse_one(buf: bytes):
    """Returns (status, headers, body) when `buf` holds one whole Content-Length response, else None."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    lines = buf[:head_end].decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    if len(buf) < head_end + 4 + length:
        return None
    return status, headers, buf[head_end + 4:head_end + 4 + length]


class ManyKeepAliveConnections(unittest.TestCase):
    def setUp(self):
        limit = raise_nofile(2 * N + 256)
        if limit < N + 64:
            self.skipTest(f"RLIMIT_NOFILE too low ({limit}) for {N} connections")
        self.srv = BasaltServer()  # started after raising the limit: the child inherits it
        self.srv.start()
        self.socks: "list[socket.socket]" = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        self.srv.close()

    def round_trip(self, round_no: int, deadline: float) -> None:
        sel = selectors.DefaultSelector()
        pending = {}
        try:
            for i, s in enumerate(self.socks):
                data = request_bytes("POST", "/v1/echo", json.dumps({"conn": i, "round": round_no}).encode(),
                                     {"X-Request-Id": f"c{i}-r{round_no}"})
                sent = s.send(data)
                self.assertEqual(sent, len(data))
                p = Pending(s, i)
                pending[s.fileno()] = p
                sel.register(s, selectors.EVENT_READ, p)
            while pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.fail(f"round {round_no}: {len(pending)} of {N} responses missing at the deadline")
                for key, _ in sel.select(timeout=min(left, 1.0)):
                    p: Pending = key.data
                    try:
                        chunk = p.sock.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except ConnectionResetError:
                        chunk = b""
                    if not chunk:
                        self.fail(f"round {round_no}: connection {p.index} closed by the server")
                    p.buf += chunk
                    parsed = parse_one(p.buf)
                    if parsed is None:
                        continue
                    status, headers, body = parsed
                    self.assertEqual(status, 200, (p.index, p.buf[:300]))
                    self.assertEqual(json.loads(body), {"conn": p.index, "round": round_no})
                    self.assertEqual(headers.get("x-request-id"), f"c{p.index}-r{round_no}")
                    self.assertNotEqual(headers.get("connection", "").lower(), "close")
                    sel.unregister(p.sock)
                    del pending[p.sock.fileno()]
        finally:
            sel.close()

    def test_thousand_keepalive_connections(self):
        started = time.monotonic()
        deadline = started + 60
        for _ in range(N):
            s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            self.socks.append(s)
        connected = time.monotonic()
        self.round_trip(1, deadline)
        first = time.monotonic()

        # All of them are open at once, as the server sees it.
        status, _, body = self.srv.request("GET", "/metrics")
        self.assertEqual(status, 200)
        gauge = parse_metrics(body.decode()).get("basalt_http_open_connections", [({}, 0)])[0][1]
        self.assertGreaterEqual(gauge, N, "basalt_http_open_connections below the connections held")

        self.round_trip(2, deadline)  # same sockets: keep-alive
        done = time.monotonic()
        print(f"\n{N} connections: connect {connected - started:.2f}s, round 1 {first - connected:.2f}s, "
              f"round 2 {done - first:.2f}s (open_connections gauge {gauge:.0f})")
        self.assertEqual(self.srv.request("GET", "/healthz")[0], 200)
        self.assertLess(done - started, 60)


if __name__ == "__main__":
    unittest.main()
