// Peer for bench/jwt: panva/jose (npm "jose", pinned in package-lock.json)
// verifying the tokens jwt_verify_bench emitted, with the same keys imported
// once (a cached key), one verify at a time. Same JSON lines as the C++ bench.
//   node peer.mjs cases.json
import { readFileSync } from 'node:fs';
import { importJWK, jwtVerify } from 'jose';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const options = { issuer: spec.issuer, audience: spec.audience, clockTolerance: 60 };

function percentile(sorted, p) {
  return sorted[Math.floor(p * (sorted.length - 1))];
}

for (const c of spec.cases) {
  const key = await importJWK(c.jwk, c.alg);
  const opts = { ...options, algorithms: [c.alg] };
  for (let i = 0; i < 500; i++) await jwtVerify(c.token, key, opts);
  const us = new Float64Array(spec.iterations);
  for (let i = 0; i < spec.iterations; i++) {
    const start = process.hrtime.bigint();
    await jwtVerify(c.token, key, opts);
    us[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  const sorted = Array.from(us).sort((a, b) => a - b);
  console.log(JSON.stringify({
    impl: 'node-jose', alg: c.alg, n: spec.iterations,
    p50_us: +percentile(sorted, 0.5).toFixed(2), p99_us: +percentile(sorted, 0.99).toFixed(2),
    max_us: +sorted[sorted.length - 1].toFixed(2),
  }));
}
