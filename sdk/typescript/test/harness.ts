// Starts a real `dev` for the tests: the aqio-connect binary built from this
// checkout (or $AQIO_BIN), on its own data directory and free ports, with
// the free plan limited to 5 requests a minute so a rate limit is reached
// in a handful of calls. With AQIO_TEST_DATABASE_URL set, dev runs on that
// Postgres database instead of SQLite.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';

export const serviceToken = 'sdk-ts-test-service-token';

/** Keeps organizations and event ids of one run apart from earlier runs on the same database. */
export const runID = '_' + Date.now().toString(16);

export interface Dev {
  url: string;
  log(): string;
  stop(): Promise<void>;
}

const repoRoot = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', '..', '..');

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => res(port));
    });
  });
}

async function ready(url: string): Promise<boolean> {
  try {
    const r = await fetch(url + '/readyz');
    const body = await r.text();
    return r.status === 200 && body.includes('"status":"ok"');
  } catch {
    return false;
  }
}

export async function startDev(): Promise<Dev> {
  const tmp = mkdtempSync(join(tmpdir(), 'aqio-sdk-ts-'));
  let bin = process.env.AQIO_BIN;
  if (!bin) {
    bin = join(tmp, 'aqio-connect');
    execFileSync('go', ['build', '-o', bin, './cmd/aqio-connect'], {
      cwd: repoRoot,
      env: { ...process.env, CGO_ENABLED: '0' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('AQIO_') || k.startsWith('TEMPORAL_') || k === 'DATABASE_URL') continue;
    env[k] = v;
  }
  Object.assign(env, {
    AQIO_DATA_DIR: join(tmp, 'data'),
    AQIO_HTTP_ADDR: addr,
    AQIO_DEV_TEMPORAL_PORT: '0',
    AQIO_DEV_TEMPORAL_UI_PORT: '-1',
    AQIO_SERVICE_TOKEN: serviceToken,
    AQIO_ALLOW_PRIVATE_TARGETS: 'true',
    AQIO_RATE_LIMITS: 'free=5/1000,pro=300/10000,enterprise=1000/50000',
  });
  const db = process.env.AQIO_TEST_DATABASE_URL;
  if (db) env.DATABASE_URL = db;
  console.log(`sdk ts tests: dev on ${db ? 'postgres' : 'sqlite'}`);
  const logPath = join(tmp, 'dev.log');
  const fd = openSync(logPath, 'w');
  const child: ChildProcess = spawn(bin, ['dev'], { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: number | null | undefined;
  const done = new Promise<void>((res) =>
    child.once('exit', (code) => {
      exited = code;
      res();
    }),
  );
  const log = () => readFileSync(logPath, 'utf8');
  const stop = async () => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await done;
      clearTimeout(t);
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  const url = `http://${addr}`;
  const deadline = Date.now() + 3 * 60_000;
  while (!(await ready(url))) {
    if (exited !== undefined) {
      const l = log();
      await stop();
      throw new Error(`dev exited (${exited})\n${l}`);
    }
    if (Date.now() > deadline) {
      const l = log();
      await stop();
      throw new Error(`dev not ready at ${url} within 3 minutes\n${l}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, log, stop };
}

/** A delivery as a local receiver got it. */
export interface Received {
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** The verifier's verdict: undefined when it verified. */
  error: Error | undefined;
}

/**
 * A local webhook endpoint that verifies every delivery with the given
 * check and keeps what it got; 204 when the check passes, 401 otherwise.
 */
export async function startReceiver(): Promise<{
  url: string;
  got: Received[];
  setCheck(check: (body: Buffer, headers: IncomingMessage['headers']) => void): void;
  close(): Promise<void>;
}> {
  const got: Received[] = [];
  let check: ((body: Buffer, headers: IncomingMessage['headers']) => void) | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let error: Error | undefined = new Error('no verifier yet');
      if (check) {
        try {
          check(body, req.headers);
          error = undefined;
        } catch (e) {
          error = e as Error;
        }
      }
      got.push({ headers: req.headers, body, error });
      res.writeHead(error ? 401 : 204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    got,
    setCheck: (c) => {
      check = c;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Polls cond every 50 ms until it holds; fails after within ms. */
export async function eventually(within: number, what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + within;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
