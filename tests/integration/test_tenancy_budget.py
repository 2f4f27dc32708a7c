"""Budgets under concurrency, black-box: 200 concurrent chat requests against a monthly
budget that fits about 50 worst cases. Total settled spend never exceeds the budget, the
refusals are 429 budget_exceeded, and the admitted count is at least what fits at the
worst case (the builtin model uses less than its reservation, so releases admit more).
The same with a cost budget (models.prices), and for async jobs: refusals fail the job
with budget_exceeded after one attempt, never retried.

The worst case the gate reserves (src/tenancy/model_gate.cc InputUpperBound): the UTF-8
bytes of every message text + 16 per message + 16, plus max_tokens.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import unittest

from basalt_proc import BasaltServer, wait_until
from tenancy_harness import Principal, TERMINAL, chat_body, key_for, tenancy_config, write_config

PROMPT = "The sky is blue. Bananas are rich in potassium. What colour is the sky?"
MAX_TOKENS = 64
WORST = len(PROMPT.encode()) + 16 + 16 + MAX_TOKENS
# The builtin model answers this prompt with 26 tokens, far below the 167 reserved, and
# settling releases the difference at once, so a budget that fits 50 worst cases (~321
# real answers) would admit all 200. 25 worst cases (~162 real answers) makes the
# budget bind while the reservations still decide who is admitted at the peak.
FITS = 25
TOKEN_BUDGET = FITS * WORST + WORST // 2
PRICE = 1000.0  # USD per million tokens, input and output: 0.001 USD a token
WORST_USD = WORST * PRICE / 1e6
COST_BUDGET = round(FITS * WORST_USD + WORST_USD / 2, 6)
ASYNC_FITS = 10
ASYNC_BUDGET = ASYNC_FITS * WORST + WORST // 2


def fire(port: int, tenant: str, n: int) -> "list[tuple[int, dict]]":
    """n chat requests at once (one thread and connection each); [(status, body)]."""
    barrier = threading.Barrier(n)
    out: "list[tuple[int, dict]]" = [None] * n  # type: ignore[list-item]
    body = json.dumps(chat_body(PROMPT, max_tokens=MAX_TOKENS)).encode()

    def one(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.connect()
            barrier.wait(30)
            conn.request("POST", "/v1/chat/completions", body=body,
                         headers={"Authorization": f"Bearer {key_for(tenant)}", "Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            try:
                out[i] = (resp.status, json.loads(data))
            except ValueError:
                out[i] = (resp.status, {"raw": data[:300].decode("latin-1")})
        except Exception as e:  # noqa: BLE001 - reported as a result
            out[i] = (0, {"exception": repr(e)})
        finally:
            conn.close()
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return out


class Budget(unittest.TestCase):
    srv: BasaltServer

    @classmethod
    def setUpClass(cls):
        docs = {"spender": {"budgets": {"tokens_per_month": TOKEN_BUDGET}},
                "payer": {"budgets": {"cost_usd_per_month": COST_BUDGET}},
                "asyncer": {"budgets": {"tokens_per_month": ASYNC_BUDGET}},
                "audited": {"budgets": {"tokens_per_month": WORST - 1}}}
        extra = {"models": {"prices": [{"model": "builtin*", "input_per_million_usd": PRICE,
                                        "output_per_million_usd": PRICE}]},
                 "async": {"retry_backoff_base_ms": 50, "retry_backoff_cap_ms": 100}}
        cls.cfg = write_config(tenancy_config(list(docs), tenant_docs=docs, sigv4=False, extra=extra))
        cls.srv = BasaltServer(extra_args=["--config", cls.cfg])
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        os.unlink(cls.cfg)

    def usage(self, tenant: str) -> dict:
        status, _, doc = Principal(self.srv, tenant).call("GET", "/v1/tenant")
        self.assertEqual(status, 200, doc)
        return doc["budget_usage"]

    def check_outcomes(self, results) -> "tuple[list[dict], list[dict]]":
        ok = [b for s, b in results if s == 200]
        refused = [b for s, b in results if s == 429]
        other = [(s, b) for s, b in results if s not in (200, 429)]
        self.assertEqual(other, [], "every request is admitted (200) or refused (429)")
        for b in refused:
            self.assertEqual(b.get("error", {}).get("code"), "budget_exceeded", b)
        return ok, refused

    def test_tokens_budget_200_concurrent(self):
        results = fire(self.srv.port, "spender", 200)
        ok, refused = self.check_outcomes(results)
        u = self.usage("spender")
        spent = u["spent_tokens"]
        used = sum(b["usage"]["total_tokens"] for b in ok)
        print(f"\n[budget tokens] worst {WORST}, budget {TOKEN_BUDGET}: admitted {len(ok)}, refused {len(refused)}, "
              f"spent {spent}, sum of usage {used}, usage {u}", flush=True)
        self.assertLessEqual(spent, TOKEN_BUDGET, u)
        self.assertEqual(spent, used, "spent must be the sum of the admitted answers' usage")
        self.assertEqual(u["reserved_tokens"], 0, f"no reservation left after every answer: {u}")
        self.assertGreaterEqual(len(ok), TOKEN_BUDGET // WORST, "fewer admitted than fit at the worst case")
        self.assertGreater(len(refused), 0, "200 requests cannot all fit")
        # Once refused at the worst case, the next request is refused too (nothing to release).
        status, _, doc = Principal(self.srv, "spender").call("POST", "/v1/chat/completions",
                                                             chat_body(PROMPT, max_tokens=MAX_TOKENS))
        if TOKEN_BUDGET - spent < WORST:
            self.assertEqual((status, doc.get("error", {}).get("code")), (429, "budget_exceeded"), doc)

    def test_cost_budget_200_concurrent(self):
        results = fire(self.srv.port, "payer", 200)
        ok, refused = self.check_outcomes(results)
        u = self.usage("payer")
        spent = u["spent_usd"]
        used = sum(b["usage"]["total_tokens"] for b in ok) * PRICE / 1e6
        print(f"\n[budget cost] worst ${WORST_USD:.6f}, budget ${COST_BUDGET}: admitted {len(ok)}, "
              f"refused {len(refused)}, spent ${spent}, by usage ${used:.6f}", flush=True)
        self.assertLessEqual(spent, COST_BUDGET + 1e-9, u)
        self.assertAlmostEqual(spent, used, places=6)
        self.assertGreaterEqual(len(ok), int(COST_BUDGET / WORST_USD + 1e-9), "fewer admitted than fit")
        self.assertGreater(len(refused), 0)

    def test_async_jobs_against_a_small_budget(self):
        p = Principal(self.srv, "asyncer")
        ids = [p.submit_ok(chat_body(PROMPT, max_tokens=MAX_TOKENS)) for _ in range(100)]
        recs = [p.wait_status(rid, TERMINAL, timeout=60) for rid in ids]
        completed = [r for r in recs if r["status"] == "completed"]
        failed = [r for r in recs if r["status"] == "failed"]
        u = self.usage("asyncer")
        print(f"\n[budget async] budget {ASYNC_BUDGET}: completed {len(completed)}, failed {len(failed)}, "
              f"usage {u}", flush=True)
        self.assertEqual(len(completed) + len(failed), 100, [r["status"] for r in recs])
        for r in failed:
            self.assertEqual(r.get("error", {}).get("code"), "budget_exceeded", r)
            self.assertEqual(r.get("attempts"), 1, f"budget_exceeded must not be retried: {r}")
        self.assertLessEqual(u["spent_tokens"], ASYNC_BUDGET, u)
        self.assertEqual(u["spent_tokens"], sum(r["result"]["usage"]["total_tokens"] for r in completed), u)
        self.assertGreaterEqual(len(completed), ASYNC_FITS)
        self.assertGreater(len(failed), 0)

    def test_budget_refusal_is_audited(self):
        p = Principal(self.srv, "audited")  # its budget is one token short of one worst case
        status, _, doc = p.call("POST", "/v1/chat/completions", chat_body(PROMPT, max_tokens=MAX_TOKENS))
        self.assertEqual((status, doc.get("error", {}).get("code")), (429, "budget_exceeded"), doc)

        def refused():
            status, _, doc = p.call("GET", "/v1/audit?limit=1000")
            assert status == 200, doc
            return [e for e in doc["data"] if e.get("action") == "budget.refused"]
        entries = wait_until(refused, 5, what="a budget.refused audit entry")
        self.assertEqual(entries[0].get("tenant", "audited"), "audited", entries[0])
        self.assertEqual(self.usage("audited")["spent_tokens"], 0)


if __name__ == "__main__":
    unittest.main()
