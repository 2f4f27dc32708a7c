"""The async pattern, black-box (docs/ASYNC.md): invocations, events, rules, webhooks,
dead letters, batches, Bedrock StartAsyncInvoke, tenants and the `basalt worker` process.

Every server here has API keys `TENANT:KEY`, so each test works in tenants of its own and
can count what it sees. Models: `builtin` (offline, answers from the prompt), and aliases
to fake OpenAI upstreams (fake_upstreams.py): `slow` answers after 1.5 s, `stall` never
answers (until the caller goes away), `broken` always answers 500. Webhooks go to a
WebhookReceiver (webhook_receiver.py) that checks the HMAC signature.

Helpers at the top (Client, EventStream, sigv4) are also used by test_async_crash.py and
test_async_fairness.py.
"""

from __future__ import annotations

import datetime
import shutil
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from basalt_proc import BasaltServer, basalt_bin, child_env, error_envelope, wait_until
from fake_upstreams import Answer, Error, FakeUpstream, Slow
from webhook_receiver import WebhookReceiver, expected_signature

TERMINAL = ("completed", "failed", "cancelled")
TERMINAL_EVENTS = tuple(f"genai.request.{s}" for s in TERMINAL)
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
SKY = "The sky is blue. Bananas are rich in potassium. What colour is the sky?"


def key_for(tenant: str) -> str:
    return f"{tenant}-key-0123456789abcdef"


def api_keys(*tenants: str) -> str:
    return ",".join(f"{t}:{key_for(t)}" for t in tenants)


def chat(content: str = SKY, model: str = "builtin", **extra) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 64}
    body.update(extra)
    return body


def parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


# ----------------------------------------------------------------------------- clients


class Client:
    """JSON calls to one server as one tenant (its API key)."""

    def __init__(self, srv: BasaltServer, tenant: "str | None"):
        self.srv = srv
        self.tenant = tenant
        self.key = key_for(tenant) if tenant else None

    def headers(self, extra: "dict | None" = None) -> dict:
        h = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        h.update(extra or {})
        return h

    def call(self, method: str, path: str, obj=None, raw: "bytes | None" = None,
             headers: "dict | None" = None, timeout: float = 15.0):
        """Returns (status, headers, parsed JSON, or the raw bytes when not JSON)."""
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

    def submit(self, body: dict, timeout: float = 15.0):
        return self.call("POST", "/v1/async/invocations", body, timeout=timeout)

    def submit_ok(self, body: dict) -> str:
        status, _, doc = self.submit(body)
        assert status == 202, f"submit {body} answered {status}: {doc}"
        return doc["request_id"]

    def record(self, rid: str) -> dict:
        status, _, doc = self.call("GET", f"/v1/async/invocations/{rid}")
        assert status == 200, f"GET invocation {rid} answered {status}: {doc}"
        return doc

    def wait_status(self, rid: str, statuses, timeout: float = 20.0) -> dict:
        statuses = (statuses,) if isinstance(statuses, str) else tuple(statuses)
        last = {}
        deadline = time.monotonic() + timeout
        while True:
            last = self.record(rid)
            if last.get("status") in statuses:
                return last
            if time.monotonic() >= deadline:
                raise AssertionError(f"invocation {rid} did not reach {statuses} within {timeout}s; "
                                     f"last record: {json.dumps(last)[:1500]}")
            time.sleep(0.05)

    def list(self, **query) -> dict:
        qs = urllib.parse.urlencode(query)
        status, _, doc = self.call("GET", "/v1/async/invocations" + (f"?{qs}" if qs else ""))
        assert status == 200, f"list {query} answered {status}: {doc}"
        return doc

    def list_all(self, page: int = 500, **query) -> "list[dict]":
        out, after = [], None
        for _ in range(10000):
            q = dict(query, limit=page)
            if after:
                q["after"] = after
            doc = self.list(**q)
            out += doc["data"]
            if not doc.get("has_more"):
                return out
            after = doc["next_cursor"]
        raise AssertionError("list pagination did not end")

    def events(self, rid: str, last_event_id: "str | None" = None, timeout: float = 15.0):
        """The invocation's whole event stream: (events, ended). Raises if it does not end."""
        stream = EventStream(self.srv, f"/v1/async/invocations/{rid}/events", self.key,
                             last_event_id=last_event_id, timeout=timeout)
        try:
            assert stream.status == 200, f"events of {rid} answered {stream.status}: {stream.error_body!r}"
            return stream.read_all(timeout)
        finally:
            stream.close()

    def publish(self, *entries: dict) -> dict:
        status, _, doc = self.call("POST", "/v1/events", {"entries": list(entries)})
        assert status == 200, f"POST /v1/events answered {status}: {doc}"
        return doc


class EventStream:
    """A GET of an SSE route read message by message: {"id", "event", "data" (parsed JSON)}."""

    def __init__(self, srv: BasaltServer, path: str, key: "str | None", last_event_id: "str | None" = None,
                 timeout: float = 15.0):
        self.conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", path, headers=headers)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}
        self.error_body = self.resp.read() if self.status != 200 else b""
        self.ended = self.status != 200

    def close(self) -> None:
        self.conn.close()

    def next(self, timeout: float = 10.0) -> "dict | None":
        """The next message, None when the stream ended; raises socket.timeout after `timeout`."""
        if self.ended:
            return None
        deadline = time.monotonic() + timeout
        msg: dict = {}
        data_lines: "list[str]" = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete SSE message within {timeout}s")
            if self.conn.sock is not None:
                self.conn.sock.settimeout(left)
            raw = self.resp.readline()
            if not raw:
                self.ended = True
                return None
            line = raw.decode("utf-8").rstrip("\r\n")
            if line == "":
                if data_lines or msg:
                    if data_lines:
                        text = "\n".join(data_lines)
                        try:
                            msg["data"] = json.loads(text)
                        except ValueError:
                            msg["data"] = text
                    return msg
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data_lines.append(value)
            elif field in ("id", "event", "retry"):
                msg[field] = value

    def read_all(self, timeout: float = 15.0) -> "tuple[list[dict], bool]":
        """Every message until the stream ends; raises AssertionError if it does not end in time."""
        out = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self.next(max(0.01, deadline - time.monotonic()))
            except (TimeoutError, OSError) as e:
                raise AssertionError(f"the event stream did not end within {timeout}s ({e!r}); "
                                     f"messages so far: {[m.get('event') for m in out]}") from None
            if msg is None:
                return out, True
            out.append(msg)


def sigv4(method: str, host: str, path: str, query: "dict[str, str]", body: bytes, akid: str, secret: str,
          region: str = "us-east-1", service: str = "bedrock") -> "dict[str, str]":
    """SigV4 headers for a request with a query string. `path` is the path as sent (already
    URL-encoded); like the AWS SDKs for every service but S3, it is encoded once more."""
    amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
    if body:
        headers["content-type"] = "application/json"
    names = sorted(headers)
    canonical_headers = "".join(f"{n}:{headers[n].strip()}\n" for n in names)
    signed = ";".join(names)
    q = lambda s: urllib.parse.quote(str(s), safe="-_.~")  # noqa: E731
    canonical_query = "&".join(f"{q(k)}={q(v)}" for k, v in sorted(query.items()))
    canonical = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), canonical_query,
                           canonical_headers, signed, payload_hash])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {n: headers[n] for n in names if n != "host"}
    out["authorization"] = f"AWS4-HMAC-SHA256 Credential={akid}/{scope}, SignedHeaders={signed}, Signature={sig}"
    return out


class SameDirServer(BasaltServer):
    """A BasaltServer that always uses the given data directory (restarts keep the data)."""

    def __init__(self, data_dir: str, **kw):
        super().__init__(**kw)
        self.fixed_data_dir = data_dir

    def argv(self) -> "list[str]":
        self.data_dir = self.fixed_data_dir
        return super().argv()


def quiet_fake(name: str) -> FakeUpstream:
    """A started FakeUpstream that does not print tracebacks when basalt aborts a call (by design)."""
    fake = FakeUpstream(name)
    fake.httpd.handle_error = lambda *a: None
    return fake.start()


def write_config(doc: dict) -> str:
    fd, path = tempfile.mkstemp(prefix="basalt-async-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
    return path


def dlq_entries(doc, needle: str) -> "list[dict]":
    """Entries of a GET /v1/dlq answer whose JSON mentions `needle` (a request or event id)."""
    items = doc
    if isinstance(doc, dict):
        for name in ("data", "jobs", "items", "entries", "dead_letters"):
            if isinstance(doc.get(name), list):
                items = doc[name]
                break
    assert isinstance(items, list), f"GET /v1/dlq answered no list of jobs: {json.dumps(doc)[:800]}"
    return [e for e in items if needle in json.dumps(e)]


def assert_error(test: unittest.TestCase, status: int, body, want_status: int, param: "str | None" = None,
                 code: "str | None" = None, mentions: "tuple[str, ...]" = ()) -> dict:
    raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    test.assertEqual(status, want_status, raw[:500])
    err = error_envelope(raw)
    if param is not None:
        test.assertEqual(err.get("param"), param, f"error should name the field {param!r}: {err}")
        test.assertIn(param, err["message"], f"the message should name the field {param!r}: {err}")
    if code is not None:
        test.assertEqual(err.get("code"), code, err)
    for word in mentions:
        test.assertIn(word, err["message"], err)
    return err


def check_envelope(test: unittest.TestCase, evt: dict, tenant: str, rid: str, detail_type: str) -> None:
    test.assertEqual(evt.get("version"), "0", evt)
    test.assertRegex(evt.get("id", ""), r"^evt_", evt)
    test.assertEqual(evt.get("source"), "basalt.async", evt)
    test.assertEqual(evt.get("detail-type"), detail_type, evt)
    test.assertEqual(evt.get("account"), tenant, evt)
    test.assertEqual(evt.get("tenant"), tenant, evt)
    test.assertEqual(evt.get("region"), "local", evt)
    test.assertEqual(evt.get("resources"), [rid], evt)
    test.assertRegex(evt.get("time", ""), ISO_RE, evt)
    detail = evt.get("detail") or {}
    test.assertEqual(detail.get("request_id"), rid, evt)
    test.assertEqual(detail.get("tenant"), tenant, evt)
    # The record's status after the change; `received` leaves the record queued.
    kind = detail_type.rsplit(".", 1)[1]
    test.assertIn(detail.get("status"), ("received", "queued") if kind == "received" else (kind,), evt)


# ----------------------------------------------------------------------------- servers

ASYNC_FAST = {
    "async.retry_backoff_base_ms": 50, "async.retry_backoff_cap_ms": 200,
    "async.webhook_backoff_base_ms": 50, "async.webhook_backoff_cap_ms": 200,
    "async.webhook_timeout_ms": 2000,
}
FLOW_TENANTS = ("alpha", "beta", "hooks", "rules", "dlq", "batch", "bedrock", "events")
BEDROCK_AKID, BEDROCK_SECRET = "AKIDASYNC000000001", "asyncSecretKey/0123456789EXAMPLEKEY"


class AsyncFlow(unittest.TestCase):
    """Workers on; fake upstreams for slow, stalled and failing models."""

    srv: BasaltServer

    @classmethod
    def setUpClass(cls):
        cls.slow_up = quiet_fake("slow")
        cls.slow_up.script(default=Answer("The slow model answers.", first_delay=1.5))
        cls.stall_up = quiet_fake("stall")
        cls.stall_up.script(default=Slow(60))
        cls.broken_up = quiet_fake("broken")
        cls.broken_up.script(default=Error(500, "the broken model is down"))
        providers = [{"name": n, "type": "openai", "base_url": f.openai_base_url, "api_key": f"sk-{n}",
                      "timeout_ms": 120000}
                     for n, f in (("slowp", cls.slow_up), ("stallp", cls.stall_up), ("brokenp", cls.broken_up))]
        aliases = [{"name": "slow", "targets": [{"provider": "slowp", "model": "slow-model"}]},
                   {"name": "stall", "targets": [{"provider": "stallp", "model": "stall-model"}]},
                   {"name": "broken", "targets": [{"provider": "brokenp", "model": "broken-model"}]}]
        cls.config = write_config({"providers": providers, "models": {"aliases": aliases},
                                   "router": {"max_attempts": 1, "backoff_base_ms": 10, "backoff_cap_ms": 20}})
        sets = dict(ASYNC_FAST)
        sets["auth.api_keys"] = api_keys(*FLOW_TENANTS)
        sets["auth.sigv4_keys"] = f"{BEDROCK_AKID}:{BEDROCK_SECRET}:bedrock"
        cls.srv = BasaltServer(sets=sets, extra_args=["--config", cls.config])
        try:
            cls.srv.start()
        except BaseException:
            cls._close_fakes()
            raise

    @classmethod
    def _close_fakes(cls):
        for f in (cls.slow_up, cls.stall_up, cls.broken_up):
            f.close()
        os.unlink(cls.config)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.close()
        finally:
            cls._close_fakes()

    def setUp(self):
        self.receivers: "list[WebhookReceiver]" = []

    def tearDown(self):
        for r in self.receivers:
            r.close()

    def receiver(self, secret: "str | None" = None, name: str = "hook") -> WebhookReceiver:
        r = WebhookReceiver(secret=secret, name=name).start()
        self.receivers.append(r)
        return r

    def client(self, tenant: str) -> Client:
        return Client(self.srv, tenant)

    # ------------------------------------------------------------ the reference flow
    def test_submit_poll_completed_with_signed_callback_and_events(self):
        alpha = self.client("alpha")
        hook = self.receiver(secret="s3cret-callback")
        body = chat(metadata={"order": 42, "tags": ["a", "b"]}, priority=5,
                    callback_url=hook.url("/callback"), callback_secret="s3cret-callback", temperature=0.2)
        before = time.time()
        status, hdrs, doc = alpha.submit(body)
        self.assertEqual(status, 202, doc)
        rid = doc.get("request_id")
        self.assertRegex(rid or "", r"^inv_[0-9A-Za-z]+$", doc)
        self.assertEqual(doc.get("status"), "queued", doc)
        ecs = doc.get("estimated_completion_seconds")
        self.assertTrue(isinstance(ecs, (int, float)) and not isinstance(ecs, bool) and ecs >= 1,
                        f"estimated_completion_seconds must be a number >= 1: {doc}")
        self.assertRegex(doc.get("created_at", ""), ISO_RE, doc)
        self.assertTrue(hdrs.get("location", "").endswith(f"/v1/async/invocations/{rid}"), hdrs)

        rec = alpha.wait_status(rid, TERMINAL, timeout=20)
        self.assertEqual(rec["status"], "completed", rec)
        self.assertEqual(rec.get("request_id"), rid)
        self.assertEqual(rec.get("object"), "async.invocation", rec)
        self.assertEqual(rec.get("model"), "builtin", rec)
        self.assertEqual(rec.get("priority"), 5, rec)
        self.assertEqual(rec.get("metadata"), {"order": 42, "tags": ["a", "b"]}, rec)
        self.assertEqual((rec.get("attempts"), rec.get("max_attempts")), (1, 3), rec)
        self.assertIsNone(rec.get("error"), "error is present only when failed or cancelled")
        for field in ("created_at", "started_at", "completed_at"):
            self.assertRegex(rec.get(field) or "", ISO_RE, f"{field}: {rec}")
        created, started, done = (parse_time(rec[f]) for f in ("created_at", "started_at", "completed_at"))
        self.assertLessEqual(created, started, rec)
        self.assertLessEqual(started, done, rec)
        self.assertLess(abs(created.timestamp() - before), 30, "created_at is not now")
        result = rec.get("result") or {}
        self.assertEqual(result.get("object"), "chat.completion", rec)
        msg = result["choices"][0]["message"]
        self.assertEqual(msg["role"], "assistant")
        self.assertIn("blue", msg["content"], "the builtin model did not see the submitted messages")
        self.assertGreater(result["usage"]["completion_tokens"], 0)

        # The signed callback: exactly one delivery, the terminal event.
        (d,) = hook.wait_for(1, path="/callback")
        self.assertEqual(d.method, "POST")
        self.assertIn("application/json", d.headers.get("content-type", ""))
        self.assertEqual(d.event_type, "genai.request.completed", d)
        self.assertEqual(d.attempt, "1", d)
        ts = d.headers.get("x-basalt-timestamp", "")
        self.assertTrue(ts.isdigit() and abs(int(ts) - time.time()) < 120, f"X-Basalt-Timestamp {ts!r}")
        self.assertEqual(d.headers.get("x-basalt-signature"), expected_signature("s3cret-callback", ts, d.body),
                         "the signature is not sha256=HMAC-SHA256(secret, '<timestamp>.<body>')")
        self.assertTrue(d.signature_ok, d.signature_problem)
        self.assertNotEqual(d.headers.get("x-basalt-signature"), expected_signature("other", ts, d.body))
        evt = d.json
        check_envelope(self, evt, "alpha", rid, "genai.request.completed")
        self.assertEqual(d.event_id, evt["id"])
        detail = evt["detail"]
        self.assertEqual(detail.get("model"), "builtin")
        self.assertEqual(detail.get("attempt"), 1)
        self.assertEqual(detail.get("priority"), 5)
        self.assertEqual(detail.get("metadata"), {"order": 42, "tags": ["a", "b"]})
        for t in ("queued_ms", "processing_ms", "total_ms"):
            self.assertIsInstance(detail.get(t), int, f"detail.{t}: {detail}")
            self.assertGreaterEqual(detail[t], 0, detail)
        self.assertGreaterEqual(detail["total_ms"], detail["processing_ms"], detail)
        self.assertGreaterEqual(detail["total_ms"], detail["queued_ms"], detail)

        # The event history, in order, and the stream ends after the terminal event.
        events, ended = alpha.events(rid)
        self.assertTrue(ended)
        names = [e.get("event") for e in events]
        self.assertEqual(names, ["genai.request.received", "genai.request.processing",
                                 "genai.request.completed"], events)
        ids = [int(e["id"]) for e in events]
        self.assertEqual(ids, sorted(ids), f"SSE ids must increase: {ids}")
        self.assertEqual(len(set(ids)), 3, ids)
        for e in events:
            check_envelope(self, e["data"], "alpha", rid, e["event"])
        self.assertEqual(events[1]["data"]["detail"].get("attempt"), 1)
        self.assertEqual(events[2]["data"]["id"], evt["id"], "the webhook delivered a different event")

        # Last-Event-ID resumes after that id.
        resumed, ended = alpha.events(rid, last_event_id=events[0]["id"])
        self.assertTrue(ended)
        self.assertEqual([e["id"] for e in resumed], [e["id"] for e in events[1:]], resumed)
        resumed, _ = alpha.events(rid, last_event_id=events[1]["id"])
        self.assertEqual([e["event"] for e in resumed], ["genai.request.completed"])

        # Nothing more is delivered for this request.
        time.sleep(0.5)
        self.assertEqual(len(hook.snapshot()), 1, hook.snapshot())

    def test_live_events_while_processing(self):
        alpha = self.client("alpha")
        rid = alpha.submit_ok(chat("hello slowly", model="slow"))
        stream = EventStream(self.srv, f"/v1/async/invocations/{rid}/events", key_for("alpha"), timeout=15)
        try:
            self.assertEqual(stream.status, 200, stream.error_body)
            self.assertIn("text/event-stream", stream.headers.get("content-type", ""))
            first = stream.next(5)
            second = stream.next(5)
            self.assertEqual([first and first.get("event"), second and second.get("event")],
                             ["genai.request.received", "genai.request.processing"])
            # The model takes 1.5 s: the stream delivered 'processing' while the call ran.
            self.assertEqual(alpha.record(rid)["status"], "processing",
                             "processing arrived only after the request finished: the stream is not live")
            third = stream.next(10)
            self.assertEqual(third and third.get("event"), "genai.request.completed", third)
            self.assertIsNone(stream.next(5), "the stream must end after the terminal event")
        finally:
            stream.close()
        rec = alpha.record(rid)
        self.assertEqual(rec["result"]["choices"][0]["message"]["content"], "The slow model answers.")

    def test_cancel_processing_aborts_model_call(self):
        alpha = self.client("alpha")
        hook = self.receiver(secret=None)
        n_before = self.stall_up.count()
        rid = alpha.submit_ok(chat("never answered", model="stall", callback_url=hook.url("/cancelled")))
        alpha.wait_status(rid, "processing", timeout=10)
        self.stall_up.wait_requests(n_before + 1)
        call = self.stall_up.requests[n_before]
        t0 = time.monotonic()
        status, _, doc = alpha.call("POST", f"/v1/async/invocations/{rid}/cancel")
        self.assertEqual(status, 200, doc)
        self.assertLess(time.monotonic() - t0, 3, "cancel of a processing invocation must answer at once")
        self.assertEqual(doc.get("status"), "cancelled", doc)
        self.assertIsInstance(doc.get("error"), dict, f"a cancelled record carries error: {doc}")
        self.assertEqual(alpha.record(rid)["status"], "cancelled")
        wait_until(lambda: call.closed_at is not None, 5, what="the running model call to be aborted")
        status, _, doc = alpha.call("POST", f"/v1/async/invocations/{rid}/cancel")
        assert_error(self, status, doc, 409, code="invalid_state", mentions=("cancelled",))
        events, _ = alpha.events(rid)
        self.assertEqual([e["event"] for e in events],
                         ["genai.request.received", "genai.request.processing", "genai.request.cancelled"])
        self.assertIsInstance(events[-1]["data"]["detail"].get("error"), dict, events[-1])
        (d,) = hook.wait_for(1)
        self.assertEqual(d.event_type, "genai.request.cancelled")
        self.assertNotIn("x-basalt-signature", d.headers,
                         "no callback_secret and no async.callback_secret: the callback is unsigned")
        time.sleep(1.0)
        self.assertEqual(alpha.record(rid)["status"], "cancelled", "a cancelled request was revived")
        self.assertEqual(len(hook.snapshot()), 1)

    # ------------------------------------------------------------ rules
    def test_rules_crud(self):
        c = self.client("rules")
        rule = {"name": "notify-completed", "description": "first",
                "event_pattern": {"detail-type": ["genai.request.completed"]},
                "targets": [{"type": "sse"}]}
        status, _, doc = c.call("POST", "/v1/rules", rule)
        self.assertEqual(status, 201, doc)
        self.assertEqual(doc.get("name"), "notify-completed", doc)
        self.assertEqual(doc.get("event_pattern"), rule["event_pattern"], doc)
        status, _, doc = c.call("POST", "/v1/rules", rule)
        assert_error(self, status, doc, 409)

        # The pattern as a JSON string is accepted too.
        as_string = {"name": "as-string", "event_pattern": json.dumps({"source": ["shop"]}),
                     "targets": [{"type": "sse"}]}
        status, _, doc = c.call("POST", "/v1/rules", as_string)
        self.assertEqual(status, 201, doc)

        bad_patterns = [
            ({"detail": {"total": [{"numeric": [">", "x"]}]}}, "event_pattern.detail.total", "numeric"),
            ({"detail-type": [{"prefix": 5}]}, "event_pattern.detail-type", "prefix"),
            ({"source": [{"anything-but": {"prefix": []}}]}, "event_pattern.source", "anything-but"),
            ({"detail": {"ip": [{"cidr": "not-a-cidr"}]}}, "event_pattern.detail.ip", "cidr"),
            ({"source": [{"no-such-operator": 1}]}, "event_pattern.source", "no-such-operator"),
        ]
        for pattern, path, op in bad_patterns:
            with self.subTest(pattern=pattern):
                status, _, doc = c.call("POST", "/v1/rules", {"name": "bad-one", "event_pattern": pattern,
                                                             "targets": [{"type": "sse"}]})
                err = assert_error(self, status, doc, 400)
                self.assertIn(path, err["message"], f"the error must name the field path: {err}")
                self.assertIn(op, err["message"], f"the error must name the operator: {err}")
        for bad in ({"name": "bad name!", "event_pattern": {"source": ["x"]}, "targets": [{"type": "sse"}]},
                    {"name": "x" * 65, "event_pattern": {"source": ["x"]}, "targets": [{"type": "sse"}]}):
            status, _, doc = c.call("POST", "/v1/rules", bad)
            assert_error(self, status, doc, 400, mentions=("name",))
        status, _, doc = c.call("POST", "/v1/rules", {"name": "bad-target", "event_pattern": {"source": ["x"]},
                                                     "targets": [{"type": "webhook", "url": "not a url"}]})
        assert_error(self, status, doc, 400, mentions=("url",))

        status, _, doc = c.call("GET", "/v1/rules")
        self.assertEqual(status, 200, doc)
        names = sorted(r["name"] for r in doc["data"])
        self.assertEqual(names, ["as-string", "notify-completed"], "invalid rules must not be stored")
        status, _, doc = c.call("GET", "/v1/rules/notify-completed")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["event_pattern"], rule["event_pattern"])
        self.assertEqual(doc.get("description"), "first")

        replaced = dict(rule, description="second", event_pattern={"detail-type": ["genai.request.failed"]})
        status, _, doc = c.call("PUT", "/v1/rules/notify-completed", replaced)
        self.assertEqual(status, 200, doc)
        status, _, doc = c.call("GET", "/v1/rules/notify-completed")
        self.assertEqual((doc.get("description"), doc.get("event_pattern")),
                         ("second", {"detail-type": ["genai.request.failed"]}), doc)

        status, _, body = c.call("DELETE", "/v1/rules/notify-completed")
        self.assertEqual(status, 204, body)
        self.assertEqual(c.call("GET", "/v1/rules/notify-completed")[0], 404)
        self.assertEqual(c.call("DELETE", "/v1/rules/notify-completed")[0], 404)
        status, _, doc = c.call("GET", "/v1/rules")
        self.assertEqual([r["name"] for r in doc["data"]], ["as-string"])
        self.assertEqual(c.call("DELETE", "/v1/rules/as-string")[0], 204)

    def test_rules_test_endpoint(self):
        c = self.client("rules")
        event = {"source": "shop", "detail-type": "order.placed", "account": "rules",
                 "detail": {"total": 12, "customer": {"tier": "Gold", "email": "a@example.com"},
                            "items": [{"sku": "A-1"}, {"sku": "B-2"}], "ip": "10.0.3.7"}}
        cases = [
            ({"source": ["shop"]}, True),
            ({"source": ["other"]}, False),
            ({"detail": {"total": [{"numeric": [">", 10, "<=", 20]}]}}, True),
            ({"detail": {"total": [{"numeric": [">", 12]}]}}, False),
            ({"detail": {"customer": {"tier": [{"equals-ignore-case": "gold"}]}}}, True),
            ({"detail": {"customer": {"email": [{"suffix": "@example.com"}]}}}, True),
            ({"detail": {"customer": {"email": [{"prefix": "b@"}]}}}, False),
            ({"detail": {"items": {"sku": ["B-2"]}}}, True),
            ({"detail": {"items": {"sku": ["C-3"]}}}, False),
            ({"detail": {"coupon": [{"exists": False}]}}, True),
            ({"detail": {"coupon": [{"exists": True}]}}, False),
            ({"source": [{"anything-but": ["shop", "other"]}]}, False),
            ({"detail": {"ip": [{"cidr": "10.0.0.0/16"}]}}, True),
            ({"detail": {"ip": [{"cidr": "10.1.0.0/16"}]}}, False),
            ({"detail-type": [{"wildcard": "order.*"}]}, True),
            ({"$or": [{"source": ["nope"]}, {"detail": {"total": [12]}}]}, True),
            ({"$or": [{"source": ["nope"]}, {"detail": {"total": [13]}}]}, False),
        ]
        for pattern, want in cases:
            with self.subTest(pattern=pattern):
                status, _, doc = c.call("POST", "/v1/rules/test", {"event_pattern": pattern, "event": event})
                self.assertEqual(status, 200, doc)
                self.assertEqual(doc, {"match": want})
        status, _, doc = c.call("POST", "/v1/rules/test",
                                {"event_pattern": {"detail": {"total": [{"numeric": ["=", "x"]}]}}, "event": event})
        assert_error(self, status, doc, 400, mentions=("numeric",))

    def test_rule_webhook_gets_matching_events_only(self):
        hooks, other = self.client("hooks"), self.client("events")
        hook = self.receiver(secret="rule-secret")
        pattern = {"source": ["shop"], "detail-type": ["order.placed"],
                   "detail": {"total": [{"numeric": [">", 10]}]}}
        target = {"type": "webhook", "url": hook.url("/orders"), "secret": "rule-secret"}
        status, _, doc = hooks.call("POST", "/v1/rules", {"name": "big-orders", "event_pattern": pattern,
                                                          "targets": [target]})
        self.assertEqual(status, 201, doc)
        try:
            # Not matching: too small, other type, other tenant's identical event.
            hooks.publish({"source": "shop", "detail-type": "order.placed", "detail": {"total": 5, "n": 1}},
                          {"source": "shop", "detail-type": "order.cancelled", "detail": {"total": 50, "n": 2}})
            other.publish({"source": "shop", "detail-type": "order.placed", "detail": {"total": 99, "n": 3}})
            doc = hooks.publish({"source": "shop", "detail-type": "order.placed", "detail": {"total": 12, "n": 4}})
            self.assertEqual(doc.get("failed_entry_count"), 0, doc)
            event_id = doc["entries"][0]["event_id"]
            self.assertRegex(event_id, r"^evt_")
            (d,) = hook.wait_for(1, path="/orders")
            time.sleep(1.0)  # anything wrongly matched would have arrived by now
            got = hook.snapshot("/orders")
            self.assertEqual([x.json["detail"].get("n") for x in got], [4], f"only event n=4 matches: {got}")
            self.assertEqual(d.event_id, event_id)
            self.assertEqual(d.event_type, "order.placed")
            self.assertTrue(d.signature_ok, d.signature_problem)
            evt = d.json
            self.assertEqual((evt["source"], evt["detail-type"], evt["tenant"], evt["id"]),
                             ("shop", "order.placed", "hooks", event_id), evt)
            self.assertEqual(evt["detail"], {"total": 12, "n": 4})
        finally:
            hooks.call("DELETE", "/v1/rules/big-orders")

        # A genai rule: only the completed event of the tagged request arrives.
        pattern = {"source": ["basalt.async"], "detail-type": ["genai.request.completed"],
                   "detail": {"metadata": {"tag": ["rule-test"]}}}
        status, _, doc = hooks.call("POST", "/v1/rules", {"name": "tagged", "event_pattern": pattern,
                                                          "targets": [dict(target, url=hook.url("/tagged"))]})
        self.assertEqual(status, 201, doc)
        try:
            untagged = hooks.submit_ok(chat(metadata={"tag": "other"}))
            tagged = hooks.submit_ok(chat(metadata={"tag": "rule-test"}))
            for rid in (untagged, tagged):
                hooks.wait_status(rid, "completed")
            (d,) = hook.wait_for(1, path="/tagged")
            time.sleep(1.0)
            got = hook.snapshot("/tagged")
            self.assertEqual(len(got), 1, got)
            self.assertEqual(d.json["detail"]["request_id"], tagged)
            self.assertEqual(d.event_type, "genai.request.completed")
        finally:
            hooks.call("DELETE", "/v1/rules/tagged")

    def test_publish_events_validation(self):
        c = self.client("events")
        for body, why in (({"entries": [{"source": "basalt.async", "detail-type": "x", "detail": {}}]},
                           "basalt."),
                          ({"entries": [{"source": "shop", "detail-type": "x", "detail": {}}] * 101}, "100"),
                          ({"entries": "nope"}, "entries")):
            with self.subTest(why=why):
                status, _, doc = c.call("POST", "/v1/events", body)
                if status == 200:  # PutEvents style: per-entry failures
                    self.assertGreater(doc.get("failed_entry_count", 0), 0, f"{why}: {doc}")
                else:
                    assert_error(self, status, doc, 400)

    def test_rule_sse_target(self):
        c = self.client("events")
        status, _, doc = c.call("POST", "/v1/rules", {"name": "live", "targets": [{"type": "sse"}],
                                                      "event_pattern": {"detail-type": ["ping.live"]}})
        self.assertEqual(status, 201, doc)
        stream = EventStream(self.srv, "/v1/rules/live/events", key_for("events"), timeout=10)
        try:
            self.assertEqual(stream.status, 200, stream.error_body)
            got = None
            for i in range(5):  # published until one arrives (the subscription may start late)
                c.publish({"source": "app", "detail-type": "ping.other", "detail": {"i": i}},
                          {"source": "app", "detail-type": "ping.live", "detail": {"i": i}})
                try:
                    got = stream.next(1.5)
                    break
                except (TimeoutError, OSError):
                    continue
            self.assertIsNotNone(got, "no event on the rule's SSE stream")
            self.assertEqual(got.get("event"), "ping.live", got)
            self.assertEqual(got["data"]["detail-type"], "ping.live")
        finally:
            stream.close()
            c.call("DELETE", "/v1/rules/live")

    def test_rule_model_target_creates_invocation(self):
        c = self.client("events")
        rule = {"name": "to-model", "event_pattern": {"detail-type": ["photo.described"]},
                "targets": [{"type": "model", "model": "builtin",
                             "prompt_template": "The photo shows a {{detail.colour}} sky. What colour is the sky?"}]}
        status, _, doc = c.call("POST", "/v1/rules", rule)
        self.assertEqual(status, 201, doc)
        try:
            before = {r["request_id"] for r in c.list_all()}
            c.publish({"source": "camera", "detail-type": "photo.described", "detail": {"colour": "crimson"}})
            new = wait_until(lambda: [r for r in c.list_all() if r["request_id"] not in before], 10,
                             what="the model target to create an invocation")
            self.assertEqual(len(new), 1, new)
            rec = c.wait_status(new[0]["request_id"], TERMINAL)
            self.assertEqual(rec["status"], "completed", rec)
            self.assertIn("crimson", rec["result"]["choices"][0]["message"]["content"],
                          "prompt_template was not filled from the event")
        finally:
            c.call("DELETE", "/v1/rules/to-model")

    # ------------------------------------------------------------ webhook retries and DLQ
    def test_flaky_webhook_is_retried_until_it_succeeds(self):
        c = self.client("hooks")
        hook = self.receiver(secret="flaky-secret", name="flaky").fail_first(2)
        status, _, doc = c.call("POST", "/v1/rules", {
            "name": "flaky", "event_pattern": {"detail-type": ["flaky.test"]},
            "targets": [{"type": "webhook", "url": hook.url("/flaky"), "secret": "flaky-secret"}]})
        self.assertEqual(status, 201, doc)
        try:
            event_id = c.publish({"source": "app", "detail-type": "flaky.test", "detail": {"x": 1}}
                                 )["entries"][0]["event_id"]
            got = hook.wait_for(3, timeout=20)
            time.sleep(1.0)
            got = hook.snapshot()
            self.assertEqual([d.attempt for d in got], ["1", "2", "3"], got)
            self.assertEqual([d.answered for d in got], [500, 500, 200])
            self.assertEqual({d.event_id for d in got}, {event_id})
            self.assertEqual({d.body for d in got}.__len__(), 1, "every attempt carries the same event")
            for d in got:
                self.assertTrue(d.signature_ok, d.signature_problem)
        finally:
            c.call("DELETE", "/v1/rules/flaky")

    def test_failing_webhook_is_dead_lettered_and_redriven(self):
        c = self.client("hooks")
        hook = self.receiver(secret="dead-secret", name="dead").always_fail()
        status, _, doc = c.call("POST", "/v1/rules", {
            "name": "dead", "event_pattern": {"detail-type": ["dead.test"]},
            "targets": [{"type": "webhook", "url": hook.url("/dead"), "secret": "dead-secret",
                         "max_attempts": 3}]})
        self.assertEqual(status, 201, doc)
        try:
            event_id = c.publish({"source": "app", "detail-type": "dead.test", "detail": {"x": 2}}
                                 )["entries"][0]["event_id"]
            hook.wait_for(3, timeout=20)

            def dead():
                status, _, doc = c.call("GET", "/v1/dlq?queue=webhooks")
                assert status == 200, f"GET /v1/dlq?queue=webhooks answered {status}: {doc}"
                return dlq_entries(doc, event_id)
            entries = wait_until(dead, 10, what=f"the delivery of {event_id} in the webhooks DLQ")
            self.assertEqual(len(entries), 1, entries)
            self.assertRegex(json.dumps(entries[0]), r"500", f"the last error should say what failed: {entries}")
            time.sleep(0.5)
            got = hook.snapshot()
            self.assertEqual([d.attempt for d in got], ["1", "2", "3"], f"max_attempts 3: {got}")

            hook.succeed()
            redrive = {"queue": "webhooks"}
            entry_id = entries[0].get("id") or entries[0].get("job_id")
            if entry_id:
                redrive["ids"] = [entry_id]
            status, _, doc = c.call("POST", "/v1/dlq/redrive", redrive)
            self.assertEqual(status, 200, doc)
            self.assertEqual(doc.get("redriven"), 1, doc)
            got = hook.wait_for(4, timeout=15)
            last = got[3]
            self.assertEqual((last.event_id, last.answered), (event_id, 200), got)
            self.assertEqual(last.attempt, "1", "redriven jobs start again with fresh attempts")
            self.assertTrue(last.signature_ok, last.signature_problem)
            self.assertEqual(dead(), [], "a redriven delivery must leave the DLQ")
        finally:
            c.call("DELETE", "/v1/rules/dead")

    # ------------------------------------------------------------ model failures and DLQ
    def test_failing_model_is_retried_dead_lettered_and_redriven(self):
        c = self.client("dlq")
        n_before = self.broken_up.count()
        rid = c.submit_ok(chat("please fail", model="broken"))
        rec = c.wait_status(rid, TERMINAL, timeout=30)
        self.assertEqual(rec["status"], "failed", rec)
        self.assertEqual((rec.get("attempts"), rec.get("max_attempts")), (3, 3), rec)
        err = rec.get("error")
        self.assertIsInstance(err, dict, rec)
        self.assertTrue(isinstance(err.get("code"), str) and err["code"], err)
        self.assertTrue(isinstance(err.get("message"), str) and err["message"], err)
        self.assertNotIn("result", {k for k, v in rec.items() if v is not None})
        time.sleep(0.3)
        self.assertEqual(self.broken_up.count() - n_before, 3,
                         "3 job attempts x 1 router attempt each = 3 upstream calls")
        events, _ = c.events(rid)
        names = [e["event"] for e in events]
        self.assertEqual(names, ["genai.request.received"] + ["genai.request.processing"] * 3
                         + ["genai.request.failed"], names)
        self.assertEqual([e["data"]["detail"].get("attempt") for e in events[1:4]], [1, 2, 3])
        self.assertIsInstance(events[-1]["data"]["detail"].get("error"), dict)

        status, _, doc = c.call("GET", "/v1/dlq?queue=genai")
        self.assertEqual(status, 200, doc)
        entries = dlq_entries(doc, rid)
        self.assertEqual(len(entries), 1, f"{rid} should be in the genai DLQ once: {doc}")
        status, _, doc = c.call("GET", "/v1/queues/stats")
        genai = [q for q in doc["queues"] if q["queue"] == "genai" and q["tenant"] == "dlq"]
        self.assertEqual(len(genai), 1, doc)
        self.assertEqual(genai[0]["dead"], 1, doc)

        # Redrive with the upstream fixed: the invocation runs again with fresh attempts.
        self.broken_up.script(default=Answer("fixed now"))
        try:
            redrive = {"queue": "genai"}
            entry_id = entries[0].get("id") or entries[0].get("job_id")
            if entry_id:
                redrive["ids"] = [entry_id]
            status, _, doc = c.call("POST", "/v1/dlq/redrive", redrive)
            self.assertEqual(status, 200, doc)
            self.assertEqual(doc.get("redriven"), 1, doc)
            rec = c.wait_status(rid, "completed", timeout=20)
            self.assertEqual(rec["result"]["choices"][0]["message"]["content"], "fixed now")
            self.assertEqual(rec.get("attempts"), 1, f"fresh attempts after redrive: {rec}")
            status, _, doc = c.call("GET", "/v1/dlq?queue=genai")
            self.assertEqual(dlq_entries(doc, rid), [], "a redriven job must leave the DLQ")
        finally:
            self.broken_up.script(default=Error(500, "the broken model is down"))

    def test_queue_stats_shape(self):
        c = self.client("alpha")
        rid = c.submit_ok(chat("stats while in flight", model="slow"))
        c.wait_status(rid, "processing", timeout=10)
        status, _, doc = c.call("GET", "/v1/queues/stats")
        self.assertEqual(status, 200, doc)
        self.assertIsInstance(doc.get("queues"), list, doc)
        genai = [q for q in doc["queues"] if q.get("queue") == "genai"]
        self.assertEqual(len(genai), 1, f"one genai row for the tenant while a job is in flight: {doc}")
        self.assertGreaterEqual(genai[0].get("in_flight", 0), 1, f"the processing job is in flight: {doc}")
        for q in doc["queues"]:
            self.assertEqual(q.get("tenant"), "alpha", f"stats must show only the caller's tenant: {doc}")
            for field in ("ready", "delayed", "in_flight", "dead", "depth"):
                self.assertIsInstance(q.get(field), int, f"{field}: {q}")
                self.assertGreaterEqual(q[field], 0, q)
            self.assertIn("oldest_age_seconds", q)
            self.assertIsInstance(q.get("queue"), str)
        c.wait_status(rid, "completed", timeout=10)

    # ------------------------------------------------------------ batches
    def batch_lines(self) -> "list[dict]":
        facts = [("The sky is blue.", "the sky", "blue"), ("Grass is green.", "grass", "green"),
                 ("Snow is white.", "snow", "white"), ("Coal is black.", "coal", "black"),
                 ("Blood is red.", "blood", "red")]
        return [{"recordId": f"r{i + 1}", "modelInput": {
            "anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
            "messages": [{"role": "user", "content": f"{fact} Bananas are yellow fruit. What colour is {thing}?"}]},
            "_want": word} for i, (fact, thing, word) in enumerate(facts)]

    def test_batch_jsonl(self):
        c = self.client("batch")
        lines = self.batch_lines()
        body = "\n".join(json.dumps({k: v for k, v in ln.items() if k != "_want"}) for ln in lines) + "\n"
        status, _, doc = c.call("POST", "/v1/batches?model=builtin&name=colours", raw=body.encode(),
                                headers={"Content-Type": "application/jsonl"})
        self.assertEqual(status, 202, doc)
        bid = doc.get("batch_id")
        self.assertTrue(bid, doc)
        self.assertEqual(doc.get("object"), "batch", doc)
        self.assertEqual(doc.get("counts", {}).get("total"), 5, doc)

        def done():
            st, _, d = c.call("GET", f"/v1/batches/{bid}")
            assert st == 200, d
            return d if d.get("status") == "completed" else None
        doc = wait_until(done, 30, what="the batch to complete")
        self.assertEqual((doc["model"], doc.get("name")), ("builtin", "colours"), doc)
        self.assertEqual(doc["counts"], {"total": 5, "queued": 0, "processing": 0, "completed": 5,
                                         "failed": 0, "cancelled": 0}, doc)
        self.assertRegex(doc.get("completed_at") or "", ISO_RE, doc)

        status, hdrs, data = self.srv.request("GET", f"/v1/batches/{bid}/output", headers=c.headers())
        self.assertEqual(status, 200, data)
        self.assertIn("jsonl", hdrs.get("content-type", ""), hdrs)
        out = [json.loads(x) for x in data.decode().splitlines() if x.strip()]
        self.assertEqual([o["recordId"] for o in out], ["r1", "r2", "r3", "r4", "r5"], "input order")
        for o, ln in zip(out, lines):
            self.assertEqual(o["modelInput"], ln["modelInput"])
            self.assertNotIn("error", o, o)
            mo = o.get("modelOutput")
            self.assertIsInstance(mo, dict, o)
            text = (mo["content"][0]["text"] if "content" in mo else mo["choices"][0]["message"]["content"])
            self.assertIn(ln["_want"], text, f"record {o['recordId']} answered from the wrong prompt: {o}")

        records = c.list(batch_id=bid)["data"]
        self.assertEqual(sorted(r["record_id"] for r in records), ["r1", "r2", "r3", "r4", "r5"], records)
        self.assertTrue(all(r["batch_id"] == bid for r in records), records)
        status, _, doc = c.call("GET", "/v1/batches")
        self.assertEqual(status, 200, doc)
        self.assertIn(bid, [b["batch_id"] for b in doc["data"]])

    def test_batch_bad_line_rejects_batch(self):
        c = self.client("batch")
        status, _, listed = c.call("GET", "/v1/batches")
        batches_before = len(listed["data"])
        invocations_before = len(c.list_all())
        good = [json.dumps({k: v for k, v in ln.items() if k != "_want"}) for ln in self.batch_lines()]
        bad_messages = json.dumps({"recordId": "r3", "modelInput": {
            "anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": "nope"}})
        for lines, want in ((good[:2] + [bad_messages] + good[3:], ("line 3", "messages")),
                            (good[:1] + ["{not json"] + good[2:], ("line 2",)),
                            (good[:3] + [json.dumps({"modelInput": {"messages": []}})], ("line 4",))):
            with self.subTest(want=want):
                status, _, doc = c.call("POST", "/v1/batches?model=builtin", raw="\n".join(lines).encode(),
                                        headers={"Content-Type": "application/jsonl"})
                err = assert_error(self, status, doc, 400)
                for w in want:
                    self.assertIn(w, err["message"], err)
        status, _, listed = c.call("GET", "/v1/batches")
        self.assertEqual(len(listed["data"]), batches_before, "a rejected batch must store nothing")
        self.assertEqual(len(c.list_all()), invocations_before, "a rejected batch must create no invocation")

    # ------------------------------------------------------------ Bedrock StartAsyncInvoke
    def bedrock(self, method: str, path: str, query: "dict | None" = None, obj=None, sign: bool = True):
        body = json.dumps(obj).encode() if obj is not None else b""
        query = query or {}
        headers = ({"Content-Type": "application/json"} if body else {})
        if sign:
            headers = sigv4(method, f"127.0.0.1:{self.srv.port}", path, query, body, BEDROCK_AKID, BEDROCK_SECRET)
        url = path + ("?" + "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(str(v), safe='-_.~')}"
                                     for k, v in sorted(query.items())) if query else "")
        status, hdrs, data = self.srv.request(method, url, body or None, headers)
        try:
            return status, hdrs, json.loads(data)
        except ValueError:
            return status, hdrs, data

    def test_bedrock_async_invoke(self):
        req = {"clientRequestToken": "bedrock-token-1", "modelId": "builtin",
               "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                              "messages": [{"role": "user", "content": SKY}]},
               "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bucket/prefix/"}}}
        status, _, doc = self.bedrock("POST", "/async-invoke", obj=req, sign=False)
        self.assertEqual(status, 403, f"/async-invoke takes SigV4, not anonymous calls: {doc}")
        status, _, doc = self.srv.json_request("POST", "/async-invoke", req,
                                               {"Authorization": f"Bearer {key_for('bedrock')}"})
        self.assertIn(status, (401, 403), f"/async-invoke takes SigV4, not API keys: {doc}")
        status, _, doc = self.bedrock("POST", "/async-invoke", obj=req)
        self.assertEqual(status, 200, doc)
        arn = doc.get("invocationArn", "")
        m = re.match(r"^arn:aws:bedrock:local:bedrock:async-invoke/(inv_[0-9A-Za-z]+)$", arn)
        self.assertTrue(m, doc)
        rid = m.group(1)

        def completed(path):
            st, _, d = self.bedrock("GET", path)
            assert st == 200, f"GET {path} answered {st}: {d}"
            assert d.get("status") in ("InProgress", "Completed"), d
            return d if d["status"] == "Completed" else None
        doc = wait_until(lambda: completed(f"/async-invoke/{rid}"), 20, what="Completed (bare id)")
        self.assertEqual(doc.get("invocationArn"), arn, doc)
        self.assertEqual(doc.get("clientRequestToken"), "bedrock-token-1", doc)
        self.assertEqual(doc.get("outputDataConfig"), req["outputDataConfig"], doc)
        for field in ("submitTime", "lastModifiedTime", "endTime"):
            self.assertRegex(doc.get(field) or "", ISO_RE, f"{field}: {doc}")
        encoded = "/async-invoke/" + urllib.parse.quote(arn, safe="")
        doc = completed(encoded)
        self.assertEqual(doc and doc.get("invocationArn"), arn, f"GET by URL-encoded ARN: {doc}")

        status, _, doc = self.bedrock("GET", "/async-invoke", {"statusEquals": "Completed", "maxResults": "10"})
        self.assertEqual(status, 200, doc)
        self.assertIn(arn, [s.get("invocationArn") for s in doc.get("asyncInvokeSummaries", [])], doc)
        status, _, doc = self.bedrock("GET", "/async-invoke", {"statusEquals": "Failed"})
        self.assertEqual(status, 200, doc)
        self.assertNotIn(arn, [s.get("invocationArn") for s in doc.get("asyncInvokeSummaries", [])], doc)

        # Outputs through the native API (the same tenant's API key): an Anthropic message.
        rec = Client(self.srv, "bedrock").record(rid)
        self.assertEqual(rec["status"], "completed", rec)
        self.assertEqual(rec["result"].get("type"), "message", rec)
        self.assertIn("blue", rec["result"]["content"][0]["text"])

        # The same clientRequestToken is idempotent.
        status, _, doc = self.bedrock("POST", "/async-invoke", obj=req)
        self.assertEqual((status, doc.get("invocationArn")), (200, arn), doc)

    # ------------------------------------------------------------ tenants
    def test_tenant_isolation(self):
        alpha, beta = self.client("alpha"), self.client("beta")
        rid = alpha.submit_ok(chat(client_token="shared-token"))
        alpha.wait_status(rid, "completed")
        for method, path in (("GET", f"/v1/async/invocations/{rid}"),
                             ("POST", f"/v1/async/invocations/{rid}/cancel"),
                             ("GET", f"/v1/async/invocations/{rid}/events")):
            with self.subTest(path=path):
                status, _, body = beta.call(method, path)
                self.assertEqual(status, 404, f"tenant beta reached alpha's {path}: {body}")
        self.assertNotIn(rid, [r["request_id"] for r in beta.list_all()])
        # The same client_token in another tenant is another request.
        status, _, doc = beta.submit(chat(client_token="shared-token"))
        self.assertEqual(status, 202, doc)
        self.assertNotEqual(doc["request_id"], rid)
        # Rules are per tenant.
        rule = {"name": "iso-rule", "event_pattern": {"source": ["x"]}, "targets": [{"type": "sse"}]}
        self.assertEqual(alpha.call("POST", "/v1/rules", rule)[0], 201)
        try:
            self.assertEqual(beta.call("GET", "/v1/rules/iso-rule")[0], 404)
            self.assertNotIn("iso-rule", [r["name"] for r in beta.call("GET", "/v1/rules")[2]["data"]])
            self.assertEqual(beta.call("POST", "/v1/rules", rule)[0], 201, "rule names are unique per tenant")
            self.assertEqual(beta.call("DELETE", "/v1/rules/iso-rule")[0], 204)
            self.assertEqual(alpha.call("GET", "/v1/rules/iso-rule")[0], 200, "beta deleted alpha's rule")
        finally:
            alpha.call("DELETE", "/v1/rules/iso-rule")
        # No key at all: 401.
        status, _, _ = Client(self.srv, None).call("GET", f"/v1/async/invocations/{rid}")
        self.assertEqual(status, 401)


# ----------------------------------------------------------------------------- workers off

QUEUED_TENANTS = ("valid", "idem", "idem2", "cancel", "lister", "stats")


class QueuedOnly(unittest.TestCase):
    """async.workers=0: everything stays queued, so counts and states are exact."""

    srv: BasaltServer

    @classmethod
    def setUpClass(cls):
        cls.srv = BasaltServer(sets={"async.workers": 0, "auth.api_keys": api_keys(*QUEUED_TENANTS)})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def client(self, tenant: str) -> Client:
        return Client(self.srv, tenant)

    def test_validation_errors_name_the_field_and_store_nothing(self):
        c = self.client("valid")
        msgs = [{"role": "user", "content": "hi"}]
        cases = [
            ({"messages": msgs}, "model"),
            ({"model": "builtin", "messages": "hi"}, "messages"),
            ({"model": "builtin"}, "messages"),
            ({"model": "builtin", "messages": msgs, "priority": 12}, "priority"),
            ({"model": "builtin", "messages": msgs, "priority": -1}, "priority"),
            ({"model": "builtin", "messages": msgs, "priority": "high"}, "priority"),
            ({"model": "builtin", "messages": msgs, "callback_url": "not a url"}, "callback_url"),
            ({"model": "builtin", "messages": msgs, "callback_url": "ftp://127.0.0.1/hook"}, "callback_url"),
            ({"model": "builtin", "messages": msgs, "client_token": ""}, "client_token"),
            ({"model": "builtin", "messages": msgs, "client_token": "t" * 257}, "client_token"),
            ({"model": "builtin", "messages": msgs, "metadata": "x"}, "metadata"),
            ({"model": "builtin", "messages": msgs, "metadata": {"big": "x" * 17000}}, "metadata"),
            ({"model": "builtin", "messages": msgs, "stream": True}, "stream"),
        ]
        for body, field in cases:
            with self.subTest(field=field, body=json.dumps(body)[:80]):
                status, _, doc = c.submit(body)
                err = assert_error(self, status, doc, 400, param=field)
                self.assertEqual(err["type"], "invalid_request_error", err)
        status, _, doc = c.call("POST", "/v1/async/invocations", raw=b"{not json",
                                headers={"Content-Type": "application/json"})
        assert_error(self, status, doc, 400)
        self.assertEqual(c.list()["data"], [], "a rejected submission must store nothing")
        # A long but valid client_token is fine.
        status, _, doc = c.submit(chat(client_token="t" * 256))
        self.assertEqual(status, 202, doc)

    def test_idempotency(self):
        c = self.client("idem")
        body = chat(client_token="order-42")
        status, _, first = c.submit(body)
        self.assertEqual(status, 202, first)
        rid = first["request_id"]
        status, hdrs, again = c.submit(body)
        self.assertEqual(status, 200, again)
        self.assertEqual(hdrs.get("idempotent-replayed"), "true", hdrs)
        self.assertEqual(again.get("request_id"), rid)
        self.assertEqual(again.get("status"), "queued")
        status, _, doc = c.submit(chat("a different question", client_token="order-42"))
        assert_error(self, status, doc, 409, code="idempotency_conflict")

        # Concurrent identical submissions: one job.
        results = []
        body2 = chat(client_token="order-43")

        def go():
            st, h, d = c.submit(body2)
            results.append((st, d.get("request_id") if isinstance(d, dict) else d))
        threads = [threading.Thread(target=go) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        statuses = sorted(st for st, _ in results)
        self.assertEqual(statuses, [200] * 7 + [202], results)
        self.assertEqual(len({r for _, r in results}), 1, results)

        listed = c.list()["data"]
        self.assertEqual(sorted(r["request_id"] for r in listed), sorted([rid, results[0][1]]),
                         f"each client_token must create exactly one job: {listed}")
        # Another tenant's token space is its own.
        status, _, other = self.client("idem2").submit(body)
        self.assertEqual(status, 202, other)
        self.assertNotEqual(other["request_id"], rid)

    def test_cancel_queued(self):
        c = self.client("cancel")
        rid = c.submit_ok(chat())
        time.sleep(0.5)
        self.assertEqual(c.record(rid)["status"], "queued", "async.workers=0 must not process anything")
        status, _, doc = c.call("POST", f"/v1/async/invocations/{rid}/cancel")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc.get("status"), "cancelled", doc)
        self.assertEqual(doc.get("request_id"), rid)
        self.assertIsInstance(doc.get("error"), dict, doc)
        rec = c.record(rid)
        self.assertEqual(rec["status"], "cancelled")
        self.assertIsNone(rec.get("result"))
        status, _, doc = c.call("POST", f"/v1/async/invocations/{rid}/cancel")
        assert_error(self, status, doc, 409, code="invalid_state", mentions=("cancelled",))
        events, ended = c.events(rid)
        self.assertEqual([e["event"] for e in events], ["genai.request.received", "genai.request.cancelled"])
        self.assertEqual(c.call("POST", "/v1/async/invocations/inv_doesnotexist/cancel")[0], 404)
        self.assertEqual(c.call("GET", "/v1/async/invocations/inv_doesnotexist")[0], 404)

    def test_list_filters_and_pagination(self):
        c = self.client("lister")
        ids = [c.submit_ok(chat(f"question {i}")) for i in range(25)]
        others = [c.submit_ok(chat("other model", model="other-model")) for _ in range(2)]
        cancelled = [ids[i] for i in (3, 7, 11, 15, 19)]
        for rid in cancelled:
            self.assertEqual(c.call("POST", f"/v1/async/invocations/{rid}/cancel")[0], 200)

        pages, after = [], None
        while True:
            q = {"limit": 10, "model": "builtin"}
            if after:
                q["after"] = after
            doc = c.list(**q)
            self.assertEqual(doc.get("object"), "list", doc)
            pages.append(doc)
            if not doc.get("has_more"):
                break
            after = doc.get("next_cursor")
            self.assertTrue(after, f"has_more without next_cursor: {doc}")
            self.assertLess(len(pages), 5, "pagination does not end")
        self.assertEqual([len(p["data"]) for p in pages], [10, 10, 5])
        self.assertEqual([p["has_more"] for p in pages], [True, True, False])
        listed = [r["request_id"] for p in pages for r in p["data"]]
        self.assertEqual(listed, list(reversed(ids)), "the list must be newest first, each record once")
        for p in pages:
            for r in p["data"]:
                self.assertNotIn("result", {k for k, v in r.items() if v is not None}, r)
                self.assertEqual(r.get("object"), "async.invocation", r)

        self.assertEqual(sorted(r["request_id"] for r in c.list(status="cancelled")["data"]), sorted(cancelled))
        queued = c.list(status="queued", limit=1000)["data"]  # 1000 is the documented maximum
        self.assertEqual(sorted(r["request_id"] for r in queued),
                         sorted(set(ids + others) - set(cancelled)))
        self.assertTrue(all(r["status"] == "queued" for r in queued))
        self.assertEqual(sorted(r["request_id"] for r in c.list(model="other-model")["data"]), sorted(others))
        self.assertEqual(c.list(status="completed")["data"], [])
        self.assertEqual(len(c.list()["data"]), 27, "default limit 100 covers all 27")
        for bad in (0, 1001, "x"):
            status, _, doc = c.call("GET", f"/v1/async/invocations?limit={bad}")
            assert_error(self, status, doc, 400, param="limit")

    def test_queue_stats_counts(self):
        c = self.client("stats")
        for _ in range(3):
            c.submit_ok(chat())
        time.sleep(1.2)
        status, _, doc = c.call("GET", "/v1/queues/stats")
        self.assertEqual(status, 200, doc)
        self.assertTrue(all(q.get("tenant") == "stats" for q in doc["queues"]),
                        f"stats must show only the caller's tenant: {doc}")
        genai = [q for q in doc["queues"] if q.get("queue") == "genai"]
        self.assertEqual(len(genai), 1, doc)
        q = genai[0]
        self.assertEqual((q["ready"], q["delayed"], q["in_flight"], q["dead"], q["depth"]), (3, 0, 0, 0, 3), q)
        self.assertIsInstance(q["oldest_age_seconds"], (int, float))
        self.assertGreaterEqual(q["oldest_age_seconds"], 1, f"the oldest job waited > 1.2 s: {q}")
        self.assertLess(q["oldest_age_seconds"], 60, q)


# ----------------------------------------------------------------------------- leases and shutdown


class Leases(unittest.TestCase):
    """Lease renewal during long model calls, bounded concurrency per model, SIGTERM drain."""

    def setUp(self):
        self.fake = quiet_fake("lease")
        self.config = write_config({
            "providers": [{"name": "leasep", "type": "openai", "base_url": self.fake.openai_base_url,
                           "api_key": "sk-lease", "timeout_ms": 60000, "max_concurrency": 16}],
            "models": {"aliases": [{"name": "long", "targets": [{"provider": "leasep", "model": "m"}]}]},
            "router": {"max_attempts": 1}})
        self.tmp = tempfile.mkdtemp(prefix="basalt-lease-")

    def tearDown(self):
        self.fake.close()
        os.unlink(self.config)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def server(self, **sets) -> SameDirServer:
        base = {"auth.api_keys": api_keys("lease")}
        base.update(sets)
        return SameDirServer(os.path.join(self.tmp, "data"), sets=base, extra_args=["--config", self.config])

    def test_lease_is_renewed_during_a_long_call_and_model_concurrency_holds(self):
        self.fake.script(Answer("long answer", first_delay=3.0), default=Answer("short answer", first_delay=0.5))
        with self.server(**{"async.visibility_timeout_ms": 1000, "async.workers": 4,
                            "async.model_concurrency": 2}) as srv:
            c = Client(srv, "lease")
            rid = c.submit_ok(chat("a long call", model="long"))
            rec = c.wait_status(rid, TERMINAL, timeout=20)
            self.assertEqual(rec["status"], "completed", rec)
            self.assertEqual(rec["result"]["choices"][0]["message"]["content"], "long answer")
            self.assertEqual(rec["attempts"], 1, f"a 3 s call with a 1 s visibility timeout was re-leased: {rec}")
            self.assertEqual(self.fake.count(), 1, "the job ran twice: the lease was not renewed")
            events, _ = c.events(rid)
            self.assertEqual([e["event"] for e in events].count("genai.request.processing"), 1, events)

            ids = [c.submit_ok(chat(f"job {i}", model="long")) for i in range(6)]
            recs = [c.wait_status(r, TERMINAL, timeout=30) for r in ids]
            self.assertEqual([r["status"] for r in recs], ["completed"] * 6)
            self.assertEqual(self.fake.max_in_flight, 2,
                             "async.model_concurrency 2 with 4 workers: exactly 2 calls at once")

    def test_sigterm_drains_and_nothing_is_lost(self):
        self.fake.script(default=Answer("drained answer", first_delay=2.0))
        srv = self.server(**{"async.workers": 2, "server.shutdown_grace_ms": 10000})
        with srv:
            c = Client(srv, "lease")
            ids = [c.submit_ok(chat(f"drain {i}", model="long")) for i in range(4)]
            wait_until(lambda: self.fake.count() >= 2, 10, what="two model calls in flight")
            srv.send_signal(signal.SIGTERM)
            self.assertEqual(srv.wait(timeout=30), 0, "serve must exit 0 after draining on SIGTERM")
        with self.server(**{"async.workers": 2}) as srv2:
            c = Client(srv2, "lease")
            for rid in ids:
                rec = c.wait_status(rid, TERMINAL, timeout=30)
                self.assertEqual(rec["status"], "completed", rec)
                self.assertEqual(rec["attempts"], 1,
                                 f"a drained job is finished or released (attempt given back): {rec}")
                events, _ = c.events(rid)
                names = [e["event"] for e in events]
                self.assertEqual([n for n in names if n in TERMINAL_EVENTS], ["genai.request.completed"], names)


# ----------------------------------------------------------------------------- basalt worker


class WorkerProcess(unittest.TestCase):
    """`basalt serve` with async.workers=0 and a `basalt worker` on the same data directory."""

    def test_worker_process_completes_jobs_by_priority(self):
        sets = {"async.workers": 0, "auth.api_keys": api_keys("wk")}
        with BasaltServer(sets=sets) as srv:
            c = Client(srv, "wk")
            low = [c.submit_ok(chat(f"low {i}. The sky is blue. What colour is the sky?")) for i in range(3)]
            high = c.submit_ok(chat(priority=9))
            time.sleep(0.5)
            self.assertEqual([c.record(r)["status"] for r in low + [high]], ["queued"] * 4)
            stream = EventStream(srv, f"/v1/async/invocations/{high}/events", c.key, timeout=30)
            self.assertEqual(stream.status, 200, stream.error_body)
            worker_sets = dict(sets, **{"async.workers": 1})
            args = [basalt_bin(), "worker", "--data-dir", srv.data_dir]
            for k, v in worker_sets.items():
                args += ["--set", f"{k}={v}"]
            log_path = os.path.join(srv.tmpdir, "worker.log")
            with open(log_path, "wb") as log:
                worker = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=child_env())
            try:
                recs = [c.wait_status(r, TERMINAL, timeout=30) for r in low + [high]]
                with open(log_path, "rb") as f:
                    log_text = f.read().decode("utf-8", "replace")[-2000:]
                self.assertEqual([r["status"] for r in recs], ["completed"] * 4, f"{recs}\nworker log:\n{log_text}")
                started = {r["request_id"]: parse_time(r["started_at"]) for r in recs}
                self.assertLessEqual(started[high], min(started[r] for r in low),
                                     f"priority 9 must run before the priority-0 jobs queued earlier: {started}")
                low_order = sorted(low, key=started.get)
                self.assertEqual(low_order, low, "equal priorities run first in, first out")
                # The serve process streams events written by the worker process, live.
                events, ended = stream.read_all(15)
                self.assertEqual([e["event"] for e in events],
                                 ["genai.request.received", "genai.request.processing", "genai.request.completed"])
                self.assertIn("blue", recs[-1]["result"]["choices"][0]["message"]["content"])
                worker.send_signal(signal.SIGTERM)
                self.assertEqual(worker.wait(timeout=20), 0, "basalt worker must exit 0 on SIGTERM")
            finally:
                stream.close()
                if worker.poll() is None:
                    worker.kill()
                    worker.wait(10)


if __name__ == "__main__":
    unittest.main()
