"""Cross-tenant isolation as a property, black-box: several tenants declared in a config
file each create objects of every resource type (tenancy_harness.RESOURCE_TYPES); then a
seeded random sequence of principals (every tenant's API key and the admin key) tries
every operation on every object. Properties:

- every read / update / cancel / delete / subscribe of another tenant's object is 404
  (never 403, never 200), the admin key included (on the normal routes it is its own
  tenant "ops");
- every list (with filters that match the object) excludes other tenants' ids, and
  shows the owner its own (so the probe can see a leak);
- after the run every object is unchanged for its owner.

Then: custom events and rule subscriptions, queue stats, usage and audit only show the
caller's tenant, and /v1/admin/* are the named cross-tenant reads.

BASALT_ISO_SEED=N replays a run; BASALT_ISO_STEPS sets the number of steps (default 400).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import unittest
import urllib.parse

from basalt_proc import BasaltServer, wait_until
from tenancy_harness import (ForeignOp, ListProbe, Principal, ResourceType, World, chat_body, ids_of,
                             is_not_found, resource_type, sse_probe, stall_provider_config, stall_upstream,
                             tenancy_config, write_config, RESOURCE_TYPES)
from test_async import EventStream

TENANTS = ["acme", "globex", "initech"]


def inv_lists(model: str, status: str) -> "list[ListProbe]":
    ids = ids_of("data", "request_id")
    return [ListProbe("/v1/async/invocations?limit=500", ids),
            ListProbe(f"/v1/async/invocations?limit=500&status={status}", ids),
            ListProbe(f"/v1/async/invocations?limit=500&model={model}", ids),
            ListProbe(f"/v1/async/invocations?limit=500&status={status}&model={model}", ids)]


def inv_ops(rid: str) -> "list[ForeignOp]":
    return [ForeignOp("read", "GET", f"/v1/async/invocations/{rid}"),
            ForeignOp("cancel", "POST", f"/v1/async/invocations/{rid}/cancel"),
            ForeignOp("subscribe", "GET", f"/v1/async/invocations/{rid}/events", sse=True)]


@resource_type
class CompletedInvocations(ResourceType):
    name = "invocation.completed"

    def create(self, world, owner):
        return owner.submit_ok(chat_body(f"The owner is {owner.tenant}. Who is the owner?",
                                         metadata={"owner": owner.tenant}))

    def settle(self, world, owner, rid):
        assert owner.wait_status(rid)["status"] == "completed"

    def snapshot(self, world, owner, rid):
        return owner.record(rid)

    def foreign_ops(self, rid):
        return inv_ops(rid)

    def list_probes(self, rid):
        return inv_lists("builtin", "completed")


@resource_type
class ProcessingInvocations(ResourceType):
    """Held in `processing` by a model that never answers: a cancel would show."""
    name = "invocation.processing"

    def create(self, world, owner):
        return owner.submit_ok(chat_body("hold this", model="stall", metadata={"owner": owner.tenant}))

    def settle(self, world, owner, rid):
        owner.wait_status(rid, "processing", timeout=15)

    def snapshot(self, world, owner, rid):
        r = owner.record(rid)
        return {k: r.get(k) for k in ("status", "model", "metadata", "attempts", "error", "result")}

    def foreign_ops(self, rid):
        return inv_ops(rid)

    def list_probes(self, rid):
        return inv_lists("stall", "processing")


@resource_type
class DeadLetteredInvocations(ResourceType):
    """An unknown model fails at once (model_not_found, no retry) into the genai DLQ."""
    name = "invocation.dead"

    def create(self, world, owner):
        return owner.submit_ok(chat_body("no such model", model="does-not-exist"))

    def settle(self, world, owner, rid):
        rec = owner.wait_status(rid)
        assert rec["status"] == "failed" and rec["error"]["code"] == "model_not_found", rec

    def snapshot(self, world, owner, rid):
        status, _, doc = owner.call("GET", "/v1/dlq?queue=genai")
        assert status == 200, doc
        return owner.record(rid), rid in ids_of("data", "id")(doc)

    def foreign_ops(self, rid):
        return inv_ops(rid) + [ForeignOp("redrive", "POST", "/v1/dlq/redrive", {"queue": "genai", "ids": [rid]})]

    def list_probes(self, rid):
        return [ListProbe("/v1/dlq?queue=genai", ids_of("data", "id")),
                ListProbe("/v1/dlq", ids_of("data", "id"))] + inv_lists("does-not-exist", "failed")


@resource_type
class Batches(ResourceType):
    name = "batch"

    def create(self, world, owner):
        lines = [{"recordId": f"r{i}", "modelInput": {"max_tokens": 32, "messages": [
            {"role": "user", "content": f"Record {i} belongs to {owner.tenant}. Whose record?"}]}}
            for i in range(2)]
        status, _, doc = owner.call("POST", f"/v1/batches?model=builtin&name=b-{owner.tenant}",
                                    raw="\n".join(json.dumps(x) for x in lines).encode(),
                                    headers={"Content-Type": "application/jsonl"})
        assert status == 202, doc
        return doc["batch_id"]

    def settle(self, world, owner, rid):
        wait_until(lambda: owner.call("GET", f"/v1/batches/{rid}")[2].get("status") == "completed", 30,
                   what=f"batch {rid}")

    def snapshot(self, world, owner, rid):
        _, _, doc = owner.call("GET", f"/v1/batches/{rid}")
        status, _, out = owner.call("GET", f"/v1/batches/{rid}/output")
        return doc, status, out

    def foreign_ops(self, rid):
        return [ForeignOp("read", "GET", f"/v1/batches/{rid}"),
                ForeignOp("read_output", "GET", f"/v1/batches/{rid}/output")]

    def list_probes(self, rid):
        return [ListProbe("/v1/batches", ids_of("data", "batch_id")),
                ListProbe(f"/v1/async/invocations?limit=500&batch_id={rid}", ids_of("data", "batch_id"))]


@resource_type
class Rules(ResourceType):
    name = "rule"

    def create(self, world, owner):
        name = f"iso-{owner.tenant}"
        status, _, doc = owner.call("POST", "/v1/rules", self.body(name, owner.tenant))
        assert status == 201, doc
        return name

    @staticmethod
    def body(name: str, tenant: str, description: "str | None" = None) -> dict:
        return {"name": name, "description": description or f"rule of {tenant}",
                "event_pattern": {"source": [f"src.{tenant}"]}, "targets": [{"type": "sse"}]}

    def snapshot(self, world, owner, rid):
        status, _, doc = owner.call("GET", f"/v1/rules/{rid}")
        return status, doc

    def foreign_ops(self, rid):
        return [ForeignOp("read", "GET", f"/v1/rules/{rid}"),
                ForeignOp("update", "PUT", f"/v1/rules/{rid}", self.body(rid, "attacker", "overwritten"),
                          upsert_cleanup=f"/v1/rules/{rid}"),
                ForeignOp("delete", "DELETE", f"/v1/rules/{rid}"),
                ForeignOp("subscribe", "GET", f"/v1/rules/{rid}/events", sse=True)]

    def list_probes(self, rid):
        return [ListProbe("/v1/rules", ids_of("data", "name"))]


def arn_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


@resource_type
class BedrockAsyncInvocations(ResourceType):
    name = "bedrock.async_invoke"

    def create(self, world, owner):
        req = {"modelId": "builtin", "clientRequestToken": f"tok-{owner.tenant}",
               "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 32,
                              "messages": [{"role": "user", "content": "Bedrock owns this. Who?"}]},
               "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/p/"}}}
        status, _, doc = owner.bedrock("POST", "/async-invoke", obj=req)
        assert status == 200, doc
        world.extras.setdefault("arns", {})[arn_id(doc["invocationArn"])] = doc["invocationArn"]
        return arn_id(doc["invocationArn"])

    def settle(self, world, owner, rid):
        owner.wait_status(rid)

    def snapshot(self, world, owner, rid):
        status, _, doc = owner.bedrock("GET", f"/async-invoke/{rid}")
        return status, doc

    def foreign_ops(self, rid):
        # The ARN form names the owner's account; the bare id does not.
        return [ForeignOp("bedrock_read", "GET", f"/async-invoke/{rid}", bedrock=True),
                ForeignOp("read", "GET", f"/v1/async/invocations/{rid}")]

    def list_probes(self, rid):
        ids = lambda doc: {arn_id(s.get("invocationArn", "")) for s in (doc or {}).get("asyncInvokeSummaries", [])}  # noqa: E731
        return [ListProbe("/async-invoke", ids, bedrock={"maxResults": "100"}),
                ListProbe("/async-invoke", ids, bedrock={"statusEquals": "Completed", "maxResults": "100"})]


@resource_type
class KnowledgeBases(ResourceType):
    """A knowledge base with one indexed document; its text names the owner."""
    name = "knowledge_base"

    def create(self, world, owner):
        status, _, kb = owner.call("POST", "/v1/knowledge-bases", {"name": f"kb-{owner.tenant}"})
        assert status == 201, kb
        docs = {"documents": [{"id": "owner", "text": f"This knowledge base belongs to {owner.tenant}.",
                               "attributes": {"owner": owner.tenant}}]}
        status, _, doc = owner.call("POST", f"/v1/knowledge-bases/{kb['id']}/documents", docs)
        assert status == 202, doc
        return kb["id"]

    def settle(self, world, owner, rid):
        def indexed():
            _, _, doc = owner.call("GET", f"/v1/knowledge-bases/{rid}/documents/owner")
            return isinstance(doc, dict) and doc.get("status") == "INDEXED"
        wait_until(indexed, 30, what=f"knowledge base {rid} indexed")

    def snapshot(self, world, owner, rid):
        _, _, kb = owner.call("GET", f"/v1/knowledge-bases/{rid}")
        _, _, docs = owner.call("GET", f"/v1/knowledge-bases/{rid}/documents")
        _, _, found = owner.call("POST", f"/v1/knowledge-bases/{rid}/retrieve",
                                 {"query": "who does this knowledge base belong to", "k": 3})
        return kb, docs, [(r.get("documentId"), r.get("text")) for r in found.get("results", [])]

    def foreign_ops(self, rid):
        base = f"/v1/knowledge-bases/{rid}"
        return [ForeignOp("read", "GET", base),
                ForeignOp("update", "PATCH", base, {"description": "taken"}),
                ForeignOp("delete", "DELETE", base),
                ForeignOp("documents", "GET", f"{base}/documents"),
                ForeignOp("document", "GET", f"{base}/documents/owner"),
                ForeignOp("ingest", "POST", f"{base}/documents",
                          {"documents": [{"id": "owner", "text": "overwritten"}]}),
                ForeignOp("delete_document", "DELETE", f"{base}/documents/owner"),
                ForeignOp("data_sources", "GET", f"{base}/data-sources"),
                ForeignOp("retrieve", "POST", f"{base}/retrieve", {"query": "belongs"}),
                ForeignOp("answer", "POST", f"{base}/answer", {"query": "who owns this?"}),
                ForeignOp("bedrock_read", "GET", f"/knowledgebases/{rid}", bedrock=True),
                ForeignOp("bedrock_retrieve", "POST", f"/knowledgebases/{rid}/retrieve",
                          {"retrievalQuery": {"text": "belongs"}}, bedrock=True)]

    def list_probes(self, rid):
        return [ListProbe("/v1/knowledge-bases", ids_of("knowledgeBases", "id"))]


class TenancyIsolation(unittest.TestCase):
    srv: BasaltServer
    world: World

    @classmethod
    def setUpClass(cls):
        cls.stall = stall_upstream()
        extra = stall_provider_config(cls.stall)
        extra["async"] = {"retry_backoff_base_ms": 50, "retry_backoff_cap_ms": 100}
        cls.config = write_config(tenancy_config(TENANTS + ["quiet"], extra=extra))
        cls.srv = BasaltServer(extra_args=["--config", cls.config])
        try:
            cls.srv.start()
            cls.world = World(cls.srv, TENANTS)
            cls.types = [t() for t in RESOURCE_TYPES]
            cls.world.create_all(cls.types)
            cls.before = {(rt.name, t, rid): rt.snapshot(cls.world, cls.world.principals[t], rid)
                          for rt, t, rid in cls.world.objects}
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.close()
        finally:
            cls.stall.close()
            os.unlink(cls.config)

    def principals(self) -> "list[Principal]":
        return list(self.world.principals.values()) + [self.world.admin]

    # ------------------------------------------------------------ the property
    def test_random_cross_tenant_operations_never_leak(self):
        seed = int(os.environ.get("BASALT_ISO_SEED") or random.SystemRandom().randrange(1 << 32))
        steps = int(os.environ.get("BASALT_ISO_STEPS") or 400)
        print(f"\n[isolation] seed={seed} steps={steps} (BASALT_ISO_SEED={seed} replays)", flush=True)
        rng = random.Random(seed)
        leaks: "list[str]" = []
        tried: "dict[str, int]" = {}
        for step in range(steps):
            rt, owner, rid = rng.choice(self.world.objects)
            p = rng.choice(self.principals())
            foreign = p.kind == "admin" or p.tenant != owner
            choices = [("op", op) for op in rt.foreign_ops(rid)] + [("list", lp) for lp in rt.list_probes(rid)]
            kind, what = rng.choice(choices)
            if kind == "op" and what.bedrock and p.kind == "admin":
                continue  # the admin has no SigV4 key
            where = f"step {step} (seed {seed}): {p} -> {rt.name} {rid} of {owner}"
            if kind == "list":
                status, ids, doc = what.run(p)
                tried[f"list {what.path.split('?')[0]}"] = tried.get(f"list {what.path.split('?')[0]}", 0) + 1
                if status != 200:
                    leaks.append(f"{where}: list {what.path} answered {status}: {str(doc)[:300]}")
                elif foreign and rid in ids:
                    leaks.append(f"{where}: list {what.path} LEAKS the foreign id: {str(doc)[:300]}")
                elif not foreign and rid not in ids:
                    leaks.append(f"{where}: list {what.path} does not show the owner its own id: {str(doc)[:300]}")
                continue
            if not foreign:
                continue  # owners' writes would change the snapshot; owners read in the final check
            tried[what.name] = tried.get(what.name, 0) + 1
            status, body = what.run(p)
            what.cleanup(p, status)
            if not what.acceptable(status, body):
                leaks.append(f"{where}: {what.name} {what.method} {what.path} answered {status} (want 404): "
                             f"{str(body)[:300]}")
        print(f"[isolation] operations tried: {json.dumps(tried, sort_keys=True)}", flush=True)
        for rt, t, rid in self.world.objects:
            after = rt.snapshot(self.world, self.world.principals[t], rid)
            if after != self.before[(rt.name, t, rid)]:
                leaks.append(f"{rt.name} {rid} of {t} changed during the run:\n before {self.before[(rt.name, t, rid)]}"
                             f"\n after  {after}")
        self.assertEqual(leaks, [], f"{len(leaks)} isolation failures (seed {seed}):\n" + "\n".join(leaks[:30]))

    def test_every_foreign_operation_once(self):
        """The exhaustive version of the property: each op x each foreign principal."""
        bad = []
        for rt, owner, rid in self.world.objects:
            for p in self.principals():
                if p.kind != "admin" and p.tenant == owner:
                    continue
                for op in rt.foreign_ops(rid):
                    if op.bedrock and p.kind == "admin":
                        continue
                    status, body = op.run(p)
                    op.cleanup(p, status)
                    if not op.acceptable(status, body):
                        bad.append(f"{p} {op.method} {op.path} ({rt.name} of {owner}) -> {status}: {str(body)[:200]}")
        self.assertEqual(bad, [])

    def test_bedrock_arn_naming_another_account(self):
        arns = self.world.extras["arns"]
        for rid, arn in arns.items():
            owner = arn.split(":")[4]
            for t, p in self.world.principals.items():
                if t == owner:
                    continue
                status, _, doc = p.bedrock("GET", "/async-invoke/" + urllib.parse.quote(arn, safe=""))
                self.assertEqual(status, 404, f"{t} read {owner}'s {arn}: {doc}")

    def test_same_rule_name_in_two_tenants(self):
        a, b = self.world.principals["acme"], self.world.principals["globex"]
        for p in (a, b):
            status, _, doc = p.call("POST", "/v1/rules", Rules.body("shared-name", p.tenant))
            self.assertEqual(status, 201, doc)
        try:
            status, _, doc = b.call("PUT", "/v1/rules/shared-name", Rules.body("shared-name", "globex", "b's own"))
            self.assertEqual(status, 200, doc)
            self.assertEqual(a.call("GET", "/v1/rules/shared-name")[2].get("description"), "rule of acme")
            self.assertEqual(b.call("DELETE", "/v1/rules/shared-name")[0], 204)
            self.assertEqual(a.call("GET", "/v1/rules/shared-name")[0], 200, "globex's delete removed acme's rule")
        finally:
            a.call("DELETE", "/v1/rules/shared-name")
            b.call("DELETE", "/v1/rules/shared-name")

    # ------------------------------------------------------------ events
    def test_custom_events_reach_only_their_tenant(self):
        ps = self.world.principals
        rule = {"name": "evt-watch", "event_pattern": {"source": ["shared.src"]}, "targets": [{"type": "sse"}]}
        for p in ps.values():
            status, _, doc = p.call("POST", "/v1/rules", rule)
            self.assertEqual(status, 201, doc)
        streams = {t: EventStream(self.srv, "/v1/rules/evt-watch/events", p.key, timeout=10) for t, p in ps.items()}
        got: "dict[str, list]" = {t: [] for t in ps}

        def reader(t):
            s = streams[t]
            while True:
                try:
                    m = s.next(4.0)
                except (TimeoutError, OSError):
                    return
                if m is None:
                    return
                got[t].append(m)
        try:
            for t, s in streams.items():
                self.assertEqual(s.status, 200, s.error_body)
            threads = [threading.Thread(target=reader, args=(t,), daemon=True) for t in ps]
            for th in threads:
                th.start()
            time.sleep(0.3)
            for round_ in range(3):
                for t, p in ps.items():
                    p.publish({"source": "shared.src", "detail-type": "iso.evt",
                               "detail": {"owner": t, "round": round_}})
                time.sleep(0.3)
            for th in threads:
                th.join(10)
        finally:
            for s in streams.values():
                s.close()
            for p in ps.values():
                p.call("DELETE", "/v1/rules/evt-watch")
        for t, msgs in got.items():
            owners = [m.get("data", {}).get("detail", {}).get("owner") for m in msgs]
            self.assertTrue(owners, f"{t}'s subscription saw none of its own events")
            self.assertEqual(set(owners), {t}, f"{t}'s subscription saw other tenants' events: {msgs}")
            tenants = {m.get("data", {}).get("tenant") for m in msgs}
            self.assertEqual(tenants, {t}, msgs)

    # ------------------------------------------------------------ stats, usage, audit
    def test_queue_stats_show_only_the_callers_tenant(self):
        for p in self.principals() + [Principal(self.srv, "quiet")]:
            status, _, doc = p.call("GET", "/v1/queues/stats")
            self.assertEqual(status, 200, doc)
            for q in doc["queues"]:
                self.assertEqual(q.get("tenant"), p.tenant, f"{p} sees another tenant's queue: {doc}")
        status, _, doc = Principal(self.srv, "quiet").call("GET", "/v1/queues/stats")
        counted = sum(q.get(f, 0) for q in doc["queues"] for f in ("ready", "delayed", "in_flight", "dead"))
        self.assertEqual(counted, 0, f"tenant quiet has no jobs, yet its stats count some: {doc}")
        _, _, doc = self.world.principals["acme"].call("GET", "/v1/queues/stats")
        genai = [q for q in doc["queues"] if q["queue"] == "genai"]
        self.assertEqual((genai[0]["dead"], genai[0]["in_flight"]), (1, 1),
                         f"acme has exactly 1 dead and 1 processing job: {doc}")

    def test_usage_shows_only_the_callers_tenant(self):
        quiet = Principal(self.srv, "quiet")
        status, _, doc = quiet.call("GET", "/v1/usage?group_by=key,model")
        self.assertEqual(status, 200, doc)
        self.assertEqual(sum(r.get("requests", 0) for r in doc["data"]), 0,
                         f"tenant quiet made no calls, yet /v1/usage counts some: {doc}")
        for p in self.world.principals.values():
            status, _, doc = p.call("GET", "/v1/usage?group_by=model")
            self.assertEqual(status, 200, doc)
            models = {r.get("model") for r in doc["data"]}
            self.assertNotIn(None, models, doc)
            for r in doc["data"]:
                self.assertIn(r.get("tenant", p.tenant), (p.tenant,), doc)

    def test_audit_shows_only_the_callers_chain(self):
        # Each tenant key trying an admin route is a permission.denied in its own chain.
        for p in self.world.principals.values():
            status, _, doc = p.call("GET", "/v1/admin/tenants")
            self.assertEqual(status, 403, doc)
        time.sleep(0.4)  # audit writes are batched
        for p in self.world.principals.values():
            def own():
                status, _, doc = p.call("GET", "/v1/audit?limit=1000")
                assert status == 200, doc
                return doc if any(e.get("action") == "permission.denied" for e in doc["data"]) else None
            doc = wait_until(own, 5, what=f"{p.tenant}'s permission.denied in /v1/audit")
            self.assertEqual(doc.get("tenant"), p.tenant, doc)
            for e in doc["data"]:
                self.assertEqual(e.get("tenant", p.tenant), p.tenant, f"{p} sees a foreign audit entry: {e}")
                self.assertNotIn("ops", str(e.get("principal", "")).split(":")[0:1])
        status, _, doc = Principal(self.srv, "quiet").call("GET", "/v1/audit")
        self.assertEqual((status, doc.get("data")), (200, []), doc)

    def test_redrive_all_never_touches_other_tenants_dead_jobs(self):
        # Tenant quiet has no dead job; redriving its whole DLQ must move none of the others'.
        quiet = Principal(self.srv, "quiet")
        for body in ({"queue": "genai"}, {"queue": "genai", "limit": 1000}, {"queue": "webhooks"}):
            status, _, doc = quiet.call("POST", "/v1/dlq/redrive", body)
            self.assertEqual((status, doc.get("redriven")), (200, 0), f"{body}: {doc}")
        for rt, t, rid in self.world.objects:
            if rt.name == "invocation.dead":
                self.assertEqual(self.world.principals[t].record(rid)["status"], "failed")

    # ------------------------------------------------------------ the admin
    def test_admin_routes_are_the_named_cross_tenant_reads(self):
        adm = self.world.admin
        status, _, doc = adm.call("GET", "/v1/admin/tenants")
        self.assertEqual(status, 200, doc)
        self.assertTrue(set(TENANTS) <= {t["name"] for t in doc["data"]}, doc)
        for t in TENANTS:
            status, _, doc = adm.call("GET", f"/v1/admin/tenants/{t}")
            self.assertEqual((status, doc.get("name")), (200, t), doc)
            status, _, doc = adm.call("GET", f"/v1/admin/audit?tenant={t}")
            self.assertEqual(status, 200, doc)
            for e in doc.get("data", []):
                self.assertEqual(e.get("tenant", t), t, e)
            status, _, doc = adm.call("GET", f"/v1/admin/usage?tenant={t}")
            self.assertEqual(status, 200, doc)
        for p in self.world.principals.values():
            for path in ("/v1/admin/tenants", f"/v1/admin/tenants/{p.tenant}", f"/v1/admin/audit?tenant={p.tenant}",
                         f"/v1/admin/usage?tenant={p.tenant}"):
                status, _, doc = p.call("GET", path)
                self.assertEqual(status, 403, f"{p} GET {path}: {doc}")
        # On the normal routes the admin is its own tenant: it lists nothing of the others.
        status, _, doc = adm.call("GET", "/v1/async/invocations?limit=500")
        self.assertEqual((status, doc.get("data")), (200, []), doc)
        status, _, doc = adm.call("GET", "/v1/rules")
        self.assertEqual(status, 200, doc)
        self.assertFalse([r for r in doc["data"] if r["name"].startswith("iso-")], doc)


if __name__ == "__main__":
    unittest.main()
