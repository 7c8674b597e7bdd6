// Browser tests of the console: playwright-core driving Debian's Chromium
// (/usr/bin/chromium) against a real `aqio-connect dev` (embedded Temporal,
// SQLite in a temporary data directory, free ports) and a local webhook
// receiver. Each step that fails leaves a screenshot, the page's HTML and
// dev's log under console/test-results/.
//
//   npm run test:browser                 build the binary, run every step
//   AQIO_BIN=/path/aqio-connect npm run test:browser   use a built binary
//   npm run test:browser -- --docs       also refresh the screenshots in docs/console/
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const consoleDir = fileURLToPath(new URL('..', import.meta.url));
const repo = join(consoleDir, '..');
const results = join(consoleDir, 'test-results');
const docsShots = join(repo, 'docs', 'console');
const refreshDocs = process.argv.includes('--docs');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const stepTimeout = 60_000;

rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'aqio-console-browser-'));
const cleanups = [];
let devLog = '';

function log(...a) {
  console.log('[browser-tests]', ...a);
}

// until polls f until it returns a truthy value or the deadline passes.
async function until(what, f, timeout = stepTimeout) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// --- the binary -----------------------------------------------------------
function binary() {
  if (process.env.AQIO_BIN) return process.env.AQIO_BIN;
  const out = join(work, 'aqio-connect');
  log('building the binary (go build -o …; the first build links the Temporal server and takes minutes)');
  // The caller's environment as it is (CGO_ENABLED included), so the build cache of `go test` is reused.
  execFileSync('go', ['build', '-o', out, './cmd/aqio-connect'], { cwd: repo, stdio: 'inherit' });
  return out;
}

// --- a webhook receiver ----------------------------------------------------
function receiver() {
  const got = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ path: req.url, headers: req.headers, body });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"received":true}');
    });
  });
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => {
      cleanups.push(() => new Promise((r) => srv.close(r)));
      resolve({ url: `http://127.0.0.1:${srv.address().port}/hook`, got });
    });
  });
}

// Standard Webhooks: base64(HMAC-SHA256(secret, "id.timestamp.body")), secret "whsec_<base64>".
function signatureValid(secret, headers, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const want = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
  return String(headers['webhook-signature'] ?? '')
    .split(' ')
    .some((s) => s === 'v1,' + want);
}

// --- dev ---------------------------------------------------------------------
async function startDev(bin, token) {
  const data = join(work, 'data');
  const proc = spawn(bin, ['dev'], {
    cwd: work,
    detached: true,
    env: {
      ...process.env,
      AQIO_DATA_DIR: data,
      AQIO_HTTP_ADDR: '127.0.0.1:0',
      AQIO_DEV_TEMPORAL_PORT: '0',
      AQIO_DEV_TEMPORAL_UI_PORT: '0',
      AQIO_SERVICE_TOKEN: token,
      AQIO_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (c) => (devLog += c));
  proc.stderr.on('data', (c) => (devLog += c));
  let exited = null;
  proc.on('exit', (code, sig) => (exited = `exited (${code ?? sig})`));
  cleanups.push(async () => {
    if (exited) return;
    try {
      process.kill(-proc.pid, 'SIGTERM');
    } catch {}
    await until('dev to stop', () => exited, 30_000).catch(() => {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {}
    });
  });
  const base = await until(
    "dev's banner",
    () => {
      if (exited) throw new Error(`dev ${exited}:\n${devLog}`);
      const m = devLog.match(/^\s+Console\s+(http:\/\/\S+)\/console$/m);
      return m && m[1];
    },
    300_000,
  );
  return { base, consoleURL: base + '/console' };
}

// --- the steps ------------------------------------------------------------------
async function main() {
  const bin = binary();
  const token = 'aqio_dev_browser_' + randomBytes(12).toString('hex');
  const org = 'org_browser_test';
  const rcv = await receiver();
  const dev = await startDev(bin, token);
  log('dev is up at', dev.base);

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  cleanups.push(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(stepTimeout);
  const foreign = [];
  const consoleErrors = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(dev.base + '/') && !u.startsWith('data:')) foreign.push(u);
  });
  // Network failures are checked by status below; other console errors are bugs.
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && consoleErrors.push(m.text()));
  const refused = [];
  page.on('response', (r) => r.status() >= 400 && refused.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`));
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  const shot = async (name, fullPage = true) => {
    const file = join(results, name + '.png');
    await page.screenshot({ path: file, fullPage });
    if (refreshDocs) {
      mkdirSync(docsShots, { recursive: true });
      copyFileSync(file, join(docsShots, name + '.png'));
    }
  };

  // tryItOutEnabled opens the form already; older behaviour needs the click.
  const tryItOut = async (op) => {
    await op.getByRole('button', { name: 'Execute' }).or(op.getByRole('button', { name: 'Try it out' })).first().waitFor();
    if (await op.getByRole('button', { name: 'Try it out' }).count()) await op.getByRole('button', { name: 'Try it out' }).click();
  };
  const state = {};
  const steps = [
    [
      'GET / sends the browser to the sign-in page of the console',
      async () => {
        await page.goto(dev.base + '/');
        await until('the /console URL', () => new URL(page.url()).pathname === '/console');
        await page.getByLabel('Token or API key').waitFor();
        await shot('sign-in');
      },
    ],
    [
      'a wrong token is refused with the API message',
      async () => {
        await page.getByLabel('Token or API key').fill('not-the-token');
        await page.getByLabel('Organization').fill(org);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('alert').filter({ hasText: 'invalid_credential' }).waitFor();
      },
    ],
    [
      'sign in with the service token and an organization',
      async () => {
        await page.getByLabel('Token or API key').fill(token);
        await page.getByLabel('Organization').fill(org);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
        assert((await page.getByTestId('who').textContent()).includes(org), 'the header does not name the organization');
        const cookies = await context.cookies();
        const c = cookies.find((c) => c.name === 'aqio_console_session');
        assert(c && c.httpOnly && c.sameSite === 'Strict', `session cookie ${JSON.stringify(c)}`);
        const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
        assert(!stored.includes(token), 'the token is in web storage');
      },
    ],
    [
      'create a webhook pointing at the receiver (event types from the catalog)',
      async () => {
        await page.getByRole('button', { name: 'New endpoint' }).click();
        await page.getByLabel('Name').fill('browser receiver');
        await page.getByLabel('URL').fill('not a url');
        await page.getByRole('button', { name: 'Create endpoint' }).click();
        await page.getByText('Enter an http:// or https:// URL.').waitFor();
        await page.getByLabel('URL').fill(rcv.url);
        await page.getByRole('checkbox', { name: 'registration.*', exact: true }).check();
        await page.getByRole('checkbox', { name: 'registration.confirmed (included)' }).waitFor();
        await shot('webhook-create');
        await page.getByRole('button', { name: 'Create endpoint' }).click();
        state.secret = (await page.getByTestId('secret').textContent()).trim();
        assert(state.secret.startsWith('whsec_'), `secret ${state.secret}`);
        await page.getByRole('table').getByRole('link', { name: 'browser receiver' }).waitFor();
        await shot('webhook-created');
        await page.getByRole('button', { name: 'Done' }).click();
        await page.getByRole('heading', { name: 'browser receiver' }).waitFor();
      },
    ],
    [
      'send a test event: the receiver gets it signed and the attempt appears',
      async () => {
        await page.getByRole('button', { name: 'Send test event' }).click();
        await page.getByTestId('test-result').filter({ hasText: 'success' }).waitFor();
        const req = await until('the test delivery at the receiver', () => rcv.got[0]);
        assert(signatureValid(state.secret, req.headers, req.body), 'the test delivery is not signed with the secret shown');
        assert(JSON.parse(req.body).type === 'webhook.test', `body ${req.body}`);
        state.messageID = req.headers['webhook-id'];
        await page.getByTestId('deliveries').getByRole('row').nth(1).waitFor();
        await shot('webhook');
      },
    ],
    [
      'open the attempt: headers, body, response, duration, Temporal link',
      async () => {
        await page.getByTestId('deliveries').getByRole('row').nth(1).getByRole('link').click();
        await page.getByRole('heading', { name: /Attempt/ }).waitFor();
        assert((await page.getByTestId('outcome').textContent()) === 'HTTP 200', 'outcome is not HTTP 200');
        await page.getByRole('table', { name: 'Request headers' }).getByText('Webhook-Id', { exact: true }).waitFor();
        assert((await page.getByTestId('payload').textContent()).includes('webhook.test'), 'payload lacks the event');
        await page.getByRole('table', { name: 'Response headers' }).waitFor();
        await page.getByLabel('Response body').filter({ hasText: '"received": true' }).waitFor();
        const link = await page.getByTestId('temporal-url').getAttribute('href');
        assert(link && link.includes('/namespaces/default/workflows/'), `temporal_url ${link}`);
        await shot('attempt');
      },
    ],
    [
      'redeliver it: same webhook-id at the receiver, a new attempt in the list',
      async () => {
        await page.getByRole('button', { name: 'Redeliver' }).click();
        await page.getByTestId('redelivered').waitFor();
        const again = await until('the redelivery at the receiver', () => rcv.got[1]);
        assert(again.headers['webhook-id'] === state.messageID, 'the redelivery changed the webhook-id');
        assert(signatureValid(state.secret, again.headers, again.body), 'the redelivery is not signed');
        await page.getByRole('link', { name: 'Watch its attempt' }).click();
        // The page polls: the redelivery's attempt shows up without a reload.
        await page.getByTestId('deliveries').getByRole('cell', { name: /redelivery/ }).waitFor();
        assert((await page.getByTestId('deliveries').getByRole('row').count()) === 3, 'want 2 attempts listed');
      },
    ],
    [
      'rotate the secret: the new one is shown once and signs the next delivery',
      async () => {
        page.once('dialog', (d) => d.accept());
        await page.getByRole('button', { name: 'Rotate secret' }).click();
        const next = (await page.getByTestId('secret').textContent()).trim();
        assert(next.startsWith('whsec_') && next !== state.secret, 'no new secret shown');
        await shot('rotate-secret');
        await page.getByRole('button', { name: 'Done' }).click();
        await page.getByRole('button', { name: 'Send test event' }).click();
        await page.getByTestId('test-result').filter({ hasText: 'success' }).waitFor();
        const third = await until('the delivery after rotation', () => rcv.got[2]);
        assert(signatureValid(next, third.headers, third.body), 'not signed with the new secret');
        assert(signatureValid(state.secret, third.headers, third.body), 'the old secret stopped signing during the grace period');
      },
    ],
    [
      'the session survives a reload (cookie), CSRF token fetched again',
      async () => {
        await page.reload();
        await page.getByRole('heading', { name: 'browser receiver' }).waitFor();
        await page.getByRole('button', { name: 'Send test event' }).click();
        await page.getByTestId('test-result').filter({ hasText: 'success' }).waitFor();
      },
    ],
    [
      'the API explorer (from /api/docs) tries a call through the session',
      async () => {
        await page.goto(dev.base + '/api/docs');
        await until('the explorer URL', () => new URL(page.url()).pathname === '/console/explorer');
        const op = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/api/event-types"])');
        await op.locator('.opblock-summary').first().click();
        await tryItOut(op);
        await op.getByRole('button', { name: 'Execute' }).click();
        await op.locator('.live-responses-table .response-col_status').filter({ hasText: '200' }).waitFor();
        await op.locator('.live-responses-table').getByText('registration.confirmed').first().waitFor();
        await op.scrollIntoViewIfNeeded();
        await page.mouse.wheel(0, -260);
        await shot('explorer', false);
        // A state change from the explorer carries the CSRF token: create a webhook.
        const create = page.locator('.opblock-post:has(.opblock-summary-path[data-path="/api/webhooks"])');
        await create.locator('.opblock-summary').first().click();
        await tryItOut(create);
        await create.locator('textarea.body-param__text').fill(JSON.stringify({ name: 'from the explorer', url: rcv.url, events: ['event.*'] }));
        await create.getByRole('button', { name: 'Execute' }).click();
        await create.locator('.live-responses-table .response-col_status').filter({ hasText: '201' }).waitFor();
      },
    ],
    [
      'the explorer calls the API directly with a token given in Authorize',
      async () => {
        const direct = [];
        const onResponse = (r) => new URL(r.url()).pathname === '/api/event-types' && direct.push(r);
        page.on('response', onResponse);
        await page.locator('.servers select').selectOption({ index: 1 });
        await page.locator('.auth-wrapper').getByRole('button', { name: /Authorize/ }).click();
        const dialog = page.locator('.modal-ux');
        await dialog.locator('input[aria-label="auth-bearer-value"]').fill(token);
        await dialog.getByRole('button', { name: 'Apply credentials' }).first().click();
        await dialog.locator('button.btn-done').first().click();
        const op = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/api/event-types"])');
        await op.locator('input[placeholder="X-Aqio-Organization-Id"]').fill(org);
        await op.getByRole('button', { name: 'Execute' }).click();
        await until('the direct call', () => direct.length > 0);
        page.off('response', onResponse);
        const r = direct[0];
        assert(r.status() === 200, `direct GET /api/event-types: ${r.status()}`);
        const h = await r.request().allHeaders();
        assert(h.authorization === 'Bearer ' + token, 'the direct call lacks the token given in Authorize');
        assert(!h.cookie, 'the direct call sent the console cookie');
      },
    ],
    [
      'nothing was loaded from another origin, no script errors',
      async () => {
        assert(foreign.length === 0, `requests left the origin: ${foreign.join(', ')}`);
        assert(consoleErrors.length === 0, `errors in the page: ${consoleErrors.join(' | ')}`);
        // Only the expected refusals: "not signed in yet" and the wrong token.
        const expected = new Set(['GET /console/session 401', 'POST /console/session 401']);
        const unexpected = refused.filter((r) => !expected.has(r));
        assert(unexpected.length === 0, `unexpected error responses: ${unexpected.join(', ')}`);
        refused.length = 0; // later steps check their own refusals
      },
    ],
    [
      'sign out',
      async () => {
        await page.goto(dev.consoleURL + '/webhooks');
        await page.getByRole('link', { name: 'from the explorer' }).waitFor();
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByLabel('Token or API key').waitFor();
        const r = await page.evaluate(async () => (await fetch('/console/api/webhooks')).status);
        assert(r === 401, `API through the console after sign-out: ${r}`);
      },
    ],
    [
      'an API key with webhooks:read signs in to its organization and may look but not create',
      async () => {
        const res = await fetch(dev.base + '/api/api-keys', {
          method: 'POST',
          headers: { Authorization: 'Bearer ' + token, 'X-Aqio-Organization-Id': org, 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: 'console reader', scopes: ['webhooks:read'] }),
        });
        const created = await res.text();
        assert(res.status === 201, `create key: ${res.status} ${created}`);
        const { key } = JSON.parse(created);
        await page.getByLabel('Token or API key').fill(key);
        assert(await page.getByLabel('Organization').isDisabled(), 'the organization field is editable for a key');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('link', { name: 'browser receiver' }).waitFor();
        assert((await page.getByTestId('who').textContent()).includes('API key'), 'the header does not say API key');
        await page.getByRole('button', { name: 'New endpoint' }).click();
        await page.getByLabel('Name').fill('not allowed');
        await page.getByLabel('URL').fill(rcv.url);
        await page.getByRole('checkbox', { name: '*', exact: true }).check();
        await page.getByRole('button', { name: 'Create endpoint' }).click();
        await page.getByRole('alert').filter({ hasText: 'insufficient_scope' }).waitFor();
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByLabel('Token or API key').waitFor();
      },
    ],
  ];

  let failed = 0;
  for (const [name, f] of steps) {
    const started = Date.now();
    try {
      await f();
      log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed++;
      const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
      log(`FAIL ${name}: ${e.stack || e}`);
      await page.screenshot({ path: join(results, `FAILED-${slug}.png`), fullPage: true }).catch(() => {});
      writeFileSync(join(results, `FAILED-${slug}.html`), await page.content().catch(() => ''));
      break; // later steps build on this one
    }
  }
  writeFileSync(join(results, 'dev.log'), devLog);
  if (failed) {
    log(`failed; screenshot, page and dev's log in ${results}`);
    process.exitCode = 1;
  } else {
    log(`all ${steps.length} steps passed`);
  }
}

try {
  await main();
} catch (e) {
  console.error('[browser-tests] FAIL', e.stack || e);
  writeFileSync(join(results, 'dev.log'), devLog);
  process.exitCode = 1;
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  rmSync(work, { recursive: true, force: true });
  if (existsSync(join(work))) log('could not remove', work);
}
