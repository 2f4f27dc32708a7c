"""Crash test for the async queue: SIGKILL under submission load, at least 20 times.

One data directory, many lives: `basalt serve` (workers on) is started on it, three
threads submit async invocations as fast as the server takes them and a fourth cancels
some, then the server is SIGKILLed at a random moment 0.2-2 s later and started again on
the same data directory (a new port each time). The model is a fake upstream that
answers after 30 ms, so kills land while model calls are in flight.

Every request id that got a 202 was acknowledged: the contract says it is on disk. After
the last cycle one more server drains the queue, and the test asserts, for every
acknowledged id: the record exists (nothing lost), it is in a terminal state, and its
event history (GET .../events, which replays and ends after the terminal event) holds
exactly one `received` event and exactly one terminal event, matching the record's
status. An id whose cancel answered 200 must end `cancelled`.

Runtime: about 1 minute here (30 cycles of ~1.3 s, then the drain and the checks); the
cycles stop at 20 when the machine is slow, to stay within ~3 minutes.
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import random
import shutil
import tempfile
import threading
import time
import unittest

from basalt_proc import BasaltServer
from fake_upstreams import Answer, Slow
from test_async import (TERMINAL, TERMINAL_EVENTS, Client, SameDirServer, chat, quiet_fake,
                        write_config)

CYCLES = 30
SUBMITTERS = 3
FINAL_DRAIN_S = 90
TOTAL_BUDGET_S = 170  # the cycles stop early (at >= 20) if the machine is slow


class Load:
    """Submitter and canceller threads that follow the server across restarts."""

    def __init__(self):
        self.lock = threading.Lock()
        self.port: "int | None" = None
        self.acked: "list[str]" = []
        self.cancel_ok: "set[str]" = set()
        self.stop = threading.Event()
        self.errors = collections.Counter()
        self.statuses = collections.Counter()
        self.threads: "list[threading.Thread]" = []

    def set_port(self, port: "int | None") -> None:
        with self.lock:
            self.port = port

    def _conn(self):
        with self.lock:
            port = self.port
        if port is None:
            return None
        return http.client.HTTPConnection("127.0.0.1", port, timeout=5)

    def submitter(self, n: int) -> None:
        rng = random.Random(n)
        conn = None
        i = 0
        while not self.stop.is_set():
            if conn is None:
                conn = self._conn()
                if conn is None:
                    time.sleep(0.02)
                    continue
            i += 1
            body = chat(f"crash test {n}-{i}. The sky is blue. What colour is the sky?",
                        model="crashy" if rng.random() < 0.8 else "builtin", priority=rng.randint(0, 2))
            try:
                conn.request("POST", "/v1/async/invocations", json.dumps(body),
                             {"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                with self.lock:
                    self.statuses[resp.status] += 1
                if resp.status == 202:
                    rid = json.loads(data)["request_id"]
                    with self.lock:
                        self.acked.append(rid)
                elif resp.status == 429:
                    time.sleep(0.05)
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.errors[type(e).__name__] += 1
                conn.close()
                conn = None
                time.sleep(0.02)
                continue
            time.sleep(0.01)
        if conn is not None:
            conn.close()

    def canceller(self) -> None:
        rng = random.Random(99)
        while not self.stop.wait(0.15):
            with self.lock:
                rid = rng.choice(self.acked[-50:]) if self.acked else None
            conn = self._conn()
            if rid is None or conn is None:
                continue
            try:
                conn.request("POST", f"/v1/async/invocations/{rid}/cancel", b"", {"Content-Length": "0"})
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    with self.lock:
                        self.cancel_ok.add(rid)
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()

    def start(self) -> None:
        self.threads = [threading.Thread(target=self.submitter, args=(n,), daemon=True) for n in range(SUBMITTERS)]
        self.threads.append(threading.Thread(target=self.canceller, daemon=True))
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(15)


class CrashLoop(unittest.TestCase):
    def test_sigkill_loses_nothing(self):
        t_start = time.monotonic()
        fake = quiet_fake("crashy")  # resets by the killed server are the point
        fake.script(default=Slow(0.03, then=Answer("crash-safe answer")))
        config = write_config({
            "providers": [{"name": "crashp", "type": "openai", "base_url": fake.openai_base_url,
                           "api_key": "sk-crash"}],
            "models": {"aliases": [{"name": "crashy", "targets": [{"provider": "crashp", "model": "m"}]}]},
            "router": {"max_attempts": 1}})
        root = tempfile.mkdtemp(prefix="basalt-crash-")
        data_dir = os.path.join(root, "data")
        sets = {"async.workers": 8, "async.model_concurrency": 8, "async.visibility_timeout_ms": 2000,
                "async.retry_backoff_base_ms": 50, "async.retry_backoff_cap_ms": 200}
        load = Load()
        rng = random.Random(int(os.environ.get("BASALT_CRASH_SEED", "0")) or None)
        cycles = 0
        per_cycle: "list[int]" = []
        try:
            load.start()
            while cycles < CYCLES:
                if cycles >= 20 and time.monotonic() - t_start > TOTAL_BUDGET_S - FINAL_DRAIN_S:
                    break
                srv = SameDirServer(data_dir, sets=sets, extra_args=["--config", config], start_timeout=30)
                try:
                    srv.start()
                except Exception as e:
                    self.fail(f"restart {cycles} on the same data directory failed: {e}")
                with load.lock:
                    before = len(load.acked)
                load.set_port(srv.port)
                time.sleep(rng.uniform(0.2, 2.0))
                srv.kill()  # SIGKILL
                load.set_port(None)
                code = srv.returncode
                srv.close()
                self.assertEqual(code, -9, f"cycle {cycles}: the server was not SIGKILLed (exit {code})")
                cycles += 1
                with load.lock:
                    per_cycle.append(len(load.acked) - before)
            load.finish()
            acked = list(load.acked)
            interrupted = sum(1 for r in fake.requests if r.closed_at is not None)
            print(f"\ncrash test: {cycles} SIGKILL cycles, {len(acked)} acknowledged submissions "
                  f"(per cycle {per_cycle}), {len(load.cancel_ok)} cancels answered 200, "
                  f"{interrupted} model calls cut by a kill, statuses {dict(load.statuses)}, "
                  f"client errors {dict(load.errors)}")
            self.assertGreaterEqual(cycles, 20)
            self.assertEqual(len(acked), len(set(acked)), "the server acknowledged the same id twice")
            self.assertGreaterEqual(len(acked), 200, "too little load to mean anything")
            self.assertGreaterEqual(sum(1 for n in per_cycle if n > 0), 15,
                                    f"most cycles should acknowledge submissions: {per_cycle}")
            self.assertGreaterEqual(interrupted, 3, "kills should land while model calls are in flight")

            # One more life: drain everything, then check every acknowledged id.
            srv = SameDirServer(data_dir, sets=sets, extra_args=["--config", config], start_timeout=30)
            srv.start()
            try:
                self.check_all(srv, acked, load.cancel_ok)
            finally:
                srv.close()
            print(f"crash test total {time.monotonic() - t_start:.0f} s")
        finally:
            load.finish()
            fake.close()
            os.unlink(config)
            if os.environ.get("BASALT_IT_KEEP") != "1":
                shutil.rmtree(root, ignore_errors=True)

    def check_all(self, srv: BasaltServer, acked: "list[str]", cancel_ok: "set[str]") -> None:
        c = Client(srv, None)
        want = set(acked)
        deadline = time.monotonic() + FINAL_DRAIN_S
        while True:
            records = {r["request_id"]: r for r in c.list_all()}
            missing = want - set(records)
            pending = [rid for rid in want & set(records) if records[rid]["status"] not in TERMINAL]
            if not missing and not pending:
                break
            if missing:
                # A record absent from the list may still answer GET: check before calling it lost.
                lost = [rid for rid in sorted(missing)[:50] if c.call("GET", f"/v1/async/invocations/{rid}")[0] == 404]
                self.assertFalse(lost, f"{len(missing)} acknowledged ids are not listed; of the first 50, "
                                       f"{len(lost)} answer 404 (lost), e.g. {lost[:20]}")
            if time.monotonic() > deadline:
                self.fail(f"after {FINAL_DRAIN_S}s of draining, {len(pending)} acknowledged invocations are not "
                          f"terminal (e.g. {[records[r] for r in pending[:3]]}) and {len(missing)} are not listed")
            time.sleep(0.5)
        by_status = collections.Counter(records[rid]["status"] for rid in want)
        print(f"final states of the acknowledged ids: {dict(by_status)}")

        problems: "list[str]" = []
        lock = threading.Lock()
        ids = sorted(want)

        def check(chunk: "list[str]") -> None:
            for rid in chunk:
                rec = records[rid]
                try:
                    events, _ = c.events(rid, timeout=15)
                except AssertionError as e:
                    with lock:
                        problems.append(f"{rid}: {e}")
                    continue
                names = [e.get("event") for e in events]
                terminal = [n for n in names if n in TERMINAL_EVENTS]
                bad = []
                if names.count("genai.request.received") != 1:
                    bad.append(f"{names.count('genai.request.received')} received events")
                if len(terminal) != 1:
                    bad.append(f"{len(terminal)} terminal events")
                elif terminal[0] != f"genai.request.{rec['status']}":
                    bad.append(f"terminal event {terminal[0]} but record status {rec['status']}")
                elif names[-1] != terminal[0]:
                    bad.append("events after the terminal event")
                if rid in cancel_ok and rec["status"] != "cancelled":
                    bad.append(f"cancel answered 200 but the record ended {rec['status']}")
                if rec["status"] == "completed" and names.count("genai.request.processing") < 1:
                    bad.append("completed without a processing event")
                if bad:
                    with lock:
                        problems.append(f"{rid}: {'; '.join(bad)}; events {names}")

        threads = [threading.Thread(target=check, args=(ids[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse(problems, f"{len(problems)} of {len(ids)} acknowledged invocations break "
                                   f"'terminal exactly once':\n" + "\n".join(problems[:20]))
