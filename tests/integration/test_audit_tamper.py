"""The audit trail against an attacker who can edit audit.db, black-box: entries are made
through the binary (the admin creates, updates, suspends and resumes tenants and mints
keys; failed authentications; permission denials), the server stops, and
`basalt audit verify --data-dir D` exits 0. Then each test tampers a fresh copy of the
data directory with sqlite3, dropping the append-only triggers first as an attacker
would: an edited field, an entry deleted in the middle, two entries' seq swapped, the
tail deleted, the tail deleted with its last checkpoint. Each makes `basalt audit verify`
exit 1 and name the first bad entry (tenant and seq); `--tenant T` checks only T.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
import unittest

from basalt_proc import BasaltServer, run_cli
from tenancy_harness import Principal, admin_key, tenancy_config, write_config

VICTIM = "target"   # the tenant whose chain is tampered with
BYSTANDER = "other"


def drop_triggers(c: sqlite3.Connection) -> None:
    for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        c.execute(f"DROP TRIGGER {name}")


class AuditTamper(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cfg = write_config(tenancy_config([], sigv4=False))
        cls.srv = BasaltServer(extra_args=["--config", cls.cfg])
        cls.srv.start()
        adm = Principal(cls.srv, "ops", "admin")
        for t in (VICTIM, BYSTANDER):
            status, _, doc = adm.call("POST", "/v1/admin/tenants", {"name": t})
            assert status == 201, doc
        keys = {}
        for t in (VICTIM, BYSTANDER):
            status, _, doc = adm.call("POST", f"/v1/admin/tenants/{t}/keys", {"name": "dev", "scopes": ["developer"]})
            assert status == 201, doc
            keys[t] = doc["key"]
        for round_ in range(4):  # several write batches, so several checkpoints per tenant
            for t in (VICTIM, BYSTANDER):
                status, _, doc = adm.call("PATCH", f"/v1/admin/tenants/{t}",
                                          {"limits": {"requests_per_minute": 100 + round_}})
                assert status == 200, doc
                assert adm.call("POST", f"/v1/admin/tenants/{t}/suspend")[0] == 200
                assert adm.call("POST", f"/v1/admin/tenants/{t}/resume")[0] == 200
                status, _, doc = cls.srv.request("GET", "/v1/admin/tenants",
                                                 headers={"Authorization": f"Bearer {keys[t]}"})
                assert status == 403, doc
            cls.srv.request("GET", "/v1/tenant", headers={"Authorization": "Bearer wrong-key-0123456789abcdef"})
            time.sleep(0.25)
        assert cls.srv.stop() == 0
        cls.data_dir = cls.srv.data_dir

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        os.unlink(cls.cfg)

    # ------------------------------------------------------------ helpers
    def copy(self) -> str:
        d = tempfile.mkdtemp(prefix="basalt-audit-")
        self.addCleanup(shutil.rmtree, d, True)
        dst = os.path.join(d, "data")
        shutil.copytree(self.data_dir, dst)
        return dst

    def verify(self, data_dir: str, *args: str):
        r = run_cli("audit", "verify", "--data-dir", data_dir, *args)
        return r.returncode, r.stdout + r.stderr

    def entries(self, data_dir: str, tenant: str) -> "list[tuple]":
        with sqlite3.connect(os.path.join(data_dir, "audit.db")) as c:
            return c.execute("SELECT seq, action, hash FROM audit_entries WHERE tenant = ? ORDER BY seq",
                             (tenant,)).fetchall()

    def checkpoints(self, data_dir: str, tenant: str) -> "list[tuple]":
        with sqlite3.connect(os.path.join(data_dir, "audit.db")) as c:
            return c.execute("SELECT number, seq FROM audit_checkpoints WHERE tenant = ? ORDER BY number",
                             (tenant,)).fetchall()

    def tamper(self, sql_steps) -> str:
        d = self.copy()
        c = sqlite3.connect(os.path.join(d, "audit.db"))
        try:
            drop_triggers(c)
            for sql, params in sql_steps:
                c.execute(sql, params)
            c.commit()
        finally:
            c.close()
        return d

    def assert_tampered(self, d: str, seq: int, tenant: str = VICTIM) -> str:
        code, out = self.verify(d)
        print(f"\n[audit verify] exit {code}:\n{out.strip()[-900:]}", flush=True)
        self.assertEqual(code, 1, out)
        self.assertIn("TAMPERED", out)
        first = [ln for ln in out.splitlines() if ln.startswith("TAMPERED")][0]
        self.assertIn(f"tenant {tenant}, seq {seq}", first, f"the first bad entry should be {tenant} {seq}: {out}")
        # --tenant narrows the check: the bystander's chain is intact.
        code, out2 = self.verify(d, "--tenant", BYSTANDER)
        self.assertEqual(code, 0, out2)
        code, out3 = self.verify(d, "--tenant", tenant)
        self.assertEqual(code, 1, out3)
        return out

    # ------------------------------------------------------------ tests
    def test_untouched_log_verifies(self):
        code, out = self.verify(self.data_dir)
        self.assertEqual(code, 0, out)
        n = len(self.entries(self.data_dir, VICTIM))
        self.assertGreaterEqual(n, 12, f"{VICTIM} should have a dozen entries: {self.entries(self.data_dir, VICTIM)}")
        self.assertGreaterEqual(len(self.checkpoints(self.data_dir, VICTIM)), 3, "several checkpoints")
        actions = {a for _, a, _ in self.entries(self.data_dir, VICTIM)}
        for want in ("tenant.update", "tenant.suspend", "tenant.resume", "permission.denied"):
            self.assertIn(want, actions, actions)
        self.assertTrue(self.entries(self.data_dir, "_basalt"), "failed authentications go to _basalt")
        for t in (VICTIM, BYSTANDER, "_basalt"):
            code, out = self.verify(self.data_dir, "--tenant", t)
            self.assertEqual(code, 0, out)

    def test_edited_field(self):
        seq = len(self.entries(self.data_dir, VICTIM)) // 2
        d = self.tamper([("UPDATE audit_entries SET outcome = 'allowed', reason = '' WHERE tenant = ? AND seq = ?",
                          (VICTIM, seq))])
        self.assert_tampered(d, seq)

    def test_deleted_entry_in_the_middle(self):
        seq = len(self.entries(self.data_dir, VICTIM)) // 2
        d = self.tamper([("DELETE FROM audit_entries WHERE tenant = ? AND seq = ?", (VICTIM, seq))])
        self.assert_tampered(d, seq)

    def test_reordered_entries(self):
        a = len(self.entries(self.data_dir, VICTIM)) // 2
        b = a + 1
        d = self.tamper([("UPDATE audit_entries SET seq = -1 WHERE tenant = ? AND seq = ?", (VICTIM, a)),
                         ("UPDATE audit_entries SET seq = ? WHERE tenant = ? AND seq = ?", (a, VICTIM, b)),
                         ("UPDATE audit_entries SET seq = ? WHERE tenant = ? AND seq = -1", (b, VICTIM))])
        self.assert_tampered(d, a)

    def test_truncated_tail(self):
        n = len(self.entries(self.data_dir, VICTIM))
        keep = n - 3
        d = self.tamper([("DELETE FROM audit_entries WHERE tenant = ? AND seq > ?", (VICTIM, keep))])
        out = self.assert_tampered(d, keep + 1)  # the first missing entry
        self.assertIn("truncated", out)

    def test_truncated_tail_and_its_checkpoint(self):
        # Removing the last checkpoint and the entries after the one before it, but not
        # back to that checkpoint exactly: the remaining tail is not covered.
        cps = self.checkpoints(self.data_dir, VICTIM)
        (last_no, _), (_, prev_seq) = cps[-1], cps[-2]
        keep = prev_seq + 1
        d = self.tamper([("DELETE FROM audit_checkpoints WHERE tenant = ? AND number = ?", (VICTIM, last_no)),
                         ("DELETE FROM audit_entries WHERE tenant = ? AND seq > ?", (VICTIM, keep))])
        code, out = self.verify(d)
        print(f"\n[audit verify truncated+checkpoint] exit {code}:\n{out.strip()[-600:]}", flush=True)
        self.assertEqual(code, 1, out)
        first = [ln for ln in out.splitlines() if ln.startswith("TAMPERED")][0]
        self.assertIn(f"tenant {VICTIM}, seq {keep}", first, out)

    def test_truncated_back_to_a_checkpoint_is_the_documented_blind_spot(self):
        # verify.h: "entries and checkpoints removed together back to a batch boundary:
        # the rest is a validly signed, shorter log". Pinned so a change is noticed.
        cps = self.checkpoints(self.data_dir, VICTIM)
        (last_no, _), (_, prev_seq) = cps[-1], cps[-2]
        d = self.tamper([("DELETE FROM audit_checkpoints WHERE tenant = ? AND number = ?", (VICTIM, last_no)),
                         ("DELETE FROM audit_entries WHERE tenant = ? AND seq > ?", (VICTIM, prev_seq))])
        code, out = self.verify(d, "--tenant", VICTIM)
        self.assertEqual(code, 0, out)

    def test_checkpoint_signature_edited(self):
        cps = self.checkpoints(self.data_dir, VICTIM)
        d = self.tamper([("UPDATE audit_checkpoints SET seq = seq + 1 WHERE tenant = ? AND number = ?",
                          (VICTIM, cps[0][0]))])
        code, out = self.verify(d)
        self.assertEqual(code, 1, out)
        self.assertIn(f"tenant {VICTIM}", out)

    def test_missing_audit_db_cannot_be_checked(self):
        d = self.copy()
        os.unlink(os.path.join(d, "audit.db"))
        code, out = self.verify(d)
        self.assertEqual(code, 2, out)


if __name__ == "__main__":
    unittest.main()
