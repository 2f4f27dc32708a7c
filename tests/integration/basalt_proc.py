"""Start, talk to and stop a real `basalt serve` process for black-box tests.

Standard library only. The binary comes from $BASALT_BIN (set by CTest), else
build/release/basalt relative to the repository root.

    with BasaltServer(sets={"server.read_timeout_ms": 500}) as srv:
        status, headers, body = srv.request("GET", "/healthz")

Every server started here is stopped (SIGTERM, then SIGKILL after a timeout)
when its `with` block ends, when `stop()` is called, or at interpreter exit,
whatever happens in the test.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
LISTEN_RE = re.compile(r"^basalt listening on http://(?P<host>\[[^\]]+\]|[^:/]+):(?P<port>\d+)$")

_live: "set[BasaltServer]" = set()
_live_lock = threading.Lock()


def basalt_bin() -> str:
    path = os.environ.get("BASALT_BIN") or os.path.join(REPO_ROOT, "build", "release", "basalt")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"basalt binary not found or not executable: {path} (set BASALT_BIN)")
    return path


def child_env(extra: "dict[str, str] | None" = None) -> "dict[str, str]":
    """The environment for a basalt child: ours minus every BASALT_* variable.

    basalt reads BASALT_* variables as configuration and refuses unknown ones,
    and the test runner itself sets BASALT_BIN.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASALT_")}
    if extra:
        env.update(extra)
    return env


def run_cli(*args: str, timeout: float = 30, env: "dict[str, str] | None" = None) -> subprocess.CompletedProcess:
    """Runs `basalt ARGS...` to completion and returns the CompletedProcess (text mode)."""
    return subprocess.run([basalt_bin(), *args], capture_output=True, text=True, timeout=timeout,
                          env=child_env(env), stdin=subprocess.DEVNULL)


def raise_nofile(wanted: int) -> int:
    """Raises RLIMIT_NOFILE's soft limit towards `wanted` (capped by the hard limit); returns it.

    Children started afterwards inherit the new limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        soft = new_soft
    return soft


class StartError(RuntimeError):
    pass


class BasaltServer:
    """One `basalt serve --port 0` process with a fresh temporary data directory."""

    def __init__(self, sets: "dict[str, object] | None" = None, host: "str | None" = None,
                 extra_args: "list[str] | tuple[str, ...]" = (), env: "dict[str, str] | None" = None,
                 start_timeout: float = 20.0, stop_timeout: float = 15.0, wait_healthy: bool = True):
        self.sets = dict(sets or {})
        self.host = host
        self.extra_args = list(extra_args)
        self.env = env
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.wait_healthy = wait_healthy
        self.proc: "subprocess.Popen | None" = None
        self.port: "int | None" = None
        self.listen_line: "str | None" = None
        self.tmpdir: "str | None" = None
        self.data_dir: "str | None" = None
        self.stderr_path: "str | None" = None
        self._stderr_file = None
        self._stdout_rest = bytearray()
        self._stdout_thread: "threading.Thread | None" = None
        self.returncode: "int | None" = None

    # ----------------------------------------------------------- lifecycle
    def argv(self) -> "list[str]":
        args = [basalt_bin(), "serve", "--port", "0", "--data-dir", self.data_dir]
        if self.host is not None:
            args += ["--host", self.host]
        sets = dict(self.sets)
        # Most tests name models freely ("m", "slow") and want the builtin
        # provider to answer them; the embedded default answers unknown names
        # with 404, which test_tenancy checks by setting the key itself.
        if "models.default_provider" not in sets and "--config" not in self.extra_args:
            sets["models.default_provider"] = "builtin"
        for key, value in sets.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            args += ["--set", f"{key}={value}"]
        return args + self.extra_args

    def start(self) -> "BasaltServer":
        self.tmpdir = tempfile.mkdtemp(prefix="basalt-it-")
        self.data_dir = os.path.join(self.tmpdir, "data")
        self.stderr_path = os.path.join(self.tmpdir, "stderr.log")
        self._stderr_file = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=self._stderr_file, env=child_env(self.env))
        except BaseException:
            self._cleanup_files()
            raise
        with _live_lock:
            _live.add(self)
        try:
            self._read_listen_line()
            self._stdout_thread = threading.Thread(target=self._drain_stdout, daemon=True)
            self._stdout_thread.start()
            if self.wait_healthy:
                self.wait_for_health()
        except BaseException:
            self.close()
            raise
        return self

    def _read_listen_line(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + self.start_timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StartError(f"no listening line within {self.start_timeout}s; stderr:\n{self.stderr_text()[-4000:]}")
            ready, _, _ = select.select([fd], [], [], min(left, 0.2))
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    code = self.proc.wait(timeout=5)
                    raise StartError(f"basalt exited ({code}) before listening; stdout={buf!r}; "
                                     f"stderr:\n{self.stderr_text()[-4000:]}")
                buf += chunk
        line, _, rest = buf.partition(b"\n")
        self._stdout_rest += rest
        self.listen_line = line.decode("utf-8", "replace")
        m = LISTEN_RE.match(self.listen_line)
        if not m:
            raise StartError(f"unexpected first stdout line: {self.listen_line!r}")
        self.port = int(m.group("port"))

    def _drain_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            self._stdout_rest += chunk

    def wait_for_health(self, timeout: "float | None" = None) -> None:
        deadline = time.monotonic() + (timeout or self.start_timeout)
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"basalt exited ({self.proc.returncode}); stderr:\n{self.stderr_text()[-4000:]}")
            try:
                status, _, body = self.request("GET", "/healthz", timeout=2)
                if status == 200:
                    return
                last = f"status {status}: {body[:200]!r}"
            except OSError as e:
                last = repr(e)
            time.sleep(0.05)
        raise StartError(f"/healthz did not answer 200 within the timeout (last: {last})")

    def send_signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Waits for the process to exit; returns its code (raises TimeoutExpired)."""
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout)
        self._finish()
        return code

    def stop(self, timeout: "float | None" = None) -> "int | None":
        """SIGTERM, then SIGKILL if it has not exited within `timeout`; returns the exit code."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=timeout if timeout is not None else self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._finish()
        return self.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._finish()

    def _finish(self) -> None:
        if self.proc is None:
            return
        self.returncode = self.proc.returncode
        if self._stdout_thread is not None:
            self._stdout_thread.join(timeout=5)
        with _live_lock:
            _live.discard(self)

    def _cleanup_files(self) -> None:
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None
        if self.tmpdir and os.environ.get("BASALT_IT_KEEP") != "1":
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def close(self) -> None:
        """Stops the process and removes its temporary directory."""
        self.stop()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self._cleanup_files()

    def __enter__(self) -> "BasaltServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------- queries
    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stdout_rest(self) -> str:
        """Everything printed to stdout after the listening line."""
        return bytes(self._stdout_rest).decode("utf-8", "replace")

    def stderr_text(self) -> str:
        if not self.stderr_path or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self) -> "list[dict]":
        """stderr parsed as JSON lines (lines that do not parse are returned as {'_raw': line})."""
        out = []
        for line in self.stderr_text().splitlines():
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"_raw": line})
        return out

    def rss_kb(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    # ------------------------------------------------------------- clients
    def connect(self, timeout: float = 10.0) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def raw(self, timeout: float = 10.0) -> "RawConn":
        return RawConn(self.connect(timeout), timeout)

    def request(self, method: str, path: str, body: "bytes | str | None" = None,
                headers: "dict[str, str] | None" = None, timeout: float = 10.0):
        """One request on a fresh connection: returns (status, headers{lower: value}, body bytes)."""
        if isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return resp.status, hdrs, data
        finally:
            conn.close()

    def json_request(self, method: str, path: str, obj=None, headers=None, timeout: float = 10.0):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        body = None if obj is None else json.dumps(obj).encode()
        status, hdrs, data = self.request(method, path, body, h, timeout)
        return status, hdrs, data


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        servers = list(_live)
    for s in servers:
        try:
            s.kill()
        except Exception:
            pass


# --------------------------------------------------------------------- raw HTTP
class Response:
    def __init__(self, status: int, reason: str, headers: "list[tuple[str, str]]", body: bytes, version: str):
        self.status = status
        self.reason = reason
        self.header_list = headers
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.version = version

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers} {self.body[:200]!r}>"


class ConnectionClosed(Exception):
    """The peer closed (or reset) the connection before a whole response arrived."""

    def __init__(self, partial: bytes, reset: bool = False):
        super().__init__(f"connection {'reset' if reset else 'closed'} after {len(partial)} bytes: {partial[:200]!r}")
        self.partial = partial
        self.reset = reset


class RawConn:
    """A socket with a read buffer: send raw bytes, read HTTP/1.1 responses one by one."""

    def __init__(self, sock: socket.socket, timeout: float = 10.0):
        self.sock = sock
        self.timeout = timeout
        self.sock.settimeout(timeout)
        self.buf = b""
        self.eof = False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "RawConn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: "bytes | str") -> None:
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self) -> None:
        if self.eof:
            raise ConnectionClosed(self.buf)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            self.eof = True
            raise ConnectionClosed(self.buf, reset=True)
        if not chunk:
            self.eof = True
            raise ConnectionClosed(self.buf)
        self.buf += chunk

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(marker)
        return head

    def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, head_request: bool = False) -> Response:
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError(f"bad status line: {lines[0]!r}")
        version, status, reason = parts[0], int(parts[1]), (parts[2] if len(parts) > 2 else "")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        hmap = {k.lower(): v for k, v in headers}
        if head_request or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in hmap.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size_line = self._read_until(b"\r\n").decode("latin-1")
                size = int(size_line.split(";")[0].strip(), 16)
                if size == 0:
                    while self._read_until(b"\r\n"):  # trailers
                        pass
                    break
                body += self._read_exact(size)
                self._read_exact(2)
        elif "content-length" in hmap:
            body = self._read_exact(int(hmap["content-length"]))
        else:
            body = self.read_to_close()
        return Response(status, reason, headers, body, version)

    def read_to_close(self) -> bytes:
        """Reads until EOF/reset (or the timeout); returns everything buffered."""
        try:
            while True:
                self._fill()
        except (ConnectionClosed, socket.timeout):
            pass
        out, self.buf = self.buf, b""
        return out

    def closed_by_peer(self, timeout: float) -> bool:
        """True if the peer closes (EOF or reset) within `timeout` without sending more bytes."""
        if self.eof:
            return True
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            self.eof = True
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(self.timeout)
        if chunk:
            self.buf += chunk
            return False
        self.eof = True
        return True


def request_bytes(method: str, path: str, body: bytes = b"", headers: "dict[str, str] | None" = None,
                  host: str = "localhost") -> bytes:
    h = {"Host": host}
    if body or method in ("POST", "PUT", "PATCH"):
        h["Content-Length"] = str(len(body))
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    return head.encode("latin-1") + body


def exchange(port: int, data: bytes, timeout: float = 10.0,
             close_wait: float = 3.0) -> "tuple[Response | None, bytes, bool | None]":
    """Sends `data` on a fresh connection and reads one response.

    Returns (response or None, the raw bytes read when no response parsed, whether the server
    closed the connection within `close_wait` seconds after it; None when close_wait <= 0).
    Tolerates resets while sending.
    """
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    conn = RawConn(s, timeout)
    try:
        try:
            conn.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            resp = conn.read_response()
        except ConnectionClosed as e:
            return None, e.partial, True
        except (ValueError, IndexError):
            return None, conn.buf, (conn.closed_by_peer(close_wait) if close_wait > 0 else None)
        return resp, b"", (conn.closed_by_peer(close_wait) if close_wait > 0 else None)
    finally:
        conn.close()


def error_envelope(body: bytes) -> dict:
    """Parses and checks the {"error": {...}} envelope; returns the inner object."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError(f"error body is not valid UTF-8, so not valid JSON ({e}): {body[:300]!r}") from None
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise AssertionError(f"error body is not JSON ({e}): {body[:300]!r}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("error"), dict):
        raise AssertionError(f"not an error envelope: {body[:300]!r}")
    err = doc["error"]
    for field in ("message", "type", "code"):
        if not isinstance(err.get(field), str) or not err[field]:
            raise AssertionError(f"error envelope lacks a non-empty {field!r}: {body[:300]!r}")
    return err


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls `predicate` until it returns a truthy value; returns it, or raises AssertionError."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - report the last failure on timeout
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                                 + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


def metric_value(srv: "BasaltServer", name: str, **labels) -> "float | None":
    """Scrapes /metrics and returns the first sample of `name` whose labels include `labels`."""
    status, _, body = srv.request("GET", "/metrics", timeout=5)
    if status != 200:
        raise AssertionError(f"/metrics answered {status}")
    for lbls, value in parse_metrics(body.decode()).get(name, []):
        if all(lbls.get(k) == v for k, v in labels.items()):
            return value
    return None


def parse_metrics(text: str) -> "dict[str, list[tuple[dict[str, str], float]]]":
    """Parses Prometheus text exposition into {sample name: [(labels, value), ...]}."""
    label_re = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')
    out: "dict[str, list]" = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$", line)
        if not m:
            raise ValueError(f"unparseable metrics line: {line!r}")
        name, _, label_text, value = m.group(1), m.group(2), m.group(3), m.group(4)
        labels = {}
        if label_text:
            pos = 0
            while pos < len(label_text):
                lm = label_re.match(label_text, pos)
                if not lm:
                    raise ValueError(f"bad labels in {line!r}")
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        out.setdefault(name, []).append((labels, float(value)))
    return out
