"""The model gateway, black-box: the builtin provider offline, and routing to fake upstreams.

Fake upstreams (fake_upstreams.py) are real HTTP servers in this process on 127.0.0.1:0 that
speak the OpenAI and Anthropic wire formats (JSON, SSE), answer 429 with Retry-After, 500s and
400s, answer slowly, and reset connections before or in the middle of a stream. Each test
that needs them starts its own basalt with a config file pointing providers at them.
"""

import base64
import datetime
import json
import math
import os
import shutil
import socket
import statistics
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from basalt_proc import (BasaltServer, error_envelope, parse_metrics, request_bytes,
                         wait_until)
from fake_upstreams import (Answer, Error, FakeUpstream, Reset, Slow, StallStream, StreamThenReset,
                            decode_eventstream, invoke_stream_events, parse_sse, sigv4_headers)

USER_Q = "Which river flows through Paris?"
CONTEXT = ("The Seine flows through Paris and into the English Channel. "
           "Bananas are rich in potassium. The Loire is the longest river in France.")
CHAT = {"model": "anything", "messages": [
    {"role": "system", "content": "Answer from the context."},
    {"role": "user", "content": CONTEXT + " " + USER_Q}]}


# ----------------------------------------------------------------------------- helpers

def write_config(providers: list, aliases: list, router: "dict | None" = None) -> str:
    """Writes a basalt config file (JSON is YAML) and returns its path."""
    doc = {"providers": providers, "models": {"aliases": aliases}}
    if router:
        doc["router"] = router
    fd, path = tempfile.mkstemp(prefix="basalt-gw-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
    return path


def openai_provider(name: str, fake: FakeUpstream, **extra) -> dict:
    p = {"name": name, "type": "openai", "base_url": fake.openai_base_url, "api_key": f"sk-{name}-key"}
    p.update(extra)
    return p


def anthropic_provider(name: str, fake: FakeUpstream, **extra) -> dict:
    p = {"name": name, "type": "anthropic", "base_url": fake.url, "api_key": f"ak-{name}-key"}
    p.update(extra)
    return p


def alias(name: str, *targets: "tuple[str, str]") -> dict:
    return {"name": name, "targets": [{"provider": p, "model": m} for p, m in targets]}


class Gateway:
    """A basalt started with a config file; removes the file on close."""

    def __init__(self, providers: list, aliases: list, router: "dict | None" = None,
                 sets: "dict | None" = None):
        self.config = write_config(providers, aliases, router)
        self.srv = BasaltServer(sets=sets, extra_args=["--config", self.config])

    def __enter__(self) -> BasaltServer:
        try:
            return self.srv.start()
        except BaseException:
            os.unlink(self.config)
            raise

    def __exit__(self, *exc) -> None:
        try:
            self.srv.close()
        finally:
            os.unlink(self.config)


def post(srv: BasaltServer, path: str, obj, headers=None, timeout: float = 20.0):
    """POSTs JSON; returns (status, headers, parsed JSON or raw bytes)."""
    status, hdrs, data = srv.json_request("POST", path, obj, headers, timeout)
    try:
        return status, hdrs, json.loads(data)
    except ValueError:
        return status, hdrs, data


class StreamReader:
    """Sends one request on a raw socket and reads a chunked streaming response incrementally."""

    def __init__(self, srv: BasaltServer, path: str, obj, headers=None, timeout: float = 15.0):
        self.sock = srv.connect(timeout)
        self.sock.settimeout(timeout)
        body = json.dumps(obj).encode()
        self.sent_at = time.monotonic()
        self.sock.sendall(request_bytes("POST", path, body, headers))
        self.raw = b""
        self.status: "int | None" = None
        self.headers: "dict[str, str]" = {}
        self.body = b""  # de-chunked body so far
        self.complete = False  # the zero-length chunk arrived
        self.closed = False  # the connection closed (or reset) before completion
        self.first_body_at: "float | None" = None
        self._pending = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def _recv(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        now = time.monotonic()
        if not chunk:
            self.closed = True
            return False
        self.raw += chunk
        self._pending += chunk
        self._parse(now)
        return True

    def _parse(self, now: float) -> None:
        if self.status is None:
            if b"\r\n\r\n" not in self._pending:
                return
            head, _, self._pending = self._pending.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            self.status = int(lines[0].split(" ")[1])
            for line in lines[1:]:
                k, _, v = line.partition(":")
                self.headers[k.strip().lower()] = v.strip()
        if "chunked" not in self.headers.get("transfer-encoding", "").lower():
            if self._pending and self.first_body_at is None:
                self.first_body_at = now
            self.body += self._pending
            self._pending = b""
            if "content-length" in self.headers and len(self.body) >= int(self.headers["content-length"]):
                self.complete = True
            return
        while not self.complete:
            line, sep, rest = self._pending.partition(b"\r\n")
            if not sep:
                return
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.complete = True
                self._pending = b""
                return
            if len(rest) < size + 2:
                return
            if self.first_body_at is None:
                self.first_body_at = now
            self.body += rest[:size]
            self._pending = rest[size + 2:]

    def read_until(self, predicate, timeout: float = 10.0) -> bool:
        """Reads until predicate(self) holds, the response completes or the connection closes."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if self.complete or self.closed:
                return predicate(self)
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                self._recv()
            except socket.timeout:
                return predicate(self)
        return True

    def read_all(self, timeout: float = 15.0) -> "StreamReader":
        self.read_until(lambda s: s.complete or s.closed, timeout)
        return self

    def events(self):
        return parse_sse(self.body.decode("utf-8", "replace"))


def openai_text_from_sse(events) -> str:
    text = ""
    for _, data in events:
        if data == "[DONE]":
            continue
        obj = json.loads(data)
        for choice in obj.get("choices") or []:
            text += (choice.get("delta") or {}).get("content") or ""
    return text


def anthropic_text_from_events(events) -> str:
    return "".join(e["delta"].get("text", "") for e in events
                   if e.get("type") == "content_block_delta")


def metrics_text(srv: BasaltServer) -> str:
    status, _, body = srv.request("GET", "/metrics", timeout=5)
    assert status == 200, status
    return body.decode()


def metric_sum(samples: dict, name: str, **labels) -> float:
    return sum(v for lbls, v in samples.get(name, []) if all(lbls.get(k) == x for k, x in labels.items()))


# ----------------------------------------------------------------------------- builtin, offline

class BuiltinOffline(unittest.TestCase):
    """No config at all: every model name goes to the builtin provider."""

    srv: BasaltServer

    @classmethod
    def setUpClass(cls):
        cls.srv = BasaltServer(sets={"server.io_threads": 2})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_chat_extracts_the_best_sentence(self):
        status, headers, body = post(self.srv, "/v1/chat/completions", CHAT)
        self.assertEqual(status, 200, body)
        self.assertIn("application/json", headers.get("content-type", ""))
        self.assertEqual(body["object"], "chat.completion")
        msg = body["choices"][0]["message"]
        self.assertEqual(msg["role"], "assistant")
        self.assertIn("Seine", msg["content"])
        self.assertNotIn("Bananas", msg["content"])
        self.assertIn(body["choices"][0]["finish_reason"], ("stop", "length"))
        usage = body["usage"]
        self.assertGreater(usage["prompt_tokens"], 0)
        self.assertGreater(usage["completion_tokens"], 0)
        self.assertEqual(usage["total_tokens"], usage["prompt_tokens"] + usage["completion_tokens"])
        # Deterministic.
        again = post(self.srv, "/v1/chat/completions", CHAT)[2]
        self.assertEqual(again["choices"][0]["message"]["content"], msg["content"])

    def test_chat_stream_with_usage(self):
        req = dict(CHAT, stream=True, stream_options={"include_usage": True})
        r = StreamReader(self.srv, "/v1/chat/completions", req).read_all()
        try:
            self.assertEqual(r.status, 200, r.raw[:300])
            self.assertTrue(r.complete, f"stream did not end cleanly: {r.raw[-300:]!r}")
            self.assertIn("text/event-stream", r.headers.get("content-type", ""))
            events = r.events()
            self.assertEqual(events[-1][1], "[DONE]")
            chunks = [json.loads(d) for _, d in events[:-1]]
            for c in chunks:
                self.assertEqual(c["object"], "chat.completion.chunk")
            self.assertIn("Seine", openai_text_from_sse(events))
            self.assertTrue(any((c["choices"] or [{}])[0].get("finish_reason") for c in chunks if c["choices"]))
            usage_chunks = [c for c in chunks if c.get("usage")]
            self.assertEqual(len(usage_chunks), 1, chunks)
            self.assertEqual(usage_chunks[0]["choices"], [])
            self.assertIs(chunks[-1], usage_chunks[0], "the usage chunk comes last")
            self.assertGreater(usage_chunks[0]["usage"]["completion_tokens"], 0)
        finally:
            r.close()

    def test_stream_without_include_usage_has_no_usage_chunk(self):
        r = StreamReader(self.srv, "/v1/chat/completions", dict(CHAT, stream=True)).read_all()
        try:
            self.assertTrue(r.complete)
            chunks = [json.loads(d) for _, d in r.events() if d != "[DONE]"]
            self.assertFalse([c for c in chunks if c.get("usage")], chunks)
        finally:
            r.close()

    def test_embeddings_float_and_base64(self):
        inputs = ["the Seine flows through Paris", "bananas are yellow"]
        status, _, body = post(self.srv, "/v1/embeddings", {"model": "anything", "input": inputs})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["object"], "list")
        self.assertEqual([d["index"] for d in body["data"]], [0, 1])
        vecs = [d["embedding"] for d in body["data"]]
        for v in vecs:
            self.assertEqual(len(v), 384)
            self.assertAlmostEqual(math.sqrt(sum(x * x for x in v)), 1.0, places=4)
        self.assertNotEqual(vecs[0], vecs[1])
        self.assertGreater(body["usage"]["prompt_tokens"], 0)
        status, _, b64 = post(self.srv, "/v1/embeddings",
                              {"model": "anything", "input": inputs[0], "encoding_format": "base64"})
        self.assertEqual(status, 200, b64)
        raw = base64.b64decode(b64["data"][0]["embedding"])
        self.assertEqual(len(raw), 384 * 4)
        decoded = struct.unpack("<384f", raw)
        for a, b in zip(decoded, vecs[0]):
            self.assertAlmostEqual(a, b, places=5)

    def test_models_list(self):
        status, _, body = self.srv.request("GET", "/v1/models")
        self.assertEqual(status, 200, body)
        doc = json.loads(body)
        self.assertEqual(doc["object"], "list")
        self.assertTrue(doc["data"], doc)
        for m in doc["data"]:
            self.assertEqual(m["object"], "model")
            self.assertIsInstance(m["id"], str)

    def test_validation_error_is_openai_shaped_400(self):
        status, _, body = self.srv.request("POST", "/v1/chat/completions",
                                           json.dumps({"model": "x", "messages": "nope"}),
                                           {"Content-Type": "application/json"})
        self.assertEqual(status, 400, body)
        err = error_envelope(body)
        self.assertEqual(err["type"], "invalid_request_error")
        self.assertIn("messages", err["message"])

    def test_anthropic_messages_plain_and_stream(self):
        req = {"model": "anything", "max_tokens": 200, "system": "Answer from the context.",
               "messages": [{"role": "user", "content": CONTEXT + " " + USER_Q}]}
        status, _, body = post(self.srv, "/v1/messages", req, {"anthropic-version": "2023-06-01"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["type"], "message")
        self.assertEqual(body["role"], "assistant")
        self.assertEqual(body["content"][0]["type"], "text")
        self.assertIn("Seine", body["content"][0]["text"])
        self.assertGreater(body["usage"]["output_tokens"], 0)
        r = StreamReader(self.srv, "/v1/messages", dict(req, stream=True)).read_all()
        try:
            self.assertTrue(r.complete, r.raw[-300:])
            events = r.events()
            names = [n for n, _ in events]
            self.assertEqual(names[0], "message_start")
            self.assertEqual(names[-1], "message_stop")
            for expected in ("content_block_start", "content_block_delta", "content_block_stop",
                             "message_delta"):
                self.assertIn(expected, names)
            datas = [json.loads(d) for _, d in events]
            for (name, _), d in zip(events, datas):
                self.assertEqual(d["type"], name)
            self.assertEqual(anthropic_text_from_events(datas), body["content"][0]["text"])
        finally:
            r.close()

    def test_bedrock_converse_unsigned_in_dev_mode(self):
        req = {"system": [{"text": "Answer from the context."}],
               "messages": [{"role": "user", "content": [{"text": CONTEXT + " " + USER_Q}]}],
               "inferenceConfig": {"maxTokens": 200}}
        status, _, body = post(self.srv, "/model/anything/converse", req)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["output"]["message"]["role"], "assistant")
        self.assertIn("Seine", body["output"]["message"]["content"][0]["text"])
        self.assertIn(body["stopReason"], ("end_turn", "max_tokens"))
        self.assertGreater(body["usage"]["outputTokens"], 0)
        self.assertIn("latencyMs", body["metrics"])

    def test_bedrock_converse_stream_frames(self):
        req = {"messages": [{"role": "user", "content": [{"text": CONTEXT + " " + USER_Q}]}]}
        r = StreamReader(self.srv, "/model/anything/converse-stream", req).read_all()
        try:
            self.assertEqual(r.status, 200, r.raw[:300])
            self.assertTrue(r.complete, r.raw[-300:])
            self.assertEqual(r.headers.get("content-type"), "application/vnd.amazon.eventstream")
            frames = decode_eventstream(r.body)
            types = [h.get(":event-type") for h, _ in frames]
            for h, _ in frames:
                self.assertEqual(h.get(":message-type"), "event")
            self.assertEqual(types[0], "messageStart")
            self.assertEqual(types[-1], "metadata")
            self.assertEqual(types[-2], "messageStop")
            self.assertIn("contentBlockDelta", types)
            self.assertIn("contentBlockStop", types)
            text = "".join(json.loads(p)["delta"]["text"] for h, p in frames
                           if h.get(":event-type") == "contentBlockDelta")
            self.assertIn("Seine", text)
            meta = json.loads(frames[-1][1])
            self.assertGreater(meta["usage"]["outputTokens"], 0)
            self.assertIn("latencyMs", meta["metrics"])
        finally:
            r.close()

    def test_bedrock_invoke_anthropic_body(self):
        req = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
               "messages": [{"role": "user", "content": CONTEXT + " " + USER_Q}]}
        status, headers, body = post(self.srv, "/model/anything/invoke", req)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["type"], "message")
        self.assertIn("Seine", body["content"][0]["text"])
        self.assertGreater(body["usage"]["input_tokens"], 0)
        self.assertGreater(body["usage"]["output_tokens"], 0)
        self.assertEqual(headers.get("x-amzn-bedrock-output-token-count"), str(body["usage"]["output_tokens"]))

    def test_bedrock_invoke_with_response_stream(self):
        req = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
               "messages": [{"role": "user", "content": CONTEXT + " " + USER_Q}]}
        r = StreamReader(self.srv, "/model/anything/invoke-with-response-stream", req).read_all()
        try:
            self.assertEqual(r.status, 200, r.raw[:300])
            self.assertTrue(r.complete, r.raw[-300:])
            events = invoke_stream_events(r.body)
            self.assertEqual(events[0]["type"], "message_start")
            self.assertEqual(events[-1]["type"], "message_stop")
            self.assertIn("Seine", anthropic_text_from_events(events))
        finally:
            r.close()

    def test_bedrock_validation_error_is_aws_shaped(self):
        status, headers, body = post(self.srv, "/model/anything/converse", {"messages": "nope"})
        self.assertEqual(status, 400, body)
        self.assertEqual(headers.get("x-amzn-errortype", "").split(":")[0], "ValidationException")
        self.assertIsInstance(body.get("message"), str, body)


# ----------------------------------------------------------------------------- routing to fakes

class Routing(unittest.TestCase):
    """Aliases routed to fake OpenAI / Anthropic upstreams: mapping, retries, fallbacks."""

    FAST_ROUTER = {"backoff_base_ms": 10, "backoff_cap_ms": 50}

    def setUp(self):
        self.fakes = []

    def tearDown(self):
        for f in self.fakes:
            f.close()

    def fake(self, name: str) -> FakeUpstream:
        f = FakeUpstream(name).start()
        self.fakes.append(f)
        return f

    # ------------------------------------------------------------ pass-through
    def test_alias_to_openai_upstream(self):
        up = self.fake("up")
        up.script(default=Answer("The fake says hello."))
        providers = [openai_provider("up", up)]
        with Gateway(providers, [alias("smart", ("up", "gpt-upstream-1"))]) as srv:
            req = {"model": "smart", "messages": [{"role": "user", "content": "hi there"}],
                   "max_tokens": 33, "temperature": 0.25, "stop": ["END"]}
            status, _, body = post(srv, "/v1/chat/completions", req,
                                   {"Authorization": "Bearer client-secret-token"})
            self.assertEqual(status, 200, body)
            self.assertEqual(body["choices"][0]["message"]["content"], "The fake says hello.")
            self.assertEqual(body["usage"]["prompt_tokens"], 11)
            self.assertEqual(body["usage"]["completion_tokens"], 7)
            rec = up.wait_requests(1)[0]
            self.assertEqual((rec.method, rec.path), ("POST", "/v1/chat/completions"))
            self.assertEqual(rec.headers.get("authorization"), "Bearer sk-up-key")
            self.assertIn("application/json", rec.headers.get("content-type", ""))
            sent = rec.json
            self.assertEqual(sent["model"], "gpt-upstream-1")
            self.assertEqual(sent["messages"][-1], {"role": "user", "content": "hi there"})
            self.assertIn(sent.get("max_tokens", sent.get("max_completion_tokens")), (33,))
            self.assertEqual(sent["temperature"], 0.25)
            self.assertEqual(sent["stop"], ["END"])
            self.assertFalse(sent.get("stream"))

            # Streaming through the alias.
            r = StreamReader(srv, "/v1/chat/completions",
                             dict(req, stream=True, stream_options={"include_usage": True})).read_all()
            try:
                self.assertEqual(r.status, 200, r.raw[:300])
                self.assertTrue(r.complete, r.raw[-300:])
                events = r.events()
                self.assertEqual(events[-1][1], "[DONE]")
                self.assertEqual(openai_text_from_sse(events), "The fake says hello.")
                usage = [json.loads(d)["usage"] for _, d in events[:-1] if json.loads(d).get("usage")]
                self.assertEqual(usage, [{"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}])
            finally:
                r.close()
            rec = up.wait_requests(2)[1]
            self.assertTrue(rec.json.get("stream"))
            self.assertEqual(rec.json["model"], "gpt-upstream-1")

            # The alias is listed.
            ids = [m["id"] for m in json.loads(srv.request("GET", "/v1/models")[2])["data"]]
            self.assertIn("smart", ids)

    def test_embeddings_through_alias(self):
        up = self.fake("emb")
        up.script(default=Answer(dim=8))
        with Gateway([openai_provider("emb", up)], [alias("vec", ("emb", "text-embedding-fake"))]) as srv:
            status, _, body = post(srv, "/v1/embeddings", {"model": "vec", "input": ["a", "b"]})
            self.assertEqual(status, 200, body)
            self.assertEqual([len(d["embedding"]) for d in body["data"]], [8, 8])
            self.assertEqual(body["data"][1]["embedding"][1], 1.0)
            rec = up.wait_requests(1)[0]
            self.assertEqual(rec.path, "/v1/embeddings")
            self.assertEqual(rec.json["model"], "text-embedding-fake")
            self.assertEqual(rec.json["input"], ["a", "b"])

    def test_anthropic_messages_through_alias(self):
        up = self.fake("claude")
        up.script(default=Answer("Bonjour from the fake Anthropic."))
        with Gateway([anthropic_provider("anth", up)], [alias("claude", ("anth", "claude-fake-1"))]) as srv:
            req = {"model": "claude", "max_tokens": 64, "system": "Be brief.",
                   "messages": [{"role": "user", "content": "Say hi"}]}
            status, _, body = post(srv, "/v1/messages", req)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["content"][0]["text"], "Bonjour from the fake Anthropic.")
            self.assertEqual((body["usage"]["input_tokens"], body["usage"]["output_tokens"]), (11, 7))
            self.assertEqual(body["stop_reason"], "end_turn")
            rec = up.wait_requests(1)[0]
            self.assertEqual((rec.method, rec.path), ("POST", "/v1/messages"))
            self.assertEqual(rec.headers.get("x-api-key"), "ak-anth-key")
            self.assertEqual(rec.headers.get("anthropic-version"), "2023-06-01")
            self.assertEqual(rec.json["model"], "claude-fake-1")
            self.assertEqual(rec.json["max_tokens"], 64)
            self.assertIn("Be brief.", json.dumps(rec.json["system"]))

            r = StreamReader(srv, "/v1/messages", dict(req, stream=True)).read_all()
            try:
                self.assertTrue(r.complete, r.raw[-300:])
                datas = [json.loads(d) for _, d in r.events()]
                self.assertEqual(datas[0]["type"], "message_start")
                self.assertEqual(datas[-1]["type"], "message_stop")
                self.assertEqual(anthropic_text_from_events(datas), "Bonjour from the fake Anthropic.")
            finally:
                r.close()
            self.assertTrue(up.wait_requests(2)[1].json.get("stream"))

            # The OpenAI API in front of the Anthropic upstream, plain and streamed.
            oreq = {"model": "claude", "messages": [{"role": "user", "content": "Say hi"}]}
            status, _, body = post(srv, "/v1/chat/completions", oreq)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["choices"][0]["message"]["content"], "Bonjour from the fake Anthropic.")
            self.assertIsInstance(up.wait_requests(3)[2].json.get("max_tokens"), int,
                                  "Anthropic requires max_tokens; basalt must supply one")
            r = StreamReader(srv, "/v1/chat/completions", dict(oreq, stream=True)).read_all()
            try:
                self.assertTrue(r.complete, r.raw[-300:])
                self.assertEqual(openai_text_from_sse(r.events()), "Bonjour from the fake Anthropic.")
            finally:
                r.close()

    def test_anthropic_api_and_bedrock_in_front_of_openai_upstream(self):
        up = self.fake("up")
        up.script(default=Answer("Translated both ways."))
        with Gateway([openai_provider("up", up)], [alias("smart", ("up", "gpt-x"))]) as srv:
            req = {"model": "smart", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
            status, _, body = post(srv, "/v1/messages", req)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["content"][0]["text"], "Translated both ways.")
            self.assertEqual(body["usage"]["output_tokens"], 7)
            status, _, body = post(srv, "/model/smart/converse",
                                   {"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
            self.assertEqual(status, 200, body)
            self.assertEqual(body["output"]["message"]["content"][0]["text"], "Translated both ways.")
            self.assertEqual(body["usage"]["inputTokens"], 11)
            r = StreamReader(srv, "/model/smart/converse-stream",
                             {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}).read_all()
            try:
                self.assertTrue(r.complete, r.raw[-300:])
                frames = decode_eventstream(r.body)
                text = "".join(json.loads(p)["delta"]["text"] for h, p in frames
                               if h.get(":event-type") == "contentBlockDelta")
                self.assertEqual(text, "Translated both ways.")
            finally:
                r.close()
            for rec in up.wait_requests(3):
                self.assertEqual(rec.json["model"], "gpt-x")

    # ------------------------------------------------------------ retries and fallbacks
    def test_429_retry_after_is_honoured_or_falls_back(self):
        a, b = self.fake("a"), self.fake("b")
        a.script(Error(429, "slow down", retry_after="1"), default=Answer("from a"))
        b.script(default=Answer("from b"))
        with Gateway([openai_provider("pa", a), openai_provider("pb", b)],
                     [alias("m", ("pa", "ma"), ("pb", "mb"))], router=self.FAST_ROUTER) as srv:
            t0 = time.monotonic()
            status, _, body = post(srv, "/v1/chat/completions",
                                   {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            elapsed = time.monotonic() - t0
            self.assertEqual(status, 200, body)
            text = body["choices"][0]["message"]["content"]
            print(f"\n429 Retry-After:1 -> answered by {text!r} after {elapsed * 1000:.0f} ms; "
                  f"a called {a.count()}x, b called {b.count()}x")
            if text == "from a":
                self.assertEqual(a.count(), 2)
                self.assertEqual(b.count(), 0)
                gap = a.requests[1].received_at - a.requests[0].received_at
                self.assertGreaterEqual(gap, 0.95, "the retry did not wait for Retry-After: 1")
            else:
                self.assertEqual(text, "from b")
                self.assertEqual(b.count(), 1)

    def test_persistent_429_falls_back_to_second_target(self):
        a, b = self.fake("a"), self.fake("b")
        a.script(default=Error(429, "rate limited", retry_after="0"))
        b.script(default=Answer("from b"))
        with Gateway([openai_provider("pa", a), openai_provider("pb", b)],
                     [alias("m", ("pa", "ma"), ("pb", "mb"))], router=self.FAST_ROUTER) as srv:
            status, _, body = post(srv, "/v1/chat/completions",
                                   {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            self.assertEqual(status, 200, body)
            self.assertEqual(body["choices"][0]["message"]["content"], "from b")
            self.assertGreaterEqual(a.count(), 1)
            self.assertEqual(b.count(), 1)
            samples = parse_metrics(metrics_text(srv))
            self.assertGreaterEqual(metric_sum(samples, "basalt_model_fallbacks_total", from_provider="pa"), 1,
                                    samples.get("basalt_model_fallbacks_total"))

    def test_500_falls_back_to_second_target(self):
        a, b = self.fake("a"), self.fake("b")
        a.script(default=Error(500, "boom"))
        b.script(default=Answer("from b"))
        with Gateway([openai_provider("pa", a), openai_provider("pb", b)],
                     [alias("m", ("pa", "ma"), ("pb", "mb"))], router=self.FAST_ROUTER) as srv:
            status, _, body = post(srv, "/v1/chat/completions",
                                   {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            self.assertEqual(status, 200, body)
            self.assertEqual(body["choices"][0]["message"]["content"], "from b")
            self.assertIn(a.count(), (1, 2), "at most max_attempts (2) tries of the failing target")
            self.assertEqual(b.wait_requests(1)[0].json["model"], "mb")
            # Streams fall back too, before the first byte.
            r = StreamReader(srv, "/v1/chat/completions",
                             {"model": "m", "stream": True,
                              "messages": [{"role": "user", "content": "hi"}]}).read_all()
            try:
                self.assertEqual(r.status, 200, r.raw[:300])
                self.assertTrue(r.complete)
                self.assertEqual(openai_text_from_sse(r.events()), "from b")
            finally:
                r.close()

    def test_400_is_returned_without_fallback(self):
        a, b = self.fake("a"), self.fake("b")
        a.script(default=Error(400, "messages[0].content: too long for this model"))
        b.script(default=Answer("from b"))
        with Gateway([openai_provider("pa", a), openai_provider("pb", b)],
                     [alias("m", ("pa", "ma"), ("pb", "mb"))], router=self.FAST_ROUTER) as srv:
            status, _, body = srv.json_request("POST", "/v1/chat/completions",
                                               {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            self.assertEqual(status, 400, body)
            err = error_envelope(body)
            self.assertEqual(err["type"], "invalid_request_error")
            time.sleep(0.3)
            self.assertEqual(a.count(), 1, "a 400 must not be retried")
            self.assertEqual(b.count(), 0, "a 400 must not fall back")

    def test_anthropic_upstream_overloaded_falls_back_but_not_on_400(self):
        a, b = self.fake("a"), self.fake("b")
        a.script(Error(529, "overloaded"), Error(529, "overloaded"),
                 Error(400, "max_tokens: must be at most 4096"), default=Answer("from a"))
        b.script(default=Answer("from b"))
        with Gateway([anthropic_provider("pa", a), openai_provider("pb", b)],
                     [alias("m", ("pa", "claude-a"), ("pb", "mb"))], router=self.FAST_ROUTER) as srv:
            req = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
            status, _, body = post(srv, "/v1/messages", req)
            self.assertEqual(status, 200, body)
            self.assertEqual(body["content"][0]["text"], "from b")
            self.assertEqual(a.count(), 2)
            status, _, body = post(srv, "/v1/messages", req)
            self.assertEqual(status, 400, body)
            self.assertEqual(body["error"]["type"], "invalid_request_error", body)
            self.assertEqual((a.count(), b.count()), (3, 1), "a 400 must neither retry nor fall back")

    def test_circuit_opens_after_consecutive_failures(self):
        a, b = self.fake("a"), self.fake("b")
        a.script(default=Error(503, "down"))
        b.script(default=Answer("from b"))
        router = dict(self.FAST_ROUTER, max_attempts=1, breaker_failures=2, breaker_cooldown_ms=60000)
        with Gateway([openai_provider("pa", a), openai_provider("pb", b)],
                     [alias("m", ("pa", "ma"), ("pb", "mb"))], router=router) as srv:
            for _ in range(5):
                status, _, body = post(srv, "/v1/chat/completions",
                                       {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
                self.assertEqual(status, 200, body)
                self.assertEqual(body["choices"][0]["message"]["content"], "from b")
            self.assertEqual(a.count(), 2, "an open circuit must stop calls to the failing target")
            self.assertEqual(b.count(), 5)
            samples = parse_metrics(metrics_text(srv))
            self.assertEqual(metric_sum(samples, "basalt_model_circuit_state", provider="pa", model="ma"), 2,
                             samples.get("basalt_model_circuit_state"))
            self.assertGreaterEqual(metric_sum(samples, "basalt_model_fallbacks_total", from_provider="pa",
                                               reason="circuit_open"), 3)

    def test_max_concurrency_per_provider(self):
        a = self.fake("a")
        a.script(default=Answer("from a", first_delay=0.3))
        with Gateway([openai_provider("pa", a, max_concurrency=1)], [alias("m", ("pa", "ma"))]) as srv:
            results = []

            def call():
                results.append(post(srv, "/v1/chat/completions",
                                    {"model": "m", "messages": [{"role": "user", "content": "hi"}]})[0])

            threads = [threading.Thread(target=call) for _ in range(3)]
            for th in threads:
                th.start()
            for th in threads:
                th.join(20)
            self.assertEqual(results, [200, 200, 200])
            self.assertEqual(a.max_in_flight, 1, "max_concurrency: 1 was exceeded")

    def test_retry_after_beyond_the_deadline_is_not_waited_for(self):
        a = self.fake("a")
        a.script(default=Error(429, "slow down", retry_after="5"))
        with Gateway([openai_provider("pa", a)], [alias("m", ("pa", "ma"))], router=self.FAST_ROUTER,
                     sets={"server.request_timeout_ms": 1500}) as srv:
            t0 = time.monotonic()
            status, _, body = srv.json_request("POST", "/v1/chat/completions",
                                               {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            elapsed = time.monotonic() - t0
            self.assertIn(status, (429, 504), body)
            error_envelope(body)
            self.assertLess(elapsed, 2.5, "waited past the request deadline")
            self.assertEqual(a.count(), 1)

    def test_reset_before_answer_falls_back(self):
        a, b = self.fake("a"), self.fake("b")
        a.script(default=Reset())
        b.script(default=Answer("from b"))
        with Gateway([openai_provider("pa", a), openai_provider("pb", b)],
                     [alias("m", ("pa", "ma"), ("pb", "mb"))], router=self.FAST_ROUTER) as srv:
            status, _, body = post(srv, "/v1/chat/completions",
                                   {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            self.assertEqual(status, 200, body)
            self.assertEqual(body["choices"][0]["message"]["content"], "from b")

    def test_slow_upstream_beyond_timeout_falls_back(self):
        a, b = self.fake("a"), self.fake("b")
        a.script(default=Slow(10))
        b.script(default=Answer("from b"))
        with Gateway([openai_provider("pa", a, timeout_ms=300), openai_provider("pb", b)],
                     [alias("m", ("pa", "ma"), ("pb", "mb"))], router=self.FAST_ROUTER) as srv:
            t0 = time.monotonic()
            status, _, body = post(srv, "/v1/chat/completions",
                                   {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            elapsed = time.monotonic() - t0
            self.assertEqual(status, 200, body)
            self.assertEqual(body["choices"][0]["message"]["content"], "from b")
            self.assertLess(elapsed, 3.0, "the 300 ms per-attempt timeout was not applied")
            # The abandoned attempts were cancelled: the slow fake saw its connections close.
            wait_until(lambda: all(r.closed_at for r in a.requests), 3, what="slow upstream cancelled")

    def test_slow_single_target_times_out_504(self):
        a = self.fake("a")
        a.script(default=Slow(10))
        with Gateway([openai_provider("pa", a, timeout_ms=300)], [alias("m", ("pa", "ma"))],
                     router=dict(self.FAST_ROUTER, max_attempts=1)) as srv:
            t0 = time.monotonic()
            status, _, body = srv.json_request("POST", "/v1/chat/completions",
                                               {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            elapsed = time.monotonic() - t0
            self.assertEqual(status, 504, body)
            error_envelope(body)
            self.assertLess(elapsed, 3.0)

    # ------------------------------------------------------------ streams and disconnects
    def test_reset_mid_stream_ends_client_stream(self):
        a, b = self.fake("a"), self.fake("b")
        a.script(default=StreamThenReset(["partial ", "answer "]))
        b.script(default=Answer("from b"))
        with Gateway([openai_provider("pa", a), openai_provider("pb", b)],
                     [alias("m", ("pa", "ma"), ("pb", "mb"))], router=self.FAST_ROUTER) as srv:
            t0 = time.monotonic()
            r = StreamReader(srv, "/v1/chat/completions",
                             {"model": "m", "stream": True,
                              "messages": [{"role": "user", "content": "hi"}]}).read_all(timeout=10)
            elapsed = time.monotonic() - t0
            try:
                self.assertTrue(r.complete or r.closed, f"the client stream hung: {r.raw[-300:]!r}")
                self.assertLess(elapsed, 5.0)
                self.assertEqual(r.status, 200)
                events = r.events()
                datas = [d for _, d in events]
                self.assertIn("partial answer ", openai_text_from_sse(
                    [e for e in events if e[1] != "[DONE]" and "error" not in json.loads(e[1])]))
                self.assertNotIn("[DONE]", datas, "a truncated stream must not look complete")
                errors = [json.loads(d)["error"] for d in datas if "error" in json.loads(d)]
                self.assertTrue(errors or r.closed,
                                "the stream ended cleanly with neither an error event nor a close")
                self.assertEqual(b.count(), 0, "no fallback after bytes went to the client")
            finally:
                r.close()

    def test_reset_mid_stream_anthropic_api(self):
        a = self.fake("a")
        a.script(default=StreamThenReset(["partial ", "answer "]))
        with Gateway([anthropic_provider("pa", a)], [alias("m", ("pa", "ma"))],
                     router=self.FAST_ROUTER) as srv:
            r = StreamReader(srv, "/v1/messages",
                             {"model": "m", "stream": True, "max_tokens": 20,
                              "messages": [{"role": "user", "content": "hi"}]}).read_all(timeout=10)
            try:
                self.assertTrue(r.complete or r.closed, f"the client stream hung: {r.raw[-300:]!r}")
                names = [n for n, _ in r.events()]
                self.assertNotIn("message_stop", names, "a truncated stream must not look complete")
                self.assertTrue("error" in names or r.closed, names)
            finally:
                r.close()

    def test_client_disconnect_cancels_upstream_call(self):
        a = self.fake("a")
        a.script(default=Slow(20))
        with Gateway([openai_provider("pa", a)], [alias("m", ("pa", "ma"))]) as srv:
            r = StreamReader(srv, "/v1/chat/completions",
                             {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            rec = a.wait_requests(1)[0]
            closed_by_client = time.monotonic()
            r.close()
            wait_until(lambda: rec.closed_at, 3, what="the upstream connection to close")
            delay = rec.closed_at - closed_by_client
            print(f"\nupstream call cancelled {delay * 1000:.1f} ms after the client disconnected")
            self.assertLess(delay, 2.0)
            self.assertTrue(srv.alive())

    def test_client_disconnect_mid_stream_cancels_upstream_stream(self):
        a = self.fake("a")
        a.script(default=StallStream(["first "], seconds=20))
        with Gateway([openai_provider("pa", a)], [alias("m", ("pa", "ma"))]) as srv:
            r = StreamReader(srv, "/v1/chat/completions",
                             {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
            self.assertTrue(r.read_until(lambda s: b"first" in s.body, 10), r.raw[-300:])
            rec = a.requests[0]
            closed_by_client = time.monotonic()
            r.close()
            wait_until(lambda: rec.closed_at, 3, what="the upstream stream to close")
            delay = rec.closed_at - closed_by_client
            print(f"\nupstream stream cancelled {delay * 1000:.1f} ms after the client disconnected")
            self.assertLess(delay, 2.0)

    def test_client_disconnect_mid_stream_stops_a_streaming_upstream(self):
        a = self.fake("a")
        a.script(default=Answer(pieces=[f"piece{i} " for i in range(200)], gap=0.1))
        with Gateway([openai_provider("pa", a)], [alias("m", ("pa", "ma"))]) as srv:
            r = StreamReader(srv, "/v1/chat/completions",
                             {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
            self.assertTrue(r.read_until(lambda s: b"piece1 " in s.body, 10), r.raw[-300:])
            rec = a.requests[0]
            closed_by_client = time.monotonic()
            r.close()
            wait_until(lambda: rec.closed_at, 5, what="the upstream stream to close")
            delay = rec.closed_at - closed_by_client
            print(f"\nstreaming upstream closed {delay * 1000:.1f} ms after the client disconnected")
            self.assertLess(delay, 2.0)
            self.assertLess(len(rec.marker_sent_at), 100, "the upstream stream ran to its end")

    def test_stream_first_byte_latency(self):
        a = self.fake("a")
        pieces = [f"MARK{i} " for i in range(10)]
        a.script(default=Answer(pieces=pieces, text="".join(pieces), first_delay=0.2, gap=0.05))
        with Gateway([openai_provider("pa", a)], [alias("m", ("pa", "ma"))],
                     sets={"log.level": "warn"}) as srv:
            # Warm up the pooled upstream connection and code paths.
            post(srv, "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            firsts, all_lat = [], []
            for _ in range(3):
                r = StreamReader(srv, "/v1/chat/completions",
                                 {"model": "m", "stream": True,
                                  "messages": [{"role": "user", "content": "hi"}]})
                try:
                    seen = {}
                    for p in pieces:
                        marker = p.strip().encode()
                        self.assertTrue(r.read_until(lambda s: marker in s.body, 10), r.raw[-300:])
                        seen[p] = time.monotonic()
                    r.read_all()
                    self.assertTrue(r.complete)
                finally:
                    r.close()
                rec = a.requests[-1]
                lat = [seen[p] - rec.marker_sent_at[p] for p in pieces]
                firsts.append(lat[0])
                all_lat += lat
            ms = [x * 1000 for x in all_lat]
            print(f"\nstream relay latency (upstream write -> client read): first token "
                  f"{', '.join(f'{x * 1000:.2f}' for x in firsts)} ms; all tokens p50 "
                  f"{statistics.median(ms):.2f} ms, max {max(ms):.2f} ms")
            self.assertLess(min(firsts), 0.050)
            self.assertLess(statistics.median(all_lat), 0.050)

    # ------------------------------------------------------------ metrics
    def test_metrics_after_fallbacks(self):
        a, b = self.fake("a"), self.fake("b")
        a.script(default=Error(500, "boom"))
        b.script(default=Answer("from b"))
        with Gateway([openai_provider("pa", a), openai_provider("pb", b)],
                     [alias("m", ("pa", "ma"), ("pb", "mb"))], router=self.FAST_ROUTER) as srv:
            for _ in range(2):
                status, _, body = post(srv, "/v1/chat/completions",
                                       {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
                self.assertEqual(status, 200, body)
            post(srv, "/v1/messages", {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "x"}]})
            text = metrics_text(srv)
            samples = parse_metrics(text)
            for name in ("basalt_model_requests_total", "basalt_model_retries_total",
                         "basalt_model_fallbacks_total", "basalt_gateway_overhead_seconds_count",
                         "basalt_model_input_tokens_total", "basalt_model_output_tokens_total",
                         "basalt_model_upstream_latency_seconds_count", "basalt_model_circuit_state"):
                self.assertIn(name, samples, f"{name} missing from /metrics")
            self.assertGreaterEqual(metric_sum(samples, "basalt_model_requests_total", model="m", status="ok"), 3,
                                    samples["basalt_model_requests_total"])
            self.assertGreaterEqual(metric_sum(samples, "basalt_model_retries_total", provider="pa"), 1)
            self.assertGreaterEqual(metric_sum(samples, "basalt_model_fallbacks_total", from_provider="pa"), 1)
            self.assertGreaterEqual(metric_sum(samples, "basalt_gateway_overhead_seconds_count", api="openai"), 2)
            self.assertGreaterEqual(metric_sum(samples, "basalt_gateway_overhead_seconds_count", api="anthropic"), 1)
            self.assertGreaterEqual(metric_sum(samples, "basalt_model_output_tokens_total", provider="pb"), 14)
            promtool = shutil.which("promtool")
            if not promtool:
                print("\npromtool not on PATH: skipping `promtool check metrics`")
                return
            res = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                                 timeout=60)
            out = (res.stdout + res.stderr).strip()
            self.assertEqual(res.returncode, 0, f"promtool check metrics:\n{out}")


# ----------------------------------------------------------------------------- SigV4

AKID, SECRET = "AKIDEXAMPLE0000001", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
API_KEY = "gateway-test-key-0123456789"


class BedrockSigV4(unittest.TestCase):
    srv: BasaltServer

    @classmethod
    def setUpClass(cls):
        cls.srv = BasaltServer(sets={"auth.sigv4_keys": f"{AKID}:{SECRET}", "auth.api_keys": API_KEY})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def call(self, secret=SECRET, akid=AKID, when=None, path="/model/anything/invoke", sign=True):
        body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                           "messages": [{"role": "user", "content": "The sky is blue. What colour is the sky?"}]}
                          ).encode()
        headers = {"Content-Type": "application/json"}
        if sign:
            headers = sigv4_headers("POST", f"127.0.0.1:{self.srv.port}", path, body, akid, secret, when=when)
        status, hdrs, data = self.srv.request("POST", path, body, headers)
        return status, hdrs, data

    def assert_aws_error(self, status, hdrs, data, expected_status=403):
        self.assertEqual(status, expected_status, data)
        self.assertTrue(hdrs.get("x-amzn-errortype"), hdrs)
        doc = json.loads(data)
        self.assertIsInstance(doc.get("message") or doc.get("Message"), str, doc)
        return hdrs["x-amzn-errortype"].split(":")[0]

    def test_valid_signature(self):
        status, _, data = self.call()
        self.assertEqual(status, 200, data)
        self.assertIn("blue", json.loads(data)["content"][0]["text"])

    def test_wrong_secret_is_403(self):
        kind = self.assert_aws_error(*self.call(secret="not-the-secret"))
        self.assertIn(kind, ("InvalidSignatureException", "AccessDeniedException", "SignatureDoesNotMatch"))

    def test_clock_skew_beyond_5_minutes_is_403(self):
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=6)
        self.assert_aws_error(*self.call(when=past))
        future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=6)
        self.assert_aws_error(*self.call(when=future))
        near = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=4)
        self.assertEqual(self.call(when=near)[0], 200)

    def test_unknown_access_key_is_403(self):
        kind = self.assert_aws_error(*self.call(akid="AKIDUNKNOWN0000000"))
        self.assertEqual(kind, "UnrecognizedClientException")

    def test_unsigned_is_403(self):
        # AWS answers a request without credentials with 403 MissingAuthenticationToken(Exception).
        self.assert_aws_error(*self.call(sign=False))

    def test_openai_route_takes_the_api_key(self):
        status, _, _ = post(self.srv, "/v1/chat/completions", CHAT)
        self.assertEqual(status, 401)
        status, _, body = post(self.srv, "/v1/chat/completions", CHAT, {"Authorization": f"Bearer {API_KEY}"})
        self.assertEqual(status, 200, body)


if __name__ == "__main__":
    unittest.main()
