// Helpers of bench/async/run (kept out of bash for JSON):
//   node util.js free-port                 a free TCP port on 127.0.0.1
//   node util.js pending BASE_URL          jobs ready + delayed + in flight in GET /v1/queues/stats
//   node util.js show KIND FILE            one line for a result file (KIND: wrk, loop, enqueue)
//   node util.js table DIR                 the summary table and ratios from DIR/*.json
'use strict';
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');

const fmt = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n)) ? '-' :
  Number(n).toLocaleString('en-US', {minimumFractionDigits: digits, maximumFractionDigits: digits});
const readJson = (file) => { try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return null; } };

function freePort() {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    process.stdout.write(`${s.address().port}\n`);
    s.close();
  });
}

function pending(base) {
  http.get(`${base}/v1/queues/stats`, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      if (res.statusCode !== 200) {
        process.stderr.write(`GET /v1/queues/stats: ${res.statusCode}\n`);
        process.exit(1);
      }
      let n = 0;
      for (const q of JSON.parse(Buffer.concat(chunks).toString()).queues || []) {
        n += (q.ready || 0) + (q.delayed || 0) + (q.in_flight || 0);
      }
      process.stdout.write(`${n}\n`);
    });
  }).on('error', (e) => { process.stderr.write(`${e.message}\n`); process.exit(1); });
}

// wrk's BENCH_JSON line (submit.lua) in the same units as the BullMQ figures.
function wrkFigures(w) {
  const secs = w.duration_us / 1e6;
  const ok = w.requests - w.non202;
  return {rate: ok / secs, p50: w.p50_us / 1000, p99: w.p99_us / 1000, max: w.max_us / 1000,
          errors: w.non202 + w.socket_errors + w.timeouts, accepted: ok, seconds: secs};
}

function show(kind, file) {
  const r = readJson(file);
  if (!r) return console.log(`  (no result in ${file})`);
  if (kind === 'wrk') {
    const f = wrkFigures(r);
    let line = `  ${fmt(f.rate)} submissions/s (202s only)   p50 ${fmt(f.p50, 3)} ms   ` +
               `p99 ${fmt(f.p99, 3)} ms   max ${fmt(f.max, 3)} ms   ${fmt(f.accepted)} accepted in ` +
               `${fmt(f.seconds, 2)} s   non-202 ${r.non202}   socket errors ${r.socket_errors}   ` +
               `timeouts ${r.timeouts}`;
    if (r.first_bad) line += `\n  first non-202 answer: ${r.first_bad}`;
    if (r.held !== undefined) {
      line += `\n  queue depth grew by ${fmt(r.held)} over the run (wrk counted ${fmt(f.accepted)} 202s; ` +
              'requests still in flight when wrk stopped can add up to one per connection)';
      if (r.held < f.accepted) line += '\n  WARNING: fewer jobs in the queue than 202 answers';
    }
    return console.log(line);
  }
  if (kind === 'enqueue') {
    let line = `  ${fmt(r.rate)} adds/s   p50 ${fmt(r.p50_ms, 3)} ms   p99 ${fmt(r.p99_ms, 3)} ms   ` +
               `max ${fmt(r.max_ms, 3)} ms   ${fmt(r.adds)} adds in ${fmt(r.seconds, 2)} s   ` +
               `errors ${r.errors}   jobs held by the queue ${fmt(r.held_by_queue)}`;
    if (r.last_error) line += `\n  last error: ${r.last_error}`;
    return console.log(line);
  }
  let line = `  ${fmt(r.rate)} completions/s   ${fmt(r.completed)} completed, ${fmt(r.failed)} failed ` +
             `of ${fmt(r.jobs)}   submitted in ${fmt(r.submit_seconds, 2)} s, all done after ` +
             `${fmt(r.total_seconds, 2)} s`;
  if (r.non202 !== undefined) line += `   non-202 ${r.non202}`;
  if (r.add_errors !== undefined) line += `   add errors ${r.add_errors}`;
  if (r.sample_status) line += `\n  sample ${r.sample_id}: status ${r.sample_status}`;
  if (r.first_bad) line += `\n  first non-202 answer: ${r.first_bad}`;
  console.log(line);
}

function table(dir) {
  const get = (name) => readJson(path.join(dir, `${name}.json`));
  const rows = [];
  const bw = get('basalt-submit');
  const bl = get('basalt-loop');
  if (bw || bl) {
    const f = bw ? wrkFigures(bw) : {};
    rows.push({label: 'basalt (SQLite WAL, fsync before 202)', rate: f.rate, p50: f.p50, p99: f.p99,
               errors: bw ? f.errors : null, loop: bl && bl.rate,
               loopErrors: bl ? bl.non202 + bl.failed : null});
  }
  for (const mode of ['always', 'everysec']) {
    const e = get(`bullmq-${mode}-enqueue`);
    const l = get(`bullmq-${mode}-loop`);
    if (!e && !l) continue;
    rows.push({label: `BullMQ + redis, appendfsync ${mode}` +
                      (mode === 'always' ? '' : ' (not durable at ack)'),
               rate: e && e.rate, p50: e && e.p50_ms, p99: e && e.p99_ms, errors: e && e.errors,
               loop: l && l.rate, loopErrors: l ? l.add_errors + l.failed : null, mode});
  }
  const head = ['system', 'submits/s', 'p50 ms', 'p99 ms', 'errors', 'completions/s', 'errors'];
  const cells = rows.map((r) => [r.label, fmt(r.rate), fmt(r.p50, 3), fmt(r.p99, 3),
                                 fmt(r.errors), fmt(r.loop), fmt(r.loopErrors)]);
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => '| ' + c.map((x, i) => (i === 0 ? x.padEnd(width[i]) : x.padStart(width[i])))
      .join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + width.map((w, i) => (i === 0 ? '-' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':'))
      .join('|') + '|');
  for (const c of cells) console.log(line(c));

  const basalt = rows.find((r) => r.label.startsWith('basalt'));
  const ratio = (a, b) => (a > 0 && b > 0) ? `${(a / b).toFixed(2)} : 1` : 'n/a';
  if (basalt) {
    for (const r of rows.filter((x) => x.mode)) {
      console.log(`\nbasalt : BullMQ (appendfsync ${r.mode})`);
      console.log(`  durable submissions/s vs queue.add/s:  ${ratio(basalt.rate, r.rate)}` +
                  `   (${fmt(basalt.rate)} vs ${fmt(r.rate)})`);
      console.log(`  end-to-end completions/s:              ${ratio(basalt.loop, r.loop)}` +
                  `   (${fmt(basalt.loop)} vs ${fmt(r.loop)})`);
    }
  }
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'free-port') freePort();
else if (cmd === 'pending') pending(args[0]);
else if (cmd === 'show') show(args[0], args[1]);
else if (cmd === 'table') table(args[0]);
else {
  process.stderr.write('usage: node util.js free-port | pending URL | show KIND FILE | table DIR\n');
  process.exit(2);
}
