// The BullMQ peer of bench/async: BullMQ (npm) on a redis-server the runner started.
//
//   node bullmq.js enqueue HOST:PORT SECONDS WARMUP_SECONDS CLIENTS
//     CLIENTS concurrent producers share one Queue (one ioredis connection, as one
//     process of an application would) and each loops on queue.add(), one job per
//     call, for WARMUP_SECONDS (not counted) and then SECONDS. Prints one JSON line:
//     adds/s, p50/p99 latency of queue.add() in ms, errors, and the number of jobs
//     the queue holds afterwards (it must be at least the number of adds answered).
//
//   node bullmq.js loop HOST:PORT JOBS CLIENTS CONCURRENCY
//     Starts a Worker (CONCURRENCY, a trivial processor returning a small result) in a
//     child process, then CLIENTS producers add JOBS jobs between them; measures from
//     the first add until the worker has completed every job. Prints one JSON line.
//
//   node bullmq.js worker HOST:PORT QUEUE CONCURRENCY JOBS   (the child of `loop`)
//
// Jobs carry the same small chat body basalt receives; default job options (attempts 1,
// completed jobs and their results kept, as basalt keeps every record).
'use strict';
const {fork} = require('child_process');
const {Queue, Worker} = require('bullmq');

const BODY = {
  model: 'builtin',
  messages: [{role: 'user', content: 'Say hello in one short sentence.'}],
  max_tokens: 16,
};
const RESULT = {
  object: 'chat.completion', model: 'builtin',
  choices: [{index: 0, finish_reason: 'stop', message: {role: 'assistant', content: 'Hello.'}}],
  usage: {prompt_tokens: 7, completion_tokens: 2, total_tokens: 9},
};

const nowNs = () => process.hrtime.bigint();  // CLOCK_MONOTONIC: comparable across processes
const connectionOf = (hostPort) => {
  const [host, port] = hostPort.split(':');
  // maxRetriesPerRequest: null is what BullMQ requires for workers; the same for producers.
  return {host, port: Number(port), maxRetriesPerRequest: null, enableOfflineQueue: true};
};
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// CLIENTS loops adding jobs until `deadline` (ns); latencies in ms are pushed to `lat`.
async function produceFor(queue, clients, seconds, lat) {
  const deadline = nowNs() + BigInt(Math.round(seconds * 1e9));
  let adds = 0, errors = 0, lastError = '';
  const loop = async () => {
    while (nowNs() < deadline) {
      const t0 = nowNs();
      try {
        await queue.add('chat', BODY);
        adds++;
        if (lat) lat.push(Number(nowNs() - t0) / 1e6);
      } catch (err) {
        errors++;
        lastError = String(err && err.message);
      }
    }
  };
  const start = nowNs();
  await Promise.all(Array.from({length: clients}, loop));
  return {adds, errors, lastError, seconds: Number(nowNs() - start) / 1e9};
}

async function enqueue(hostPort, seconds, warmup, clients) {
  const queue = new Queue('bench-enqueue', {connection: connectionOf(hostPort)});
  await queue.waitUntilReady();
  if (warmup > 0) await produceFor(queue, clients, warmup, null);
  const before = await queue.count();
  const lat = [];
  const r = await produceFor(queue, clients, seconds, lat);
  const held = (await queue.count()) - before;
  lat.sort((a, b) => a - b);
  emit({
    mode: 'enqueue', clients, adds: r.adds, errors: r.errors, last_error: r.lastError,
    seconds: r.seconds, rate: r.adds / r.seconds,
    p50_ms: percentile(lat, 50), p99_ms: percentile(lat, 99), max_ms: percentile(lat, 100),
    held_by_queue: held,
  });
  await queue.close();
}

async function worker(hostPort, name, concurrency, jobs) {
  let completed = 0, failed = 0;
  const w = new Worker(name, async () => RESULT, {connection: connectionOf(hostPort), concurrency});
  const check = () => {
    if (completed + failed === jobs) {
      process.send({done: String(nowNs()), completed, failed});
    }
  };
  w.on('completed', () => { completed++; check(); });
  w.on('failed', () => { failed++; check(); });
  w.on('error', (err) => process.stderr.write(`worker: ${err.message}\n`));
  await w.waitUntilReady();
  process.send({ready: true});
  process.on('message', async (m) => {
    if (m && m.close) {
      await w.close();
      process.exit(0);
    }
  });
}

async function loop(hostPort, jobs, clients, concurrency) {
  const name = 'bench-loop';
  const queue = new Queue(name, {connection: connectionOf(hostPort)});
  await queue.waitUntilReady();
  const child = fork(__filename, ['worker', hostPort, name, String(concurrency), String(jobs)],
                     {stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const done = new Promise((resolve, reject) => {
    child.on('message', (m) => { if (m.done) resolve(m); });
    child.on('exit', (code) => reject(new Error(`worker process exited (${code})`)));
  });
  await new Promise((resolve) => child.on('message', (m) => { if (m.ready) resolve(); }));

  let next = 0, errors = 0;
  const start = nowNs();
  const producer = async () => {
    while (next < jobs) {
      next++;
      try {
        await queue.add('chat', BODY);
      } catch (err) {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({length: clients}, producer));
  const submitted = nowNs();
  const timeout = setTimeout(() => {
    process.stderr.write('bullmq loop: not every job completed within 600 s\n');
    child.kill('SIGKILL');
    process.exit(1);
  }, 600e3);
  const d = await done;
  clearTimeout(timeout);
  const total = Number(BigInt(d.done) - start) / 1e9;
  emit({
    mode: 'loop', jobs, clients, concurrency, add_errors: errors,
    completed: d.completed, failed: d.failed,
    submit_seconds: Number(submitted - start) / 1e9, total_seconds: total,
    rate: d.completed / total,
  });
  child.send({close: true});
  await exited;
  await queue.close();
}

async function main() {
  const [mode, hostPort, ...rest] = process.argv.slice(2);
  const n = rest.map(Number);
  if (mode === 'enqueue' && rest.length === 3) return enqueue(hostPort, n[0], n[1], n[2]);
  if (mode === 'loop' && rest.length === 3) return loop(hostPort, n[0], n[1], n[2]);
  if (mode === 'worker' && rest.length === 3) return worker(hostPort, rest[0], n[1], n[2]);
  process.stderr.write('usage: node bullmq.js enqueue HOST:PORT SECONDS WARMUP CLIENTS\n' +
                       '       node bullmq.js loop HOST:PORT JOBS CLIENTS CONCURRENCY\n');
  process.exit(2);
}

main().catch((err) => {
  process.stderr.write(`bullmq.js: ${err && err.stack || err}\n`);
  process.exit(1);
});
