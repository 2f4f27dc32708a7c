"""Shared pieces of the tenancy tests (test_tenancy_isolation.py, test_tenancy_canary.py,
test_tenancy_budget.py, test_audit_tamper.py): a multi-tenant server from a config file,
principals (API keys, the admin key, SigV4 keys), and the registry of resource types the
cross-tenant property test walks.

A resource type is a ResourceType subclass registered with @resource_type. It says how
its owner creates one (returning an id), how the owner sees it (snapshot, for "unchanged
after the run"), and the operations another principal may try, each a ForeignOp whose
call returns (status, body) and that must answer 404. Lists are ListProbes: their ids
must never include another tenant's. Adding knowledge bases, workflows or streams later
is one class each:

    @resource_type
    class KnowledgeBases(ResourceType):
        name = "knowledge_base"
        def create(self, world, owner): ...returns id
        def snapshot(self, world, owner, rid): ...
        def foreign_ops(self, rid): return [ForeignOp("read", "GET", f"/v1/kb/{rid}")]
        def list_probes(self, rid): return [ListProbe("/v1/kb", ids_of("data", "id"))]
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import urllib.parse

import fake_upstreams
from basalt_proc import BasaltServer, error_envelope, wait_until
from fake_upstreams import FakeUpstream, Slow

TERMINAL = ("completed", "failed", "cancelled")


def key_for(tenant: str) -> str:
    return f"{tenant}-tenancy-key-0123456789abcdef"


def admin_key() -> str:
    return "ops-admin-key-0123456789abcdef"


def sigv4_creds(tenant: str) -> "tuple[str, str]":
    return f"AKID{tenant.upper():0<16}"[:20], f"secret-{tenant}-0123456789EXAMPLEKEY"


def write_config(doc: dict) -> str:
    fd, path = tempfile.mkstemp(prefix="basalt-tenancy-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
    return path


def tenancy_config(tenants: "list[str]", tenant_docs: "dict[str, dict] | None" = None, admin: bool = True,
                   sigv4: bool = True, extra: "dict | None" = None) -> dict:
    """A config document: declared tenants, one API key each, one SigV4 key each, an admin key
    (tenant "ops"). `extra` is merged at the top level (lists and dicts replace)."""
    docs = []
    for t in tenants:
        d = {"name": t}
        d.update((tenant_docs or {}).get(t, {}))
        docs.append(d)
    auth = {"api_keys": [f"{t}:{key_for(t)}" for t in tenants]}
    if admin:
        auth["admin_keys"] = [f"ops:{admin_key()}"]
    if sigv4:
        auth["sigv4_keys"] = [":".join((*sigv4_creds(t), t)) for t in tenants]
    doc = {"tenants": docs, "auth": auth}
    for k, v in (extra or {}).items():
        doc[k] = v
    return doc


def sigv4_headers(method: str, host: str, path: str, query: "dict[str, str]", body: bytes, akid: str,
                  secret: str, region: str = "us-east-1", service: str = "bedrock") -> "dict[str, str]":
    """SigV4 headers for a request with a query string (fake_upstreams' signer)."""
    return fake_upstreams.sigv4_headers(method, host, path, body, akid, secret, region=region,
                                        service=service, query=query)


# ----------------------------------------------------------------------------- principals


class Principal:
    """One caller: a tenant's API key (kind "key"), the admin key ("admin", tenant "ops"),
    or a tenant's SigV4 key ("sigv4", Bedrock routes only)."""

    def __init__(self, srv: BasaltServer, tenant: str, kind: str = "key"):
        self.srv = srv
        self.tenant = tenant
        self.kind = kind
        self.key = admin_key() if kind == "admin" else key_for(tenant)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.tenant}>"

    def headers(self, extra: "dict | None" = None) -> dict:
        h = {"Authorization": f"Bearer {self.key}"}
        h.update(extra or {})
        return h

    def call(self, method: str, path: str, obj=None, raw: "bytes | None" = None,
             headers: "dict | None" = None, timeout: float = 15.0):
        """(status, headers, parsed JSON or raw bytes)."""
        h = self.headers(headers)
        body = raw
        if obj is not None:
            body = json.dumps(obj).encode()
            h.setdefault("Content-Type", "application/json")
        status, hdrs, data = self.srv.request(method, path, body, h, timeout)
        try:
            return status, hdrs, json.loads(data)
        except ValueError:
            return status, hdrs, data

    def bedrock(self, method: str, path: str, query: "dict | None" = None, obj=None):
        """A SigV4-signed call as this principal's tenant."""
        body = json.dumps(obj).encode() if obj is not None else b""
        query = query or {}
        akid, secret = sigv4_creds(self.tenant)
        headers = sigv4_headers(method, f"127.0.0.1:{self.srv.port}", path, query, body, akid, secret)
        url = path + ("?" + urllib.parse.urlencode(sorted(query.items()), quote_via=urllib.parse.quote)
                      if query else "")
        status, hdrs, data = self.srv.request(method, url, body or None, headers)
        try:
            return status, hdrs, json.loads(data)
        except ValueError:
            return status, hdrs, data

    # async helpers
    def submit_ok(self, body: dict) -> str:
        status, _, doc = self.call("POST", "/v1/async/invocations", body)
        assert status == 202, f"{self}: submit answered {status}: {doc}"
        return doc["request_id"]

    def record(self, rid: str) -> dict:
        status, _, doc = self.call("GET", f"/v1/async/invocations/{rid}")
        assert status == 200, f"{self}: GET invocation {rid} answered {status}: {doc}"
        return doc

    def wait_status(self, rid: str, statuses=TERMINAL, timeout: float = 20.0) -> dict:
        statuses = (statuses,) if isinstance(statuses, str) else tuple(statuses)
        return wait_until(lambda: (lambda r: r if r.get("status") in statuses else None)(self.record(rid)),
                          timeout, what=f"{rid} to reach {statuses}")

    def publish(self, *entries: dict) -> dict:
        status, _, doc = self.call("POST", "/v1/events", {"entries": list(entries)})
        assert status == 200, f"{self}: POST /v1/events answered {status}: {doc}"
        return doc


def chat_body(content: str, model: str = "builtin", max_tokens: int = 64, **extra) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": max_tokens}
    body.update(extra)
    return body


# ----------------------------------------------------------------------------- SSE


def sse_probe(srv: BasaltServer, path: str, key: str, seconds: float = 0.6) -> "tuple[int, bytes]":
    """Opens an SSE route for `seconds` and returns (status, every byte read). A 404 answers
    at once; a 200 is read until the time is up or the stream ends."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        s.sendall((f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
                   f"Authorization: Bearer {key}\r\n\r\n").encode())
        buf = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
            if buf.startswith(b"HTTP/1.1 4") and b"\r\n\r\n" in buf:
                head, _, rest = buf.partition(b"\r\n\r\n")
                cl = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")]
                if cl and len(rest) >= int(cl[0].split(b":")[1]):
                    break
        status = int(buf.split(b" ", 2)[1]) if buf.startswith(b"HTTP/") else 0
        return status, buf
    finally:
        s.close()


# ----------------------------------------------------------------------------- registry


class ForeignOp:
    """An operation a principal of another tenant tries on an object: it must answer 404."""

    def __init__(self, name: str, method: str, path: str, obj=None, bedrock: bool = False, sse: bool = False,
                 upsert_cleanup: "str | None" = None):
        self.name, self.method, self.path, self.obj = name, method, path, obj
        self.bedrock, self.sse = bedrock, sse
        # A PUT that creates the object in the CALLER's namespace when the caller has none
        # (rules: names are per tenant). Then 200/201 with the caller's own body is no leak;
        # the harness removes it at once with `upsert_cleanup` (a DELETE path) so later
        # foreign operations find nothing again. The owner's snapshot proves nothing changed.
        self.upsert_cleanup = upsert_cleanup

    def acceptable(self, status: int, body) -> bool:
        if is_not_found(status, body):
            return True
        if self.upsert_cleanup and status in (200, 201) and isinstance(body, dict) and isinstance(self.obj, dict):
            return all(body.get(k) == v for k, v in self.obj.items() if k in ("description", "event_pattern"))
        return False

    def cleanup(self, p: "Principal", status: int) -> None:
        if self.upsert_cleanup and status in (200, 201):
            p.call("DELETE", self.upsert_cleanup)

    def run(self, p: Principal) -> "tuple[int, object]":
        if self.sse:
            status, raw = sse_probe(p.srv, self.path, p.key)
            return status, raw
        if self.bedrock:
            status, _, doc = p.bedrock(self.method, self.path, obj=self.obj)
            return status, doc
        status, _, doc = p.call(self.method, self.path, self.obj)
        return status, doc


class ListProbe:
    """A list endpoint (with its filters): `ids(body)` are the ids it shows."""

    def __init__(self, path: str, ids, bedrock: "dict | None" = None):
        self.path, self.ids, self.bedrock = path, ids, bedrock

    def run(self, p: Principal) -> "tuple[int, set[str], object]":
        if self.bedrock is not None:
            if p.kind != "key":
                return 200, set(), None  # SigV4 keys are per tenant; the admin has none
            status, _, doc = p.bedrock("GET", self.path, self.bedrock)
        else:
            status, _, doc = p.call("GET", self.path)
        return status, (self.ids(doc) if status == 200 else set()), doc


def ids_of(list_field: str, *id_fields: str):
    """The values of `id_fields` of every item of doc[list_field]."""
    def get(doc) -> "set[str]":
        items = (doc or {}).get(list_field, []) if isinstance(doc, dict) else []
        return {str(x.get(f)) for x in items if isinstance(x, dict) for f in id_fields if x.get(f) is not None}
    return get


RESOURCE_TYPES: "list[type[ResourceType]]" = []


def resource_type(cls):
    RESOURCE_TYPES.append(cls)
    return cls


class ResourceType:
    name = "?"
    per_tenant = 1  # objects each tenant creates

    def create(self, world: "World", owner: Principal) -> str:
        raise NotImplementedError

    def snapshot(self, world: "World", owner: Principal, rid: str):
        """What the owner sees of the object; must be equal before and after the run."""
        raise NotImplementedError

    def foreign_ops(self, rid: str) -> "list[ForeignOp]":
        return []

    def list_probes(self, rid: str) -> "list[ListProbe]":
        """List endpoints (with filters that match the object) that show it to its owner only."""
        return []

    def settle(self, world: "World", owner: Principal, rid: str) -> None:
        """Waits until the object stops changing by itself (a job finishing)."""


class World:
    """The server, its tenants' principals, and the objects created (type, owner, id)."""

    def __init__(self, srv: BasaltServer, tenants: "list[str]", extras: "dict | None" = None):
        self.srv = srv
        self.tenants = tenants
        self.principals = {t: Principal(srv, t) for t in tenants}
        self.admin = Principal(srv, "ops", "admin")
        self.extras = dict(extras or {})
        self.objects: "list[tuple[ResourceType, str, str]]" = []

    def create_all(self, types: "list[ResourceType]") -> None:
        for rt in types:
            for t in self.tenants:
                for _ in range(rt.per_tenant):
                    self.objects.append((rt, t, rt.create(self, self.principals[t])))
        for rt, t, rid in self.objects:
            rt.settle(self, self.principals[t], rid)


def stall_upstream() -> FakeUpstream:
    fake = FakeUpstream("stall")
    fake.httpd.handle_error = lambda *a: None
    fake.script(default=Slow(120))
    return fake.start()


def stall_provider_config(fake: FakeUpstream) -> dict:
    return {"providers": [{"name": "stallp", "type": "openai", "base_url": fake.openai_base_url,
                           "api_key": "sk-stall", "timeout_ms": 600000}],
            "models": {"aliases": [{"name": "stall", "targets": [{"provider": "stallp", "model": "stall-model"}]}]},
            "router": {"max_attempts": 1}}


def is_not_found(status: int, body) -> bool:
    if status != 404:
        return False
    raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    if isinstance(raw, bytes) and b"HTTP/1.1" in raw[:12]:
        return True
    try:
        error_envelope(raw)
    except AssertionError:
        return isinstance(body, dict) and ("message" in body or "Message" in body)
    return True
