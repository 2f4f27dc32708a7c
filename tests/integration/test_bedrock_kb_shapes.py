"""Conformance of basalt's Bedrock Knowledge Bases API to the AWS service models.

Every operation of bedrock-agent (knowledge bases, data sources, documents, ingestion
jobs) and bedrock-agent-runtime (Retrieve, RetrieveAndGenerate, RetrieveAndGenerateStream)
that basalt serves is called once, SigV4-signed, at the method and URI the model
declares, and its response is checked against the operation's output shape read from
../shared/conformance/contracts/ at run time (never copied in):

  - the HTTP status is the model's responseCode;
  - every required member is present; no member the model does not declare appears
    inside a modelled structure (BASALT_EXTENSIONS lists the documented exceptions);
  - strings, numbers, booleans, lists, maps, timestamps (in the model's
    timestampFormat) and blobs have the right JSON types; enum values are legal;
    unions hold exactly one member; `document` shapes may hold anything;
  - header-bound members (the stream's session id) are in the headers, and an
    event stream's frames are members of its union, each payload checked likewise;
  - errors carry an x-amzn-ErrorType the operation declares, and a message.

String patterns and length bounds are not checked (SDKs do not check them either);
basalt bends one on purpose: a LOCAL_DIRECTORY data source is an S3 source whose
bucketArn is a file:// URL.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import shutil
import tempfile
import time
import unittest
import urllib.parse

import fake_upstreams
from basalt_proc import BasaltServer

HERE = os.path.dirname(os.path.abspath(__file__))
CONTRACTS = os.path.join(HERE, "..", "..", "..", "shared", "conformance", "contracts")
AGENT_MODEL = "bedrock-agent-2023-06-05.service-2.json"
RUNTIME_MODEL = "bedrock-agent-runtime-2023-07-26.service-2.json"

AKID, SECRET = "AKIDKBSHAPES000001", "kbShapesSecret/0123456789abcdefghijklmnop"
EMBED_ARN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"
MODEL_ARN = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"

# Members basalt adds outside what the model declares, by structure (documented).
BASALT_EXTENSIONS = {"RetrieveAndGenerateResponse": {"basaltConfidence"}}

ISO8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def load_model(name: str) -> dict:
    with open(os.path.join(CONTRACTS, name)) as f:
        return json.load(f)


class ShapeValidator:
    """Checks JSON values against one service model's shapes; collects the problems."""

    def __init__(self, model: dict):
        self.shapes = model["shapes"]
        self.default_ts = "unixTimestamp" if model["metadata"]["protocol"] in ("json", "rest-json") else "iso8601"

    def check(self, value, shape_name: str, path: str = "$", member: "dict | None" = None) -> "list[str]":
        errors: "list[str]" = []
        self._check(value, shape_name, path, member or {}, errors)
        return errors

    def _check(self, value, name: str, path: str, member: dict, errors: "list[str]") -> None:
        shape = self.shapes[name]
        kind = shape["type"]
        if kind == "structure":
            if shape.get("document"):
                return
            if not isinstance(value, dict):
                errors.append(f"{path}: {name} must be an object, got {type(value).__name__}")
                return
            members = {k: m for k, m in shape["members"].items() if m.get("location") is None}
            for req in shape.get("required", []):
                if req in members and req not in value:
                    errors.append(f"{path}: required member {req} of {name} is missing")
            allowed = BASALT_EXTENSIONS.get(name, set())
            present = [k for k in value if k in members]
            for key, item in value.items():
                if key in members:
                    self._check(item, members[key]["shape"], f"{path}.{key}", members[key], errors)
                elif key not in allowed:
                    errors.append(f"{path}: {name} has no member {key!r}")
            if shape.get("union") and len(present) != 1:
                errors.append(f"{path}: union {name} must hold exactly one member, holds {present}")
        elif kind == "list":
            if not isinstance(value, list):
                errors.append(f"{path}: {name} must be a list")
                return
            for i, item in enumerate(value):
                self._check(item, shape["member"]["shape"], f"{path}[{i}]", shape["member"], errors)
        elif kind == "map":
            if not isinstance(value, dict):
                errors.append(f"{path}: {name} must be a map")
                return
            for key, item in value.items():
                self._check(key, shape["key"]["shape"], f"{path}<key {key!r}>", {}, errors)
                self._check(item, shape["value"]["shape"], f"{path}[{key!r}]", {}, errors)
        elif kind == "string":
            if not isinstance(value, str):
                errors.append(f"{path}: {name} must be a string, got {value!r:.80}")
            elif "enum" in shape and value not in shape["enum"]:
                errors.append(f"{path}: {value!r} is not a legal {name} ({shape['enum']})")
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                errors.append(f"{path}: {name} must be an integer, got {value!r:.80}")
        elif kind in ("double", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.append(f"{path}: {name} must be a number, got {value!r:.80}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                errors.append(f"{path}: {name} must be a boolean")
        elif kind == "timestamp":
            fmt = member.get("timestampFormat") or shape.get("timestampFormat") or self.default_ts
            if fmt == "iso8601":
                if not (isinstance(value, str) and ISO8601.match(value)):
                    errors.append(f"{path}: {name} must be an ISO 8601 timestamp, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.append(f"{path}: {name} must be epoch seconds, got {value!r}")
        elif kind == "blob":
            try:
                base64.b64decode(value, validate=True)
            except (TypeError, ValueError):
                errors.append(f"{path}: {name} must be base64")
        else:
            errors.append(f"{path}: unhandled shape type {kind} ({name})")


class Api:
    """Calls an operation of a service model against basalt, SigV4-signed."""

    def __init__(self, srv: BasaltServer, model: dict):
        self.srv = srv
        self.model = model
        self.validator = ShapeValidator(model)

    def call(self, op: str, params: "dict | None" = None, body: "dict | None" = None):
        http = self.model["operations"][op]["http"]
        path = http["requestUri"]
        for key, value in (params or {}).items():
            path = path.replace("{" + key + "}", urllib.parse.quote(value, safe=""))
        assert "{" not in path, path
        data = b"" if body is None else json.dumps(body).encode()
        headers = fake_upstreams.sigv4_headers(http["method"], f"127.0.0.1:{self.srv.port}", path, data,
                                               AKID, SECRET)
        return self.srv.request(http["method"], path, data or None, headers, timeout=60)

    def output_shape(self, op: str) -> str:
        return self.model["operations"][op]["output"]["shape"]

    def expected_status(self, op: str) -> int:
        return self.model["operations"][op]["http"].get("responseCode", 200)

    def error_types(self, op: str) -> "set[str]":
        return {e["shape"] for e in self.model["operations"][op].get("errors", [])}


def text_doc(doc_id: str, text: str, attributes: "list | None" = None) -> dict:
    doc = {"content": {"dataSourceType": "CUSTOM", "custom": {
        "customDocumentIdentifier": {"id": doc_id}, "sourceType": "IN_LINE",
        "inlineContent": {"type": "TEXT", "textContent": {"data": text}}}}}
    if attributes:
        doc["metadata"] = {"type": "IN_LINE_ATTRIBUTE", "inlineAttributes": attributes}
    return doc


class BedrockKbShapesTest(unittest.TestCase):
    srv: BasaltServer

    @classmethod
    def setUpClass(cls):
        cls.docs_dir = tempfile.mkdtemp(prefix="basalt-kb-dir-")
        with open(os.path.join(cls.docs_dir, "lava.md"), "w") as f:
            f.write("# Lava\n\nBasalt forms when lava cools quickly.\n")
        with open(os.path.join(cls.docs_dir, "rivers.txt"), "w") as f:
            f.write("The Danube flows through Vienna and Budapest.\n")
        cls.srv = BasaltServer(sets={"auth.sigv4_keys": f"{AKID}:{SECRET}",
                                     "rag.allowed_directories": cls.docs_dir}).start()
        cls.agent = Api(cls.srv, load_model(AGENT_MODEL))
        cls.runtime = Api(cls.srv, load_model(RUNTIME_MODEL))
        cls.checked: "set[str]" = set()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        shutil.rmtree(cls.docs_dir, ignore_errors=True)

    # ------------------------------------------------------------------ helpers
    def ok(self, api: Api, op: str, params: "dict | None" = None, body: "dict | None" = None) -> dict:
        status, headers, data = api.call(op, params, body)
        self.assertEqual(status, api.expected_status(op), f"{op}: {status} {data[:500]!r}")
        self.assertTrue(headers.get("content-type", "").startswith("application/json"), headers)
        out = json.loads(data)
        errors = api.validator.check(out, api.output_shape(op), op)
        self.assertEqual(errors, [], f"{op} answered {json.dumps(out)[:2000]}")
        self.checked.add(op)
        return out

    def error(self, api: Api, op: str, params: "dict | None", body: "dict | None", want: str,
              field: "str | None" = None) -> str:
        status, headers, data = api.call(op, params, body)
        self.assertGreaterEqual(status, 400, f"{op}: {status} {data[:300]!r}")
        kind = headers.get("x-amzn-errortype", "").split(":")[0]
        self.assertEqual(kind, want, f"{op}: {headers} {data[:300]!r}")
        self.assertIn(kind, api.error_types(op), f"{op} does not declare {kind}")
        message = json.loads(data)["message"]
        if field:
            self.assertTrue(message.startswith(field), message)
        return message

    def wait_indexed(self, kb: str, ds: str, ids: "list[str]") -> None:
        body = {"documentIdentifiers": [{"dataSourceType": "CUSTOM", "custom": {"id": i}} for i in ids]}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = self.ok(self.agent, "GetKnowledgeBaseDocuments", {"knowledgeBaseId": kb, "dataSourceId": ds}, body)
            statuses = {d["identifier"]["custom"]["id"]: d["status"] for d in out["documentDetails"]}
            if all(s in ("INDEXED", "FAILED") for s in statuses.values()):
                self.assertEqual(set(statuses.values()), {"INDEXED"}, out)
                return
            time.sleep(0.1)
        self.fail(f"documents not indexed: {statuses}")

    # ------------------------------------------------------------------ the scenario
    def test_every_operation_matches_its_output_shape(self):
        a, r = self.agent, self.runtime
        kb_body = {"name": "shapes", "description": "conformance", "roleArn": "arn:aws:iam::123456789012:role/r",
                   "knowledgeBaseConfiguration": {"type": "VECTOR",
                                                  "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": EMBED_ARN}},
                   "storageConfiguration": {"type": "OPENSEARCH_SERVERLESS", "opensearchServerlessConfiguration": {
                       "collectionArn": "arn:aws:aoss:us-east-1:123456789012:collection/x", "vectorIndexName": "i",
                       "fieldMapping": {"vectorField": "v", "textField": "t", "metadataField": "m"}}}}
        kb = self.ok(a, "CreateKnowledgeBase", None, kb_body)["knowledgeBase"]
        kb_id = kb["knowledgeBaseId"]
        self.assertEqual(kb["storageConfiguration"], kb_body["storageConfiguration"])
        p = {"knowledgeBaseId": kb_id}
        self.ok(a, "GetKnowledgeBase", p)
        self.ok(a, "ListKnowledgeBases", None, {"maxResults": 10})
        self.ok(a, "UpdateKnowledgeBase", p, {**kb_body, "description": "updated"})

        ds_body = {"name": "docs", "dataSourceConfiguration": {"type": "CUSTOM"}, "dataDeletionPolicy": "DELETE",
                   "vectorIngestionConfiguration": {"chunkingConfiguration": {
                       "chunkingStrategy": "FIXED_SIZE",
                       "fixedSizeChunkingConfiguration": {"maxTokens": 80, "overlapPercentage": 10}}}}
        ds_id = self.ok(a, "CreateDataSource", p, ds_body)["dataSource"]["dataSourceId"]
        pd = {"knowledgeBaseId": kb_id, "dataSourceId": ds_id}
        self.ok(a, "GetDataSource", pd)
        self.ok(a, "ListDataSources", p, {})

        attrs = [{"key": "team", "value": {"type": "STRING", "stringValue": "geo"}},
                 {"key": "year", "value": {"type": "NUMBER", "numberValue": 2024}},
                 {"key": "public", "value": {"type": "BOOLEAN", "booleanValue": True}},
                 {"key": "tags", "value": {"type": "STRING_LIST", "stringListValue": ["a", "b"]}},
                 {"key": "x-amz-bedrock-kb-source-uri", "value": {"type": "STRING", "stringValue": "s3://b/paris.txt"}}]
        html = {"content": {"dataSourceType": "CUSTOM", "custom": {
            "customDocumentIdentifier": {"id": "page"}, "sourceType": "IN_LINE",
            "inlineContent": {"type": "BYTE", "byteContent": {
                "mimeType": "text/html",
                "data": base64.b64encode(b"<html><body><h1>Lava</h1><p>Basalt forms from lava.</p></body></html>").decode()}}}}}
        docs = {"documents": [text_doc("paris", "The Seine flows through Paris. Paris is in France.", attrs), html]}
        self.ok(a, "IngestKnowledgeBaseDocuments", pd, docs)
        self.wait_indexed(kb_id, ds_id, ["paris", "page"])
        self.ok(a, "ListKnowledgeBaseDocuments", pd, {"maxResults": 1})

        job = self.ok(a, "StartIngestionJob", pd, {"description": "scan"})["ingestionJob"]
        self.ok(a, "GetIngestionJob", {**pd, "ingestionJobId": job["ingestionJobId"]})
        self.ok(a, "ListIngestionJobs", pd, {"sortBy": {"attribute": "STARTED_AT", "order": "DESCENDING"}})

        retrieval = {"vectorSearchConfiguration": {"numberOfResults": 4, "overrideSearchType": "HYBRID",
                                                   "filter": {"orAll": [{"equals": {"key": "team", "value": "geo"}},
                                                                        {"listContains": {"key": "tags", "value": "a"}}]}}}
        found = self.ok(r, "Retrieve", p, {"retrievalQuery": {"text": "Which river flows through Paris?"},
                                           "retrievalConfiguration": retrieval})
        self.assertTrue(found["retrievalResults"])
        meta = found["retrievalResults"][0]["metadata"]
        for key in ("x-amz-bedrock-kb-source-uri", "x-amz-bedrock-kb-chunk-id", "x-amz-bedrock-kb-data-source-id"):
            self.assertIn(key, meta)

        config = {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": {
            "knowledgeBaseId": kb_id, "modelArn": MODEL_ARN, "retrievalConfiguration": retrieval}}
        question = {"input": {"text": "Which river flows through Paris?"}, "retrieveAndGenerateConfiguration": config}
        status, headers, data = r.call("RetrieveAndGenerate", None, question)
        self.assertEqual(status, 200, data[:500])
        answer = json.loads(data)
        self.assertEqual(r.validator.check(answer, r.output_shape("RetrieveAndGenerate"), "RetrieveAndGenerate"), [])
        self.checked.add("RetrieveAndGenerate")
        self.assertIn("Seine", answer["output"]["text"])
        self.assertTrue(answer["citations"])
        self.assertAlmostEqual(float(headers["x-basalt-confidence"]), answer["basaltConfidence"], places=4)
        self.assertGreater(answer["basaltConfidence"], 0)
        self.check_stream({**question, "sessionId": answer["sessionId"]}, answer["sessionId"])

        ids = {"documentIdentifiers": [{"dataSourceType": "CUSTOM", "custom": {"id": "paris"}}]}
        self.ok(a, "DeleteKnowledgeBaseDocuments", pd, ids)
        self.ok(a, "DeleteDataSource", pd)
        self.ok(a, "DeleteKnowledgeBase", p)

        served = {"CreateKnowledgeBase", "GetKnowledgeBase", "ListKnowledgeBases", "UpdateKnowledgeBase",
                  "DeleteKnowledgeBase", "CreateDataSource", "GetDataSource", "ListDataSources", "DeleteDataSource",
                  "IngestKnowledgeBaseDocuments", "GetKnowledgeBaseDocuments", "ListKnowledgeBaseDocuments",
                  "DeleteKnowledgeBaseDocuments", "StartIngestionJob", "GetIngestionJob", "ListIngestionJobs",
                  "Retrieve", "RetrieveAndGenerate", "RetrieveAndGenerateStream"}
        self.assertEqual(served - self.checked, set())

    def check_stream(self, body: dict, session: str) -> None:
        r = self.runtime
        op = "RetrieveAndGenerateStream"
        status, headers, data = r.call(op, None, body)
        self.assertEqual(status, 200, data[:500])
        self.assertEqual(headers.get("content-type"), "application/vnd.amazon.eventstream")
        out_shape = r.model["shapes"][r.output_shape(op)]
        for name, member in out_shape["members"].items():
            if member.get("location") == "header":
                self.assertIn(member["locationName"], headers, f"{op}.{name}")
        self.assertEqual(headers["x-amzn-bedrock-knowledge-base-session-id"], session)
        union = r.model["shapes"][out_shape["members"][out_shape["payload"]]["shape"]]
        kinds = []
        for frame_headers, payload in fake_upstreams.decode_eventstream(data):
            self.assertEqual(frame_headers.get(":message-type"), "event", frame_headers)
            kind = frame_headers[":event-type"]
            self.assertIn(kind, union["members"], f"{kind} is not an event of {op}")
            event = json.loads(payload)
            errors = r.validator.check(event, union["members"][kind]["shape"], f"{op}.{kind}")
            self.assertEqual(errors, [], event)
            kinds.append(kind)
        self.assertEqual(kinds[0], "output")
        self.assertIn("citation", kinds)
        self.assertEqual(kinds[kinds.index("citation"):], ["citation"] * (len(kinds) - kinds.index("citation")))
        self.checked.add(op)

    def test_local_directory_source_as_s3_with_a_file_url(self):
        a, r = self.agent, self.runtime
        kb_body = {"name": "dir", "roleArn": "arn:aws:iam::123456789012:role/r",
                   "knowledgeBaseConfiguration": {"type": "VECTOR",
                                                  "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": EMBED_ARN}}}
        kb_id = self.ok(a, "CreateKnowledgeBase", None, kb_body)["knowledgeBase"]["knowledgeBaseId"]
        p = {"knowledgeBaseId": kb_id}
        elsewhere = {"name": "etc", "dataSourceConfiguration": {"type": "S3", "s3Configuration": {"bucketArn": "file:///etc"}}}
        self.error(a, "CreateDataSource", p, elsewhere, "AccessDeniedException",
                   "dataSourceConfiguration.s3Configuration.bucketArn")
        bucket = {"type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::my-bucket"}}
        self.error(a, "CreateDataSource", p, {"name": "s3", "dataSourceConfiguration": bucket}, "ValidationException",
                   "dataSourceConfiguration.s3Configuration.bucketArn")
        config = {"type": "S3", "s3Configuration": {"bucketArn": f"file://{self.docs_dir}"}}
        ds = self.ok(a, "CreateDataSource", p, {"name": "folder", "dataSourceConfiguration": config})["dataSource"]
        self.assertEqual(ds["dataSourceConfiguration"], config)
        pd = {**p, "dataSourceId": ds["dataSourceId"]}
        job = self.ok(a, "StartIngestionJob", pd, {})["ingestionJob"]
        self.assertEqual(job["status"], "COMPLETE", job)
        self.assertEqual(job["statistics"]["numberOfDocumentsScanned"], 2, job)
        self.assertEqual(job["statistics"]["numberOfNewDocumentsIndexed"], 2, job)
        self.wait_indexed(kb_id, ds["dataSourceId"], ["lava.md", "rivers.txt"])
        found = self.ok(r, "Retrieve", p, {"retrievalQuery": {"text": "Which river flows through Vienna?"}})
        top = found["retrievalResults"][0]
        self.assertIn("Danube", top["content"]["text"])
        self.assertEqual(top["location"], {"type": "CUSTOM", "customDocumentLocation": {"id": "rivers.txt"}})
        self.assertEqual(top["metadata"]["x-amz-bedrock-kb-source-uri"],
                         "file://" + os.path.join(os.path.realpath(self.docs_dir), "rivers.txt"))
        self.ok(a, "DeleteKnowledgeBase", p)

    def test_errors_are_declared_and_name_the_field(self):
        a, r = self.agent, self.runtime
        missing = {"knowledgeBaseId": "ZZZZZZZZZZ"}
        self.error(a, "GetKnowledgeBase", missing, None, "ResourceNotFoundException")
        self.error(r, "Retrieve", missing, {"retrievalQuery": {"text": "q"}}, "ResourceNotFoundException")
        self.error(a, "CreateKnowledgeBase", None, {"name": "x"}, "ValidationException", "roleArn")
        bad_filter = {"retrievalQuery": {"text": "q"}, "retrievalConfiguration": {
            "vectorSearchConfiguration": {"filter": {"equals": {"key": "a"}}}}}
        self.error(r, "Retrieve", missing, bad_filter, "ValidationException",
                   "retrievalConfiguration.vectorSearchConfiguration.filter")
        self.error(r, "RetrieveAndGenerate", None, {"input": {"text": "q"}, "retrieveAndGenerateConfiguration": {
            "type": "EXTERNAL_SOURCES"}}, "ValidationException", "retrieveAndGenerateConfiguration.type")
        status, headers, _ = self.srv.request("GET", "/knowledgebases/", None, fake_upstreams.sigv4_headers(
            "GET", f"127.0.0.1:{self.srv.port}", "/knowledgebases/", b"", AKID, SECRET))
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("allow"), "PUT, POST")


class ValidatorSelfTest(unittest.TestCase):
    """The validator itself rejects what it should (so a pass above means something)."""

    def test_rejections(self):
        v = ShapeValidator(load_model(AGENT_MODEL))
        good = {"knowledgeBaseId": "ABCDEFGHIJ", "status": "DELETING"}
        self.assertEqual(v.check(good, "DeleteKnowledgeBaseResponse"), [])
        self.assertTrue(v.check({"status": "DELETING"}, "DeleteKnowledgeBaseResponse"))  # required
        self.assertTrue(v.check({**good, "status": "GONE"}, "DeleteKnowledgeBaseResponse"))  # enum
        self.assertTrue(v.check({**good, "extra": 1}, "DeleteKnowledgeBaseResponse"))  # unknown member
        self.assertTrue(v.check({**good, "knowledgeBaseId": 5}, "DeleteKnowledgeBaseResponse"))  # type
        summary = {"knowledgeBaseId": "A", "name": "n", "status": "ACTIVE", "updatedAt": 1700000000}
        self.assertTrue(v.check(summary, "KnowledgeBaseSummary"))  # timestamp format
        summary["updatedAt"] = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc).isoformat()
        self.assertEqual(v.check(summary, "KnowledgeBaseSummary"), [])
        rt = ShapeValidator(load_model(RUNTIME_MODEL))
        self.assertTrue(rt.check({"equals": {"key": "k", "value": 1}, "notEquals": {"key": "k", "value": 2}},
                                 "RetrievalFilter"))  # a union holds one member
        self.assertEqual(rt.check({"output": {"text": "t"}, "sessionId": "s", "basaltConfidence": 0.5},
                                  "RetrieveAndGenerateResponse"), [])


if __name__ == "__main__":
    unittest.main()
