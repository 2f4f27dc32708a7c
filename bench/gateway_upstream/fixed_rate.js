// Fixed-rate (open-loop) HTTP/1.1 load generator for bench/gateway.
// Requests are scheduled at start + i / rate whatever the server does (no coordinated
// omission: a request due while every connection is busy waits in a queue, and its
// "scheduled" latency counts that wait). Each request goes out on one of N keep-alive
// connections; responses are parsed with Content-Length or chunked encoding.
// Usage: node fixed_rate.js URL RATE SECONDS WARMUP_SECONDS CONNECTIONS BODY_FILE [HEADER...]
// Prints one JSON line with the counts and latency percentiles (milliseconds). Bounded in
// time: it stops GRACE_SECONDS (5) after the last scheduled request whatever happens.
// Timers fire with ~1 ms granularity, so requests leave in small bursts (2-3 at 2,000/s);
// "send" latency is measured from the write() of the request, "sched" from its slot in
// the schedule (which adds the timer lateness and any wait for a free connection).
'use strict';
const net = require('net');
const fs = require('fs');

const [url, rateArg, secondsArg, warmupArg, connArg, bodyFile, ...headerArgs] = process.argv.slice(2);
const target = new URL(url);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const warmup = Number(warmupArg);
const nconn = Number(connArg);
const body = fs.readFileSync(bodyFile);
let head = `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`;
for (const h of headerArgs) head += `${h}\r\n`;
const request = Buffer.concat([Buffer.from(head + '\r\n'), body]);

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const intervalUs = 1e6 / rate;
const total = Math.round(rate * (warmup + seconds));
const firstMeasured = Math.round(rate * warmup);
const fromSend = [];   // microseconds, write() to the last byte of the response
const fromSched = [];  // microseconds, scheduled time to the last byte of the response
let start = 0, next = 0, done = 0, errors = 0, non2xx = 0, queuedMax = 0, waited = 0;
const idle = [];
const queue = [];  // indices of requests due while every connection was busy

function finish() {
  const pct = (arr, p) => {
    if (!arr.length) return null;
    return arr[Math.min(arr.length - 1, Math.floor((p / 100) * arr.length))] / 1000;
  };
  fromSend.sort((a, b) => a - b);
  fromSched.sort((a, b) => a - b);
  const measuredSeconds = (nowUs() - start) / 1e6 - warmup;
  const out = {
    rate, seconds, connections: nconn, scheduled: total, completed: done, measured: fromSend.length,
    incomplete: total - done - errors,
    errors, non2xx, waited_for_connection: waited, max_queue: queuedMax,
    achieved_rps: fromSend.length / Math.max(measuredSeconds, 1e-9),
    send: {p50: pct(fromSend, 50), p90: pct(fromSend, 90), p99: pct(fromSend, 99),
           p999: pct(fromSend, 99.9), max: pct(fromSend, 100)},
    sched: {p50: pct(fromSched, 50), p90: pct(fromSched, 90), p99: pct(fromSched, 99),
            p999: pct(fromSched, 99.9), max: pct(fromSched, 100)},
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

function send(conn, index) {
  conn.index = index;
  conn.sentAt = nowUs();
  conn.socket.write(request);
}

function release(conn) {
  if (queue.length) send(conn, queue.shift());
  else idle.push(conn);
}

function complete(conn, status) {
  const end = nowUs();
  if (status < 200 || status > 299) non2xx++;
  if (conn.index >= firstMeasured) {
    fromSend.push(end - conn.sentAt);
    fromSched.push(end - (start + conn.index * intervalUs));
  }
  conn.index = -1;
  done++;
  if (done + errors >= total) return finish();
  release(conn);
}

// Parses as many complete responses as conn.buf holds (one at a time: no pipelining).
function parse(conn) {
  for (;;) {
    const buf = conn.buf;
    const headEnd = buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const headText = buf.toString('latin1', 0, headEnd);
    const status = Number(headText.slice(9, 12));
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
    let end;
    if (cl) {
      end = headEnd + 4 + Number(cl[1]);
      if (buf.length < end) return;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(headText)) {
      let pos = headEnd + 4;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', pos);
        if (lineEnd < 0) return;
        const size = parseInt(buf.toString('latin1', pos, lineEnd), 16);
        if (size === 0) {
          const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
          if (trailerEnd < 0) return;
          end = trailerEnd + 4;
          break;
        }
        pos = lineEnd + 2 + size + 2;
        if (buf.length < pos) return;
      }
    } else {
      errors++;  // no framing we understand
      conn.socket.destroy();
      return;
    }
    conn.buf = buf.subarray(end);
    complete(conn, status);
  }
}

function tick() {
  const now = nowUs();
  while (next < total && start + next * intervalUs <= now) {
    const index = next++;
    const conn = idle.shift();
    if (conn) send(conn, index);
    else {
      queue.push(index);
      if (index >= firstMeasured) waited++;
      if (queue.length > queuedMax) queuedMax = queue.length;
    }
  }
  if (next < total) {
    const waitMs = (start + next * intervalUs - nowUs()) / 1000;
    setTimeout(tick, Math.max(0, waitMs));
  }
}

let connected = 0;
for (let i = 0; i < nconn; i++) {
  const conn = {socket: null, buf: Buffer.alloc(0), index: -1, sentAt: 0};
  conn.socket = net.connect({host: target.hostname, port: Number(target.port)}, () => {
    conn.socket.setNoDelay(true);
    idle.push(conn);
    if (++connected === nconn) {
      start = nowUs();
      tick();
    }
  });
  conn.socket.on('data', (chunk) => {
    conn.buf = conn.buf.length ? Buffer.concat([conn.buf, chunk]) : chunk;
    parse(conn);
  });
  const fail = (err) => {
    if (conn.dead) return;
    conn.dead = true;
    process.stderr.write(`connection ${i}: ${err ? err.message : 'closed'}\n`);
    if (conn.index >= 0) {
      errors++;
      if (done + errors >= total) finish();
    }
  };
  conn.socket.on('error', fail);
  conn.socket.on('close', () => fail(null));
}
// Bounded in time whatever happens: give up GRACE_SECONDS after the schedule's end
// (a saturated server leaves requests unanswered; they count as incomplete).
const GRACE_SECONDS = 5;
setTimeout(() => {
  process.stderr.write(`stopped ${GRACE_SECONDS} s after the schedule ended, ` +
                       `${total - done - errors} requests unanswered\n`);
  finish();
}, (warmup + seconds + GRACE_SECONDS) * 1000).unref();
