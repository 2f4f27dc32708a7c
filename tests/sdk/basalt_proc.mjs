// Start and stop a real `basalt serve --port 0` for the SDK tests (the JS twin of
// tests/integration/basalt_proc.py). The binary comes from $BASALT_BIN, else
// build/release/basalt relative to the repository root.
//
//   const srv = await startBasalt({sets: {'auth.api_keys': KEY}});
//   ... `http://127.0.0.1:${srv.port}` ...
//   await srv.stop();

import {spawn} from 'node:child_process';
import {mkdtempSync, openSync, readFileSync, rmSync, accessSync, constants} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
const LISTEN_RE = /^basalt listening on http:\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/;

export function basaltBin() {
  const bin = process.env.BASALT_BIN || path.join(REPO_ROOT, 'build', 'release', 'basalt');
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`basalt binary not found or not executable: ${bin} (set BASALT_BIN)`);
  }
  return bin;
}

// Our environment minus BASALT_* (basalt reads those as configuration).
function childEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('BASALT_')) env[k] = v;
  }
  return env;
}

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

export async function startBasalt({sets = {}, args = [], startTimeoutMs = 20000} = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'basalt-sdk-'));
  const stderrPath = path.join(dir, 'stderr.log');
  const argv = ['serve', '--port', '0', '--data-dir', path.join(dir, 'data')];
  // The SDK tests name OpenAI and Anthropic models; the builtin provider
  // answers them (the embedded default would answer unknown names with 404).
  const all = {'models.default_provider': 'builtin', ...sets};
  for (const [k, v] of Object.entries(all)) argv.push('--set', `${k}=${v}`);
  argv.push(...args);
  const child = spawn(basaltBin(), argv, {
    env: childEnv(),
    stdio: ['ignore', 'pipe', openSync(stderrPath, 'w')],
  });
  live.add(child);
  const stderrText = () => {
    try { return readFileSync(stderrPath, 'utf8').slice(-4000); } catch { return ''; }
  };
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({code, signal})));

  const port = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(
        `no listening line within ${startTimeoutMs} ms; stderr:\n${stderrText()}`)), startTimeoutMs);
    const onData = (data) => {
      buf += data.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stdout.resume();  // keep draining
      const m = LISTEN_RE.exec(buf.slice(0, nl));
      if (m) resolve(Number(m[2]));
      else reject(new Error(`unexpected first stdout line: ${JSON.stringify(buf.slice(0, nl))}`));
    };
    child.stdout.on('data', onData);
    exited.then(({code, signal}) => {
      clearTimeout(timer);
      reject(new Error(`basalt exited (${code ?? signal}) before listening; stderr:\n${stderrText()}`));
    });
  }).catch(async (err) => {
    child.kill('SIGKILL');
    await exited;
    live.delete(child);
    rmSync(dir, {recursive: true, force: true});
    throw err;
  });

  let stopped = null;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stderr: stderrText,
    async stop() {
      if (stopped) return stopped;
      stopped = (async () => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
        const result = await exited;
        clearTimeout(timer);
        live.delete(child);
        if (process.env.BASALT_IT_KEEP !== '1') rmSync(dir, {recursive: true, force: true});
        return result;
      })();
      return stopped;
    },
  };
}
