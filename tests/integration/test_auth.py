"""Authentication: refusing to listen beyond loopback without auth, and API keys on routes."""

import json
import os
import subprocess
import tempfile
import time
import unittest

from basalt_proc import BasaltServer, basalt_bin, child_env, error_envelope, wait_until

KEY1 = "test-key-0123456789abcdef"
KEY2 = "second_key_ABCDEFGHIJKLMNOP"


class NonLoopbackWithoutAuth(unittest.TestCase):
    def run_serve(self, *extra):
        with tempfile.TemporaryDirectory(prefix="basalt-it-") as tmp:
            try:
                return subprocess.run([basalt_bin(), "serve", "--port", "0", "--data-dir", tmp, *extra],
                                      capture_output=True, text=True, timeout=15, env=child_env(),
                                      stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired as e:
                self.fail(f"basalt serve {' '.join(extra)} kept running (should have refused): {e.stdout!r}")

    def test_refuses_0_0_0_0_without_auth(self):
        res = self.run_serve("--host", "0.0.0.0")
        self.assertEqual(res.returncode, 2, res)
        self.assertIn("authentication", res.stderr.lower())
        self.assertNotIn("listening", res.stdout)

    def test_refuses_other_non_loopback_forms(self):
        for extra in (["--host", "::"], ["--set", "server.host=0.0.0.0"]):
            with self.subTest(extra=extra):
                res = self.run_serve(*extra)
                self.assertEqual(res.returncode, 2, res)
                self.assertIn("authentication", res.stderr.lower())

    def test_rejects_short_api_key(self):
        res = self.run_serve("--set", "auth.api_keys=short")
        self.assertNotEqual(res.returncode, 0, res)
        self.assertIn("auth.api_keys", res.stderr)

    def test_starts_on_0_0_0_0_with_auth(self):
        with BasaltServer(host="0.0.0.0", sets={"auth.api_keys": KEY1}) as srv:
            self.assertRegex(srv.listen_line, r"^basalt listening on http://0\.0\.0\.0:\d+$")
            self.assertEqual(srv.request("GET", "/healthz")[0], 200)
            self.assertEqual(srv.request("POST", "/v1/echo", b"{}")[0], 401)
            self.assertEqual(srv.request("POST", "/v1/echo", b"{}", {"Authorization": f"Bearer {KEY1}"})[0], 200)


class ApiKeys(unittest.TestCase):
    srv: BasaltServer

    @classmethod
    def setUpClass(cls):
        cls.srv = BasaltServer(sets={"auth.api_keys": f"{KEY1},{KEY2}"})
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def echo(self, headers):
        return self.srv.request("POST", "/v1/echo", json.dumps({"auth": 1}).encode(), headers)

    def test_missing_or_wrong_key_401(self):
        for headers in ({}, {"Authorization": "Bearer wrong-key-0123456789"}, {"x-api-key": "nope"},
                        {"Authorization": f"Basic {KEY1}"}, {"Authorization": KEY1},
                        {"Authorization": f"Bearer {KEY1}x"}, {"Authorization": f"Bearer {KEY1[:-1]}"},
                        {"Authorization": "Bearer "}):
            with self.subTest(headers=headers):
                status, hdrs, body = self.echo(headers)
                self.assertEqual(status, 401, body)
                err = error_envelope(body)
                self.assertEqual(err.get("request_id"), hdrs.get("x-request-id"))
                self.assertNotIn(KEY1, body.decode())

    def test_valid_keys_200(self):
        for headers in ({"Authorization": f"Bearer {KEY1}"}, {"Authorization": f"Bearer {KEY2}"},
                        {"x-api-key": KEY1}, {"X-API-Key": KEY2}):
            with self.subTest(headers=headers):
                status, _, body = self.echo(headers)
                self.assertEqual(status, 200, body)
                self.assertEqual(json.loads(body), {"auth": 1})

    def test_public_routes_need_no_key(self):
        for path in ("/healthz", "/readyz", "/metrics"):
            with self.subTest(path=path):
                status, _, body = self.srv.request("GET", path)
                self.assertEqual(status, 200, body)

    def test_key_not_logged(self):
        self.echo({"Authorization": f"Bearer {KEY1}"})
        self.echo({"Authorization": f"Bearer {KEY2}x"})
        marker = f"after-keys-{time.time_ns()}"
        self.srv.request("GET", "/healthz", headers={"X-Request-Id": marker})
        wait_until(lambda: marker in self.srv.stderr_text(), 5, what="the logs to be flushed")
        self.assertNotIn(KEY1, self.srv.stderr_text())
        self.assertNotIn(KEY2, self.srv.stderr_text())


if __name__ == "__main__":
    unittest.main()
