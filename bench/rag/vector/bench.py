"""bench/rag/vector/run's measuring side: drives rag_vector_bench (basalt)
and raw hnswlib in one process tree, alternating them pass by pass so a busy
machine slows both alike."""
import argparse
import json
import os
import subprocess
import sys
import time

import hnswlib
import numpy as np

D = 384
K = 10
RATES = [500000, 50000, 1000]  # per million: 50%, 5%, 0.1%
PLAN_RATES = [500000, 300000, 200000, 100000, 50000, 1000]


def passes(n, per_million):
    """The filter rag_vector_bench applies (its Passes), over labels 0..n-1."""
    with np.errstate(over="ignore"):
        h = np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(31)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(29)
    return h % np.uint64(1000000) < np.uint64(per_million)


def exact_top(base, queries, mask=None):
    ids = np.arange(len(base)) if mask is None else np.flatnonzero(mask)
    sub = base[ids]
    out = np.empty((len(queries), K), dtype=np.int64)
    for start in range(0, len(queries), 100):
        scores = queries[start:start + 100] @ sub.T
        kk = min(K, scores.shape[1])
        top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        out[start:start + 100, :kk] = ids[top]
    return out


def recall(found, truth):
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth))
    return hits / truth.size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=200)
    ap.add_argument("--efs", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()

    base = np.fromfile(os.path.join(a.cache, "base.f32"), dtype=np.float32).reshape(-1, D)
    queries = np.fromfile(os.path.join(a.cache, "queries.f32"), dtype=np.float32).reshape(-1, D)
    n = len(base)
    truth_path = os.path.join(a.cache, "truth.i32")
    if not os.path.exists(truth_path):
        exact_top(base, queries).astype(np.int32).tofile(truth_path)
    truth = np.fromfile(truth_path, dtype=np.int32).reshape(-1, K)
    print(f"vectors: {n} x {D} base, {len(queries)} queries; exact top-{K} by numpy brute force")

    saved = os.path.join(a.cache, "basalt.hnsw")
    if os.path.exists(saved):
        os.remove(saved)
    cmd = [a.tool, "serve", os.path.join(a.cache, "base.f32"), os.path.join(a.cache, "queries.f32"),
           truth_path, str(a.m), str(a.efc), saved]
    print("+ " + " ".join(cmd))
    tool = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(line):
        tool.stdin.write(line + "\n")
        tool.stdin.flush()
        return json.loads(tool.stdout.readline())

    built = json.loads(tool.stdout.readline())  # basalt builds first, alone
    print(f"+ hnswlib.Index('ip', {D}).init_index({n}, ef_construction={a.efc}, M={a.m}); "
          "add_items(num_threads=1); knn_query(k=10, num_threads=1)")
    raw = hnswlib.Index(space="ip", dim=D)
    raw.init_index(max_elements=n, ef_construction=a.efc, M=a.m, random_seed=100)
    w0, c0 = time.perf_counter(), time.thread_time()
    raw.add_items(base, np.arange(n), num_threads=1)
    raw_build = (time.perf_counter() - w0, time.thread_time() - c0)

    rows = []
    for ef in a.efs:
        best_b, best_r = None, None
        for _ in range(a.reps):
            b = ask(f"search {ef}")
            if best_b is None or b["qps_wall"] > best_b["qps_wall"]:
                best_b = b
            raw.set_ef(ef)
            w0, c0 = time.perf_counter(), time.thread_time()
            labels, _ = raw.knn_query(queries, k=K, num_threads=1)
            wall, cpu = time.perf_counter() - w0, time.thread_time() - c0
            r = {"recall": recall(labels, truth), "qps_wall": len(queries) / wall,
                 "qps_cpu": len(queries) / cpu}
            if best_r is None or r["qps_wall"] > best_r["qps_wall"]:
                best_r = r
        rows.append((ef, best_b, best_r))

    filtered = []
    for pm in RATES:
        mask = passes(n, pm)
        f = ask(f"filtered {pm} 64")
        raw.set_ef(64)
        labels, _ = raw.knn_query(queries, k=K, num_threads=1)
        exact = exact_top(base, queries, mask)
        kept = [[l for l in row if mask[l]] for row in labels]
        naive_hits = sum(len(k) for k in kept) / len(kept)
        naive_recall = sum(len(set(k) & set(t)) for k, t in zip(kept, exact)) / exact.size
        filtered.append((pm, f, naive_hits, naive_recall))
    plans = [ask(f"plans {pm} 64") for pm in PLAN_RATES]
    tool.stdin.write("quit\n")
    tool.stdin.flush()
    tool.wait()
    loader = subprocess.run(cmd, input="quit\n", capture_output=True, text=True, check=True)
    loaded = json.loads(loader.stdout.splitlines()[0])

    print()
    print(f"build ({n} vectors, one thread)   basalt {built['build_wall_s']:.1f} s wall "
          f"({built['build_cpu_s']:.1f} s cpu)   hnswlib {raw_build[0]:.1f} s wall "
          f"({raw_build[1]:.1f} s cpu)   basalt/hnswlib cpu {built['build_cpu_s'] / raw_build[1]:.2f}")
    print(f"save {built.get('save_wall_s', 0):.2f} s, load {loaded['load_wall_s']:.2f} s "
          f"({os.path.getsize(saved) / 1e6:.0f} MB, checksummed)")
    print()
    print(f"{'ef':>4} | {'basalt recall':>13} {'QPS':>7} {'QPS/cpu':>8} {'p50 us':>7} {'p99 us':>7} | "
          f"{'hnswlib recall':>14} {'QPS':>7} {'QPS/cpu':>8} | {'QPS ratio':>9} {'cpu ratio':>9}")
    ok = True
    for ef, b, r in rows:
        ratio, cpu_ratio = b["qps_wall"] / r["qps_wall"], b["qps_cpu"] / r["qps_cpu"]
        ok = ok and cpu_ratio >= 0.9 and abs(b["recall"] - r["recall"]) < 0.01
        print(f"{ef:>4} | {b['recall']:>13.4f} {b['qps_wall']:>7.0f} {b['qps_cpu']:>8.0f} "
              f"{b['p50_us']:>7.0f} {b['p99_us']:>7.0f} | {r['recall']:>14.4f} {r['qps_wall']:>7.0f} "
              f"{r['qps_cpu']:>8.0f} | {ratio:>9.2f} {cpu_ratio:>9.2f}")
    print(f"(best of {a.reps} alternating passes; QPS/cpu = queries per second of the thread's CPU "
          "time, steadier than wall time on a shared machine)")
    print()
    print(f"filtered, basalt, ef=64, k={K}        | naive post-filter (hnswlib top {K}, then the filter)")
    print(f"{'pass rate':>9} {'passing':>8} {'plan':>10} {'recall':>7} {'QPS':>7} {'p50 us':>7} "
          f"{'p99 us':>7} {'short':>5} | {'hits/query':>10} {'recall':>7}")
    for pm, f, naive_hits, naive_recall in filtered:
        print(f"{pm / 1e4:>8.1f}% {f['passing']:>8} {f['plan']:>10} {f['recall']:>7.4f} "
              f"{f['qps_wall']:>7.0f} {f['p50_us']:>7.0f} {f['p99_us']:>7.0f} {int(f['short_answers']):>5} | "
              f"{naive_hits:>10.2f} {naive_recall:>7.4f}")
    print()
    print("plans forced (basalt, ef=64): which is cheaper at each pass rate; ExactScanLimit = 25%")
    print(f"{'pass rate':>9} | {'scan recall':>11} {'p50 us':>7} {'QPS/cpu':>8} | "
          f"{'graph recall':>12} {'p50 us':>7} {'QPS/cpu':>8}")
    for p in plans:
        e, g = p["exact"], p["graph"]
        print(f"{p['per_million'] / 1e4:>8.1f}% | {e['recall']:>11.4f} {e['p50_us']:>7.0f} "
              f"{e['qps_cpu']:>8.0f} | {g['recall']:>12.4f} {g['p50_us']:>7.0f} {g['qps_cpu']:>8.0f}")
    print("(the graph plan falls back to the scan when it passes its distance budget, which the "
          "low rates show)")
    print()
    print("claim: basalt within 10% of raw hnswlib QPS at the same recall (cpu ratio >= 0.90): "
          + ("MET" if ok else "NOT MET"))


if __name__ == "__main__":
    sys.exit(main())
