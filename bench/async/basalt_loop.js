// basalt's enqueue -> process -> complete loop for bench/async, with its workers on.
//
//   node basalt_loop.js BASE_URL JOBS CLIENTS
//
// CLIENTS keep-alive connections POST /v1/async/invocations (the same small chat body
// as submit.lua, model builtin) until JOBS have been answered, every answer checked to be
// 202; then GET /v1/queues/stats is polled every POLL_MS until no job is ready, delayed
// or in flight. The time runs from the first request to that poll. Afterwards the list
// endpoint is paged to count the invocations completed and failed. Prints one JSON line.
//
// The client is a minimal HTTP/1.1 writer/parser on raw sockets (Content-Length or
// chunked responses, one request in flight per connection) to keep its own CPU use low:
// it shares the machine's cores with the server.
'use strict';
const net = require('net');
const http = require('http');

const POLL_MS = 20;
const BODY = Buffer.from('{"model":"builtin","messages":[{"role":"user","content":' +
                         '"Say hello in one short sentence."}],"max_tokens":16}');
const [baseArg, jobsArg, clientsArg] = process.argv.slice(2);
if (!baseArg || !jobsArg || !clientsArg) {
  process.stderr.write('usage: node basalt_loop.js BASE_URL JOBS CLIENTS\n');
  process.exit(2);
}
const base = new URL(baseArg);
const jobs = Number(jobsArg);
const clients = Number(clientsArg);
const REQUEST = Buffer.concat([
  Buffer.from(`POST /v1/async/invocations HTTP/1.1\r\nHost: ${base.host}\r\n` +
              `Content-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n`),
  BODY]);
const nowNs = () => process.hrtime.bigint();

function getJson(path) {
  return new Promise((resolve, reject) => {
    const req = http.get({host: base.hostname, port: base.port, path, timeout: 30000}, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) return reject(new Error(`GET ${path}: ${res.statusCode} ${text}`));
        try { resolve(JSON.parse(text)); } catch (e) { reject(new Error(`GET ${path}: ${e.message}`)); }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on('error', reject);
  });
}

// Frames one response off the front of buf: {status, body, rest} or null when incomplete.
function takeResponse(buf) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const head = buf.toString('latin1', 0, headEnd);
  const status = Number(head.slice(9, 12));
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (cl) {
    const end = headEnd + 4 + Number(cl[1]);
    if (buf.length < end) return null;
    return {status, body: buf.subarray(headEnd + 4, end), rest: buf.subarray(end)};
  }
  if (!/\r\ntransfer-encoding:\s*chunked/i.test(head)) throw new Error(`unframed response: ${head}`);
  const parts = [];
  let pos = headEnd + 4;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd < 0) return null;
    const size = parseInt(buf.toString('latin1', pos, lineEnd), 16);
    if (size === 0) {
      const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
      if (trailerEnd < 0) return null;
      return {status, body: Buffer.concat(parts), rest: buf.subarray(trailerEnd + 4)};
    }
    if (buf.length < lineEnd + 2 + size + 2) return null;
    parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
}

// Submits `jobs` requests over `clients` connections; resolves with the counts.
function submitAll() {
  return new Promise((resolve, reject) => {
    let sent = 0, answered = 0, accepted = 0, non202 = 0, firstBad = '';
    const sampleIds = [];
    const finishIfDone = () => {
      if (answered === jobs) resolve({accepted, non202, firstBad, sampleIds});
    };
    for (let i = 0; i < clients; i++) {
      const conn = {buf: Buffer.alloc(0), busy: false};
      const next = () => {
        if (sent >= jobs) { conn.socket.end(); return; }
        sent++;
        conn.busy = true;
        conn.socket.write(REQUEST);
      };
      conn.socket = net.connect({host: base.hostname, port: Number(base.port)}, () => {
        conn.socket.setNoDelay(true);
        next();
      });
      conn.socket.on('data', (chunk) => {
        conn.buf = conn.buf.length ? Buffer.concat([conn.buf, chunk]) : chunk;
        let r;
        try {
          while ((r = takeResponse(conn.buf)) !== null) {
            conn.buf = r.rest;
            conn.busy = false;
            answered++;
            if (r.status === 202) {
              accepted++;
              if (sampleIds.length < 3) sampleIds.push(JSON.parse(r.body.toString()).request_id);
            } else {
              non202++;
              if (!firstBad) firstBad = `${r.status} ${r.body.toString().slice(0, 200)}`;
            }
            finishIfDone();
            next();
          }
        } catch (e) {
          reject(e);
        }
      });
      conn.socket.on('error', (e) => reject(new Error(`connection ${i}: ${e.message}`)));
      conn.socket.on('close', () => {
        if (conn.busy) reject(new Error(`connection ${i} closed by the server mid-request`));
      });
    }
  });
}

function pending(stats) {
  let n = 0, dead = 0;
  for (const q of stats.queues || []) {
    n += (q.ready || 0) + (q.delayed || 0) + (q.in_flight || 0);
    dead += q.dead || 0;
  }
  return {n, dead};
}

// Polls the queue stats until nothing is ready, delayed or in flight (or the deadline).
async function waitDrained(deadlineNs) {
  let polls = 0, last;
  for (;;) {
    last = pending(await getJson('/v1/queues/stats'));
    polls++;
    if (last.n === 0) return {polls, last};
    if (nowNs() > deadlineNs) throw new Error(`still ${last.n} jobs pending at the deadline`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function countByStatus(status) {
  let count = 0, after = '';
  for (;;) {
    const page = await getJson(`/v1/async/invocations?status=${status}&limit=500` +
                               (after ? `&after=${encodeURIComponent(after)}` : ''));
    count += (page.data || []).length;
    if (!page.has_more || !page.next_cursor) return count;
    after = page.next_cursor;
  }
}

async function main() {
  // Invocations from before this run (the runner's sanity check) are not counted.
  await waitDrained(nowNs() + 60_000_000_000n);
  const completedBefore = await countByStatus('completed');
  const failedBefore = await countByStatus('failed');
  const start = nowNs();
  const s = await submitAll();
  const submitted = nowNs();
  const {polls, last} = await waitDrained(nowNs() + 600_000_000_000n);
  const drained = nowNs();
  const total = Number(drained - start) / 1e9;
  const completed = (await countByStatus('completed')) - completedBefore;
  const failed = (await countByStatus('failed')) - failedBefore;
  const sample = s.sampleIds.length ? await getJson(`/v1/async/invocations/${s.sampleIds[0]}`) : null;
  process.stdout.write(JSON.stringify({
    mode: 'loop', jobs, clients, accepted: s.accepted, non202: s.non202, first_bad: s.firstBad,
    submit_seconds: Number(submitted - start) / 1e9, total_seconds: total, polls,
    poll_ms: POLL_MS, completed, failed, dead: last.dead, rate: completed / total,
    sample_status: sample && sample.status, sample_id: s.sampleIds[0] || null,
  }) + '\n');
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`basalt_loop.js: ${err && err.message || err}\n`);
  process.exit(1);
});
