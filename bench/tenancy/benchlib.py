"""Shared helpers of bench/tenancy/gateway and bench/tenancy/async: processes in groups of
their own (stopped at exit), the nginx fake upstream of bench/gateway_upstream, basalt
start-up, wrk runs read through a Lua done() hook, and the machine's load."""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BENCH = os.path.join(ROOT, "bench")
NGINX_CACHE = os.path.join(ROOT, "build", "bench", "nginx")  # shared with bench/gateway

TMP = tempfile.mkdtemp(prefix="basalt-tenancybench-")
_children: "list[subprocess.Popen]" = []


class SetupError(Exception):
    pass


def log(msg: str = "") -> None:
    print(msg, flush=True)


def shell(argv: "list[str]") -> str:
    """A command line as it could be pasted into a shell."""
    return " ".join(a if re.fullmatch(r"[A-Za-z0-9_./:=@%+,-]+", a) else "'" + a.replace("'", "'\\''") + "'"
                    for a in argv)


# ------------------------------------------------------------------ processes
def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> "int | None":
    """Stops one child we started, with its process group."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
    if proc in _children:
        _children.remove(proc)
    return proc.returncode


def _cleanup() -> None:
    for proc in list(_children):
        try:
            stop(proc, timeout=5)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
    if os.environ.get("BENCH_KEEP") == "1":
        log(f"(kept {TMP})")
    else:
        shutil.rmtree(TMP, ignore_errors=True)


def _on_signal(signum, frame):
    log(f"\ninterrupted by signal {signum}; stopping everything started")
    sys.exit(128 + signum)


atexit.register(_cleanup)
signal.signal(signal.SIGINT, _on_signal)
signal.signal(signal.SIGTERM, _on_signal)


def spawn(argv: "list[str]", log_name: str, **kw) -> subprocess.Popen:
    out = open(os.path.join(TMP, log_name), "wb")
    log(f"$ {shell(argv)}")
    proc = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL,
                            stdout=kw.pop("stdout", out), stderr=out, **kw)
    out.close()
    _children.append(proc)
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, body: "bytes | None" = None, headers: "dict | None" = None,
            method: "str | None" = None, timeout: float = 5) -> "tuple[int, str]":
    req = urllib.request.Request(url, data=body, method=method or ("POST" if body is not None else "GET"),
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def wait_until(check, what: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupError(f"{what} exited with {proc.returncode} (log in {TMP})")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SetupError(f"{what} did not answer within {timeout:.0f}s")


# ------------------------------------------------------------------ machine
def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), model)
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}, kernel {os.uname().release}"


def quietness(when: str) -> str:
    """Load average and the CPUs' idle share over 2 s while none of our load runs."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return sum(v), v[3] + v[4]
    one, five, _ = os.getloadavg()
    t1, i1 = sample()
    time.sleep(2)
    t2, i2 = sample()
    idle = (i2 - i1) / max(t2 - t1, 1)
    text = f"load average {one:.2f} (1 min), {five:.2f} (5 min) {when}; CPUs {100 * idle:.0f}% idle over 2 s"
    if idle < 0.8:
        text += "  WARNING: other work is running; figures are noisy"
    return text


# ------------------------------------------------------------------ tools
def need(tool: str, hint: str) -> None:
    if not shutil.which(tool):
        raise SetupError(f"{tool} not found ({hint})")


def basalt_binary() -> str:
    binary = os.environ.get("BASALT_BIN") or os.path.join(ROOT, "build", "release", "basalt")
    if not os.access(binary, os.X_OK):
        raise SetupError(f"basalt binary not found: {binary} (build it or set BASALT_BIN)")
    return binary


def find_nginx() -> str:
    """$BENCH_NGINX, PATH, /usr/sbin, or the cache bench/gateway fills with apt-get download."""
    if os.environ.get("BENCH_NGINX"):
        return os.environ["BENCH_NGINX"]
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx", os.path.join(NGINX_CACHE, "usr", "sbin", "nginx")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if not shutil.which("apt-get"):
        raise SetupError("nginx (the fake upstream) is not installed and apt-get is unavailable")
    log("nginx: not installed; fetching the Debian package with apt-get download ...")
    dl = os.path.join(TMP, "apt")
    os.makedirs(dl, exist_ok=True)
    subprocess.run(["apt-get", "download", "nginx"], cwd=dl, capture_output=True, timeout=180)
    debs = [f for f in os.listdir(dl) if f.startswith("nginx_") and f.endswith(".deb")]
    if debs:
        os.makedirs(NGINX_CACHE, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", os.path.join(dl, debs[0]), NGINX_CACHE], check=False)
        binary = os.path.join(NGINX_CACHE, "usr", "sbin", "nginx")
        if os.access(binary, os.X_OK):
            return binary
    raise SetupError("could not obtain nginx; set BENCH_NGINX")


def start_upstream() -> int:
    """bench/gateway's fake OpenAI upstream (nginx, 1 worker, fixed 1 KiB reply); its port."""
    nginx = find_nginx()
    prefix = os.path.join(TMP, "upstream")
    os.makedirs(prefix, exist_ok=True)
    with open(os.path.join(BENCH, "gateway_upstream", "response.json")) as f:
        body = f.read().strip()
    with open(os.path.join(BENCH, "gateway_upstream", "nginx.conf.template")) as f:
        conf = f.read()
    port = free_port()
    for key, value in (("WORKERS", "1"), ("PREFIX", prefix), ("PORT", str(port)), ("BODY", body)):
        conf = conf.replace(f"@{key}@", value)
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    ver = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    log(f"upstream: {nginx} ({ver}), 1 worker, {len(body)}-byte reply, bench/gateway_upstream/")
    proc = spawn([nginx, "-p", prefix, "-c", path, "-e", os.path.join(prefix, "error.log")], "upstream.log")
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    wait_until(lambda: request(url, b"{}")[0] == 200, "nginx", proc)
    return port


def start_basalt(binary: str, name: str, config_text: str, sets: "list[str]") -> "tuple[subprocess.Popen, str]":
    """basalt serve on a free port with its own data dir; (process, base URL)."""
    config = os.path.join(TMP, f"{name}.yaml")
    with open(config, "w") as f:
        f.write(config_text)
    log(f"basalt '{name}' config {config}:\n" + "".join("    " + l for l in config_text.splitlines(True)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASALT_")}
    argv = [binary, "serve", "--port", "0", "--data-dir", os.path.join(TMP, f"{name}-data"), "--config", config,
            "--set", "server.access_log=false"]
    for s in sets:
        argv += ["--set", s]
    proc = spawn(argv, f"{name}.log", stdout=subprocess.PIPE, env=env)
    line = proc.stdout.readline().decode().strip()
    m = re.match(r"^basalt listening on (http://127\.0\.0\.1:\d+)$", line)
    if not m:
        stop(proc)
        raise SetupError(f"basalt '{name}': unexpected start-up line {line!r} (log {TMP}/{name}.log)")
    url = m.group(1)
    wait_until(lambda: urllib.request.urlopen(f"{url}/healthz", timeout=2).status == 200, f"basalt '{name}'", proc)
    return proc, url


# ------------------------------------------------------------------ load
def write_lua(name: str, body: str, headers: dict, expect: int) -> str:
    """A wrk script POSTing `body`; counts answers other than `expect` and prints one
    BENCH_JSON line at the end (wrk itself counts only statuses >= 400)."""
    path = os.path.join(TMP, f"{name}.lua")
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    lines += [f"wrk.body = {json.dumps(body)}", "local threads = {}",
              "function setup(thread) table.insert(threads, thread) end",
              "function init(args) bad = 0 end",
              f"function response(status, headers, body) if status ~= {expect} then bad = bad + 1 end end",
              "function done(summary, latency, requests)",
              "  local b = 0",
              "  for _, t in ipairs(threads) do b = b + t:get('bad') end",
              "  local e = summary.errors",
              "  io.write(string.format('BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,"
              "\"p99_us\":%d,\"bad\":%d,\"socket_errors\":%d}\\n', summary.requests, summary.duration,"
              " latency:percentile(50), latency:percentile(99), b,"
              " e.connect + e.read + e.write + e.timeout))",
              "end"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def run_wrk(label: str, url: str, lua: str, threads: int, connections: int, duration: str,
            quiet: bool = False) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}", "--latency", "-s", lua, url]
    log(f"$ {shell(cmd)}" + ("   # warm-up" if quiet else ""))
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    m = re.search(r"^BENCH_JSON (\{.*\})$", res.stdout, re.M)
    if res.returncode != 0 or not m:
        log(res.stdout + res.stderr)
        raise SetupError(f"wrk failed ({res.returncode})")
    j = json.loads(m.group(1))
    r = {"rps": j["requests"] / (j["duration_us"] / 1e6), "p50": j["p50_us"] / 1000, "p99": j["p99_us"] / 1000,
         "requests": j["requests"], "errors": j["bad"] + j["socket_errors"]}
    if not quiet:
        log(f"  {label}: {r['rps']:,.0f} requests/s   p50 {r['p50']:.3f} ms   p99 {r['p99']:.3f} ms   "
            f"errors {r['errors']}")
    return r


def seconds(text: str) -> float:
    m = re.match(r"^([\d.]+)(s|m)?$", text)
    if not m:
        raise SetupError(f"cannot read duration {text!r}")
    return float(m.group(1)) * (60 if m.group(2) == "m" else 1)


def median_of(runs: "list[dict]", key: str) -> float:
    return statistics.median(r[key] for r in runs)
