"""The command line: version, config check, config keys, and a config file driving `serve`."""

import json
import os
import re
import shutil
import tempfile
import textwrap
import unittest

from basalt_proc import BasaltServer, request_bytes, exchange, run_cli


class Cli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="basalt-it-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))
        return path

    def test_version(self):
        res = run_cli("version")
        self.assertEqual(res.returncode, 0, res)
        self.assertRegex(res.stdout.strip(), r"^basalt \d+\.\d+\.\d+$")

    def test_config_check_good(self):
        path = self.write("good.yaml", """
            # a comment
            server:
              host: 127.0.0.1
              port: 8080
              max_body_bytes: 1048576
              access_log: false
            log:
              level: warn
            auth:
              api_keys: ["0123456789abcdefXYZ"]
            """)
        res = run_cli("config", "check", path)
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(res.stdout.strip(), f"{path}: ok")

    def test_config_check_empty_file_ok(self):
        path = self.write("empty.yaml", "")
        res = run_cli("config", "check", path)
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(res.stdout.strip(), f"{path}: ok")

    def test_config_check_unknown_keys_with_lines(self):
        path = self.write("bad.yaml", """
            server:
              host: 127.0.0.1
              prot: 8080
            log:
              level: info
              colour: true
            """)
        res = run_cli("config", "check", path)
        self.assertEqual(res.returncode, 1, res)
        out = res.stdout + res.stderr
        self.assertIn(f"{path}:3: server.prot: unknown key", out)
        self.assertIn(f"{path}:6: log.colour: unknown key", out)
        self.assertNotIn(": ok", res.stdout)

    def test_config_check_bad_values_with_lines(self):
        path = self.write("values.yaml", """
            server:
              port: eighty
              max_connections: -5
              access_log: maybe
            log:
              level: loud
            """)
        res = run_cli("config", "check", path)
        self.assertEqual(res.returncode, 1, res)
        out = res.stdout + res.stderr
        for line, key in ((2, "server.port"), (3, "server.max_connections"), (4, "server.access_log"),
                          (6, "log.level")):
            with self.subTest(key=key):
                self.assertRegex(out, re.compile(rf"^{re.escape(path)}:{line}: {re.escape(key)}: .+", re.M))

    def test_config_check_syntax_error_and_missing_file(self):
        path = self.write("syntax.yaml", """
            server:
              host: 127.0.0.1
              port: [8080
            """)
        res = run_cli("config", "check", path)
        self.assertEqual(res.returncode, 1, res)
        self.assertRegex(res.stdout + res.stderr, rf"{re.escape(path)}:\d+: ")
        missing = os.path.join(self.tmp, "missing.yaml")
        res = run_cli("config", "check", missing)
        self.assertEqual(res.returncode, 1, res)
        self.assertIn(missing, res.stdout + res.stderr)

    def test_config_keys_markdown(self):
        res = run_cli("config", "keys")
        self.assertEqual(res.returncode, 0, res)
        lines = [l for l in res.stdout.splitlines() if l.strip()]
        self.assertTrue(lines[0].startswith("|") and lines[0].endswith("|"), lines[0])
        self.assertRegex(lines[1], r"^\|(\s*:?-+:?\s*\|)+$")
        cell_sep = re.compile(r"(?<!\\)\|")  # a `|` inside a cell must be escaped as `\|`
        ncols = len(cell_sep.findall(lines[0]))
        for l in lines:
            self.assertEqual(len(cell_sep.findall(l)), ncols, f"row breaks the table: {l}")
        text = res.stdout
        for key, default in (("server.max_body_bytes", "10485760"), ("server.max_header_bytes", "16384"),
                             ("server.read_timeout_ms", "10000"), ("server.idle_timeout_ms", "60000"),
                             ("server.max_connections", "10000"), ("server.shutdown_grace_ms", "10000"),
                             ("server.io_threads", "0"), ("server.access_log", "true"),
                             ("auth.api_keys", None), ("log.level", None), ("server.write_timeout_ms", None)):
            with self.subTest(key=key):
                row = [l for l in lines if key in l]
                self.assertTrue(row, f"{key} missing from `config keys`")
                if default is not None:
                    self.assertIn(default, row[0])

    def test_unknown_set_key_refused(self):
        res = run_cli("serve", "--port", "0", "--data-dir", os.path.join(self.tmp, "d"), "--set", "server.prot=1",
                      timeout=15)
        self.assertNotEqual(res.returncode, 0, res)
        self.assertIn("server.prot", res.stderr)

    def test_serve_uses_config_file(self):
        path = self.write("serve.yaml", """
            server:
              max_body_bytes: 100
            """)
        with BasaltServer(extra_args=["--config", path]) as srv:
            status, _, _ = srv.request("POST", "/v1/echo", json.dumps({"s": "x" * 50}))
            self.assertEqual(status, 200)
            resp, raw, _ = exchange(srv.port, request_bytes("POST", "/v1/echo", json.dumps({"s": "x" * 200}).encode()))
            self.assertIsNotNone(resp, raw)
            self.assertEqual(resp.status, 413)

    def test_serve_refuses_bad_config_file(self):
        path = self.write("serve-bad.yaml", """
            server:
              prot: 1
            """)
        res = run_cli("serve", "--port", "0", "--data-dir", os.path.join(self.tmp, "d"), "--config", path,
                      timeout=15)
        self.assertNotEqual(res.returncode, 0, res)
        self.assertIn("server.prot", res.stderr)


if __name__ == "__main__":
    unittest.main()
