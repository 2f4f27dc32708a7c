"""Fairness across tenants: A's 10,000 queued requests do not delay B's 10.

How the backlog is kept: both tenants call the same model, an alias to a fake upstream
that answers after 50 ms, and the server runs 2 workers with async.model_concurrency 2,
so it completes at most ~40 requests/s. A submits 10,000 requests from 8 keep-alive
connections (several hundred per second, so A's backlog is thousands deep when it is
done), then B submits 10. With leasing round-robin across tenants, B's 10 need ~20
leases (well under a second); first-in-first-out would make them wait for all of A's
(minutes). The test asserts that when B's last request completes, A still has a backlog:
GET /v1/queues/stats as A shows genai depth > 0, and the fake upstream has seen fewer
than 10,000 of A's calls. The fake tags each call with its tenant from the prompt, which
also measures how many of A's calls ran while B waited.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import unittest

from basalt_proc import BasaltServer
from fake_upstreams import Answer, FakeUpstream
from test_async import TERMINAL, Client, api_keys, chat, key_for, write_config

A_COUNT = 10_000
B_COUNT = 10
SUBMIT_THREADS = 8


class Fairness(unittest.TestCase):
    def test_small_tenant_is_not_starved(self):
        fake = FakeUpstream("fair").start()
        fake.script(default=Answer("fair answer", first_delay=0.05))
        config = write_config({
            "providers": [{"name": "fairp", "type": "openai", "base_url": fake.openai_base_url,
                           "api_key": "sk-fair", "max_concurrency": 16}],
            "models": {"aliases": [{"name": "fair", "targets": [{"provider": "fairp", "model": "m"}]}]},
            "router": {"max_attempts": 1}})
        sets = {"async.workers": 2, "async.model_concurrency": 2, "auth.api_keys": api_keys("tenantA", "tenantB")}
        try:
            with BasaltServer(sets=sets, extra_args=["--config", config]) as srv:
                self.run_fairness(srv, fake)
        finally:
            fake.close()
            os.unlink(config)

    def calls_from(self, fake: FakeUpstream, tag: bytes) -> int:
        with fake._lock:
            return sum(1 for r in fake.requests if tag in r.body)

    def submit_a(self, srv: BasaltServer) -> "list[str]":
        ids: "list[str]" = []
        failures: "list[str]" = []
        lock = threading.Lock()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key_for('tenantA')}"}

        def worker(n: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            try:
                for i in range(n, A_COUNT, SUBMIT_THREADS):
                    body = json.dumps(chat(f"tenant-A request {i}", model="fair"))
                    for _ in range(50):
                        conn.request("POST", "/v1/async/invocations", body, headers)
                        resp = conn.getresponse()
                        data = resp.read()
                        if resp.status == 429:  # a full queue: honour Retry-After
                            time.sleep(min(float(resp.getheader("Retry-After") or 1), 2))
                            continue
                        break
                    if resp.status != 202:
                        with lock:
                            failures.append(f"{resp.status} {data[:200]!r}")
                        return
                    with lock:
                        ids.append(json.loads(data)["request_id"])
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    failures.append(repr(e))
            finally:
                conn.close()

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(SUBMIT_THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)
        self.assertEqual(failures, [], "tenant A's submissions failed")
        self.assertEqual(len(ids), A_COUNT)
        return ids

    def a_depth(self, a: Client) -> int:
        status, _, doc = a.call("GET", "/v1/queues/stats")
        self.assertEqual(status, 200, doc)
        genai = [q for q in doc["queues"] if q.get("queue") == "genai" and q.get("tenant") == "tenantA"]
        self.assertEqual(len(genai), 1, doc)
        return genai[0]["depth"]

    def run_fairness(self, srv: BasaltServer, fake: FakeUpstream) -> None:
        a, b = Client(srv, "tenantA"), Client(srv, "tenantB")
        t0 = time.monotonic()
        self.submit_a(srv)
        submit_s = time.monotonic() - t0
        depth_before = self.a_depth(a)
        a_calls_before = self.calls_from(fake, b"tenant-A")
        print(f"\nfairness: A submitted {A_COUNT} in {submit_s:.1f} s ({A_COUNT / submit_s:.0f}/s); "
              f"A's depth {depth_before}, A's model calls so far {a_calls_before}")
        self.assertGreater(depth_before, 1000, "A's backlog must be deep before B submits, or the test "
                                               "proves nothing (the drain is ~40/s)")

        t_b = time.monotonic()
        b_ids = [b.submit_ok(chat(f"tenant-B request {i}", model="fair")) for i in range(B_COUNT)]
        pending = set(b_ids)
        deadline = time.monotonic() + 60
        while pending:
            for rid in list(pending):
                rec = b.record(rid)
                if rec["status"] in TERMINAL:
                    self.assertEqual(rec["status"], "completed", rec)
                    pending.discard(rid)
            if pending and time.monotonic() > deadline:
                self.fail(f"{len(pending)} of B's {B_COUNT} requests did not complete within 60 s "
                          f"(A's depth now {self.a_depth(a)}): B is starved")
            time.sleep(0.05)
        b_latency = time.monotonic() - t_b
        a_calls_after = self.calls_from(fake, b"tenant-A")
        depth_after = self.a_depth(a)
        print(f"fairness: B's {B_COUNT} completed in {b_latency:.2f} s; meanwhile A made "
              f"{a_calls_after - a_calls_before} model calls; A's depth now {depth_after}")
        self.assertEqual(self.calls_from(fake, b"tenant-B"), B_COUNT)
        self.assertGreater(depth_after, 0, "A's backlog drained before B finished: B waited behind A")
        self.assertLess(a_calls_after, A_COUNT, "all of A's requests ran before B's last completed")
        # Round robin serves B's 10 within a few dozen of A's; FIFO would run thousands first.
        self.assertLess(a_calls_after - a_calls_before, 500,
                        "A's requests ran ahead of B's (the lease order is not round robin)")
