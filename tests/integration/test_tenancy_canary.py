"""Encryption at rest, black-box: a unique canary string goes in through every API that
takes content (chat plain and streamed, embeddings, messages, async invocations with
metadata and a signed callback, batches, rules, custom events with a webhook rule,
Bedrock Converse and StartAsyncInvoke); the jobs finish (the builtin model answers with
the prompt's sentences, so results carry the canary too); the server stops; then no file
under data_dir (WAL and SHM files and keys/ included) holds the canary's raw bytes. The
control run with tenancy.encryption=false finds it, so the scan can fail.

Then tampering with sealed job rows on a stopped server: a flipped bit, and one job's
sealed payload copied into another job's row, both make GET of that invocation an error,
never another job's content, while the other invocations still read.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import sqlite3
import unittest

from basalt_proc import BasaltServer, wait_until
from tenancy_harness import Principal, chat_body, tenancy_config, write_config
from test_async import SameDirServer
from webhook_receiver import WebhookReceiver

TENANTS = ["vault", "other"]


def scan(data_dir: str, needle: bytes) -> "list[str]":
    """Every file under data_dir whose raw bytes contain `needle`."""
    hits = []
    for root, _, files in os.walk(data_dir):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                if needle in f.read():
                    hits.append(os.path.relpath(path, data_dir))
    return sorted(hits)


def prompt(canary: str) -> str:
    return f"The secret word is {canary}. Bananas are yellow. What is the secret word?"


def exercise(test: unittest.TestCase, srv: BasaltServer, canary: str, hook: WebhookReceiver) -> "list[str]":
    """Puts the canary through every content API as tenant vault; returns the async ids."""
    p = Principal(srv, "vault")
    text = prompt(canary)
    status, _, doc = p.call("POST", "/v1/chat/completions", chat_body(text))
    test.assertEqual(status, 200, doc)
    test.assertIn(canary, doc["choices"][0]["message"]["content"], "the builtin should echo the sentence")
    status, _, raw = p.call("POST", "/v1/chat/completions", chat_body(text, stream=True))
    test.assertEqual(status, 200, raw)
    status, _, doc = p.call("POST", "/v1/embeddings", {"model": "builtin-embed", "input": [text, canary]})
    test.assertEqual(status, 200, doc)
    status, _, doc = p.call("POST", "/v1/messages", chat_body(text), headers={"anthropic-version": "2023-06-01"})
    test.assertEqual(status, 200, doc)

    ids = [p.submit_ok(chat_body(text, metadata={"note": canary}, callback_url=hook.url("/cb"),
                                 callback_secret=canary))]
    lines = [{"recordId": f"r{i}", "modelInput": {"max_tokens": 64, "messages": [
        {"role": "user", "content": text}]}} for i in range(2)]
    status, _, doc = p.call("POST", "/v1/batches?model=builtin&name=canary-batch",
                            raw="\n".join(json.dumps(x) for x in lines).encode(),
                            headers={"Content-Type": "application/jsonl"})
    test.assertEqual(status, 202, doc)
    batch = doc["batch_id"]

    # Rules: the canary in the description and the pattern; a webhook and a model target.
    status, _, doc = p.call("POST", "/v1/rules", {
        "name": "canary-rule", "description": f"watch {canary}",
        "event_pattern": {"source": ["canary.app"], "detail": {"word": [canary]}},
        "targets": [{"type": "webhook", "url": hook.url("/rule"), "secret": canary},
                    {"type": "model", "model": "builtin", "prompt_template": "{{detail.text}}"}]})
    test.assertEqual(status, 201, doc)
    p.publish({"source": "canary.app", "detail-type": "canary.evt", "detail": {"word": canary, "text": text}})

    akid_doc = {"messages": [{"role": "user", "content": [{"text": text}]}], "inferenceConfig": {"maxTokens": 64}}
    status, _, doc = p.bedrock("POST", "/model/builtin/converse", obj=akid_doc)
    test.assertEqual(status, 200, doc)
    status, _, doc = p.bedrock("POST", "/async-invoke", obj={
        "modelId": "builtin", "clientRequestToken": "canary-token",
        "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                       "messages": [{"role": "user", "content": text}]},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://bucket/{canary}/"}}})
    test.assertEqual(status, 200, doc)
    ids.append(doc["invocationArn"].rsplit("/", 1)[-1])

    # Everything finishes: the callback and the rule's webhook arrive, the model target runs.
    hook.wait_for(1, path="/cb", timeout=20)
    hook.wait_for(1, path="/rule", timeout=20)
    wait_until(lambda: p.call("GET", f"/v1/batches/{batch}")[2].get("status") == "completed", 30, what="batch")
    for rid in ids:
        rec = p.wait_status(rid)
        test.assertEqual(rec["status"], "completed", rec)
    test.assertIn(canary, json.dumps(p.record(ids[0])["result"]), "the result should carry the canary")

    def all_done():
        _, _, doc = p.call("GET", "/v1/async/invocations?limit=500")
        recs = doc["data"]
        return len(recs) >= len(ids) + 3 and all(r["status"] == "completed" for r in recs)
    wait_until(all_done, 20, what="every invocation (batch records, model target) to complete")
    return ids


class Canary(unittest.TestCase):
    def run_flow(self, encryption: bool) -> "tuple[str, list[str]]":
        canary = "CANARY" + secrets.token_hex(12)
        cfg = write_config(tenancy_config(TENANTS))
        sets = {"async.webhook_backoff_base_ms": 50, "async.webhook_backoff_cap_ms": 100}
        if not encryption:
            sets["tenancy.encryption"] = False
        srv = BasaltServer(sets=sets, extra_args=["--config", cfg])
        try:
            with WebhookReceiver(secret=canary) as hook:
                srv.start()
                exercise(self, srv, canary, hook)
                self.assertEqual(srv.stop(), 0, srv.stderr_text()[-2000:])
            files = scan(srv.data_dir, b"")  # every file
            hits = scan(srv.data_dir, canary.encode())
            hex_hits = scan(srv.data_dir, canary.encode().hex().encode())
            b64_hits = scan(srv.data_dir, base64.b64encode(canary.encode())[:24])
            print(f"\n[canary encryption={encryption}] {canary}: {len(files)} files {files}; raw hits {hits}; "
                  f"hex hits {hex_hits}; base64 hits {b64_hits}", flush=True)
            return canary, hits
        finally:
            srv.close()
            os.unlink(cfg)

    def test_canary_never_reaches_disk_in_the_clear(self):
        canary, hits = self.run_flow(encryption=True)
        self.assertEqual(hits, [], f"{canary} found in the clear under data_dir: {hits}")

    def test_control_without_encryption_finds_the_canary(self):
        canary, hits = self.run_flow(encryption=False)
        self.assertIn("bus.db", " ".join(hits), f"the unencrypted control should find {canary} in bus.db: {hits}")


class SealedRowTampering(unittest.TestCase):
    """Tampering with bus.db job rows while the server is stopped."""

    @classmethod
    def setUpClass(cls):
        cls.cfg = write_config(tenancy_config(TENANTS))
        cls.first = BasaltServer(extra_args=["--config", cls.cfg])
        cls.first.start()
        p = Principal(cls.first, "vault")
        cls.texts = [f"Job {i} says {secrets.token_hex(8)}. What does job {i} say?" for i in range(4)]
        cls.ids = [p.submit_ok(chat_body(t, metadata={"i": i})) for i, t in enumerate(cls.texts)]
        for rid in cls.ids:
            p.wait_status(rid)
        cls.first.stop()
        cls.data_dir = cls.first.data_dir

    @classmethod
    def tearDownClass(cls):
        cls.first.close()
        os.unlink(cls.cfg)

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(os.path.join(self.data_dir, "bus.db"))

    def restart(self) -> BasaltServer:
        srv = SameDirServer(self.data_dir, extra_args=["--config", self.cfg])
        srv.start()
        self.addCleanup(srv.close)
        return srv

    def get(self, srv, rid):
        return Principal(srv, "vault").call("GET", f"/v1/async/invocations/{rid}")

    def test_a_flipped_bit_is_an_error_and_others_still_read(self):
        victim = self.ids[0]
        with self.db() as c:
            (payload,) = c.execute("SELECT payload FROM jobs WHERE id = ?", (victim,)).fetchone()
            self.assertTrue(payload.startswith("enc1:"), payload[:40])
            blob = bytearray(base64.b64decode(payload[5:]))
            blob[len(blob) // 2] ^= 0x04
            c.execute("UPDATE jobs SET payload = ? WHERE id = ?",
                      ("enc1:" + base64.b64encode(bytes(blob)).decode(), victim))
        srv = self.restart()
        status, _, doc = self.get(srv, victim)
        print(f"\n[tamper bit flip] GET {victim}: {status} {doc}", flush=True)
        self.assertGreaterEqual(status, 500, f"a tampered sealed payload must not read: {status} {doc}")
        self.assertIsInstance(doc, dict, doc)
        self.assertTrue(doc.get("error", {}).get("message"), f"the error should say what failed: {doc}")
        self.assertNotIn(self.texts[0], json.dumps(doc))
        for rid in self.ids[2:]:
            status, _, doc = self.get(srv, rid)
            self.assertEqual((status, doc.get("status")), (200, "completed"), doc)

    def test_a_payload_moved_to_another_row_does_not_authenticate(self):
        source, victim = self.ids[3], self.ids[1]
        with self.db() as c:
            (payload,) = c.execute("SELECT payload FROM jobs WHERE id = ?", (source,)).fetchone()
            c.execute("UPDATE jobs SET payload = ? WHERE id = ?", (payload, victim))
        srv = self.restart()
        status, _, doc = self.get(srv, victim)
        text = json.dumps(doc) if isinstance(doc, dict) else str(doc)
        print(f"\n[tamper moved payload] GET {victim}: {status} {text[:300]}", flush=True)
        self.assertNotIn(self.texts[3], text, f"{victim} shows {source}'s content: {text[:600]}")
        self.assertNotIn('"i": 3', text, f"{victim} shows {source}'s metadata: {text[:600]}")
        self.assertGreaterEqual(status, 500, f"a payload sealed for another row must not authenticate: {doc}")
        status, _, doc = self.get(srv, source)
        self.assertEqual((status, doc.get("status")), (200, "completed"), doc)


if __name__ == "__main__":
    unittest.main()
