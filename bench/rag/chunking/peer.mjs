// bench/rag/chunking peer: LangChain.js RecursiveCharacterTextSplitter over the
// same input bytes rag_chunk_tool builds (src/rag/chunk/chunk_tool.cc): each
// record's title, a blank line and its text; records joined by blank lines,
// repeated until the input reaches --target-mb. Prints one JSON line with the
// median of --iterations timed runs (wall clock and process CPU time).
//
//   node peer.mjs --corpus corpus.jsonl [--chunk-size 1200] [--chunk-overlap 240]
//                 [--target-mb 50] [--mode concat|docs] [--iterations 3]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, v, i, all) => (i % 2 ? pairs : [...pairs, [all[i], all[i + 1]]]), [])
    .map(([k, v]) => [k.replace(/^--/, ""), v]));
const corpus = args.corpus;
const chunkSize = Number(args["chunk-size"] ?? 1200);
const chunkOverlap = Number(args["chunk-overlap"] ?? 240);
const target = Number(args["target-mb"] ?? 50) * 1e6;
const mode = args.mode ?? "concat";
const iterations = Math.max(1, Number(args.iterations ?? 3));

const once = [];
for (const line of readFileSync(corpus, "utf8").split("\n")) {
  if (!line.trim()) continue;
  const r = JSON.parse(line);
  once.push(`${r.title ?? ""}\n\n${r.text ?? ""}`);
}
const records = [];
let bytes = 0;
while (once.length && bytes < target) {
  for (const r of once) {
    bytes += Buffer.byteLength(r) + (records.length ? 2 : 0);
    records.push(r);
  }
}
const docs = mode === "concat" ? [records.join("\n\n")] : records;

const splitter = new RecursiveCharacterTextSplitter({ chunkSize, chunkOverlap });
const wall = [];
const cpu = [];
let chunks = [];
for (let it = 0; it < iterations; ++it) {
  chunks = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const d of docs) {
    const out = await splitter.splitText(d);
    for (const c of out) chunks.push(c);
  }
  wall.push((performance.now() - t0) / 1000);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1e6);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = median(wall);
const cpuSeconds = median(cpu);
let chunkBytes = 0;
for (const c of chunks) chunkBytes += Buffer.byteLength(c);
console.log(JSON.stringify({
  tool: "langchain",
  strategy: `RecursiveCharacterTextSplitter(${chunkSize}, ${chunkOverlap})`,
  mode,
  bytes,
  docs: docs.length,
  chunks: chunks.length,
  mean_chunk_bytes: chunks.length ? chunkBytes / chunks.length : 0,
  seconds,
  cpu_seconds: cpuSeconds,
  mb_per_s: bytes / 1e6 / seconds,
  mb_per_cpu_s: bytes / 1e6 / cpuSeconds,
  chunks_per_s: chunks.length / seconds,
}));
