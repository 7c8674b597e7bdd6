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
// Set rcv.status to make it answer something else than 200 (a broken receiver).
function receiver() {
  const got = [];
  const rcv = { got, status: 200 };
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ path: req.url, headers: req.headers, body, status: rcv.status });
      res.writeHead(rcv.status, { 'Content-Type': 'application/json' });
      res.end(rcv.status === 200 ? '{"received":true}' : '{"error":"receiver broken on purpose"}');
    });
  });
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => {
      cleanups.push(() => new Promise((r) => srv.close(r)));
      rcv.url = `http://127.0.0.1:${srv.address().port}/hook`;
      resolve(rcv);
    });
  });
}

// api calls the API directly with the service token (setup the pages then show).
async function api(base, token, org, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: 'Bearer ' + token, 'X-Aqio-Organization-Id': org, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

// Standard Webhooks: base64(HMAC-SHA256(secret, "id.timestamp.body")), secret "whsec_<base64>".
function signatureValid(secret, headers, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const want = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
  return String(headers['webhook-signature'] ?? '')
    .split(' ')
    .some((s) => s === 'v1,' + want);
}

// --- provider fakes (console/browser-tests/fakes, Go) --------------------------
async function startFakes() {
  let bin = process.env.AQIO_FAKES_BIN;
  if (!bin) {
    bin = join(work, 'fakes');
    execFileSync('go', ['build', '-o', bin, './console/browser-tests/fakes'], { cwd: repo, stdio: 'inherit' });
  }
  const proc = spawn(bin, [], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c) => (out += c));
  proc.stderr.on('data', (c) => (out += c));
  cleanups.push(async () => proc.kill('SIGTERM'));
  const url = await until('the fakes to listen', () => (out.match(/^fakes (http:\/\/\S+)$/m) || [])[1], 60_000);
  const issuer = await until('the OIDC provider', () => (out.match(/^oidc (http:\/\/\S+)$/m) || [])[1], 60_000);
  return {
    url,
    issuer,
    async control(method, path, body) {
      const r = await fetch(url + path, { method, body });
      if (method === 'POST' && r.status !== 204) throw new Error(`fakes ${method} ${path}: ${r.status} ${await r.text()}`);
      return r;
    },
  };
}

// --- dev ---------------------------------------------------------------------
async function startDev(bin, token, fakes) {
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
      AQIO_DEV_TEMPORAL_INTERNAL_PORT_BASE: '0',
      // A receiver failing for longer than this disables its endpoint (the recovery steps).
      AQIO_AUTO_DISABLE_AFTER: '1s',
      // Kit's API is the fake (the integrations steps).
      AQIO_KIT_API_URL: fakes.url + '/kit/v4',
      // Sign-in with "Keycloak": the local OIDC provider of the fakes.
      AQIO_JWT_ISSUER: fakes.issuer,
      AQIO_JWT_AUDIENCE: 'aqio-connect',
      AQIO_CONSOLE_OIDC_CLIENT_ID: 'aqio-console',
      AQIO_CONSOLE_OIDC_CLIENT_SECRET: 'console-secret',
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
  const rcv2 = await receiver();
  const fakes = await startFakes();
  const dev = await startDev(bin, token, fakes);
  log('dev is up at', dev.base);

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  cleanups.push(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
  // The copy buttons write to the clipboard; the tests read it back.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: dev.base });
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
        await page.getByRole('button', { name: 'Copy' }).click();
        await page.getByRole('button', { name: 'Copied' }).waitFor();
        assert((await page.evaluate(() => navigator.clipboard.readText())) === next, 'the clipboard does not hold the new secret');
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
      'edit the webhook: a filter, the preview says match / no match, payload and destination auth',
      async () => {
        await page.getByRole('link', { name: 'Edit' }).click();
        await page.getByRole('heading', { name: 'Edit browser receiver' }).waitFor();
        await page.getByLabel('Event filters (JSON)').fill('{"ticket_type": ["vip"]}');
        await page.getByLabel('Filter expression (CEL)').fill('data.object.guests >=');
        await page.getByLabel('Sample event type').selectOption('registration.confirmed');
        await page.getByRole('button', { name: 'Check the sample' }).click();
        // A bad expression is named at its field, by the API.
        await page.locator('#wh-expr + .field-error').filter({ hasText: 'filter_expression' }).waitFor();
        await page.getByLabel('Filter expression (CEL)').fill('data.object.guests >= 0');
        await page.getByRole('button', { name: 'Check the sample' }).click();
        await page.getByTestId('preview-result').filter({ hasText: 'No match' }).waitFor();
        assert((await page.getByTestId('preview-result').textContent()).includes('event filters: no match'), 'the preview does not say which part failed');
        const sample = await page.getByLabel('Sample event (edit it to try values)').inputValue();
        assert(sample.includes('"ticket_type": "standard"'), `sample ${sample}`);
        await page.getByLabel('Sample event (edit it to try values)').fill(sample.replace('"ticket_type": "standard"', '"ticket_type": "vip"'));
        await page.getByRole('button', { name: 'Check the sample' }).click();
        await page.getByTestId('preview-result').filter({ hasText: 'Match: this event would be delivered' }).waitFor();
        await shot('webhook-edit-preview');
        await page.getByLabel('everything except these paths').check();
        await page.getByLabel('Dot-paths, one a line').fill('data.object.user_email');
        await page.getByLabel('Custom headers, one "Name: value" a line').fill('X-Tenant: browser');
        await page.getByLabel('Credential sent to the endpoint').selectOption('bearer');
        await page.getByRole('button', { name: 'Save changes' }).click();
        await page.getByText('Give the token.').waitFor(); // checked at the field before sending
        await page.getByLabel('Token', { exact: true }).fill('dest-token-123');
        await page.getByRole('button', { name: 'Save changes' }).click();
        await page.getByRole('heading', { name: 'browser receiver' }).waitFor();
        await page.getByText('{"ticket_type":["vip"]}').waitFor();
        await page.getByText(/^bearer hmac-sha256:[0-9a-f]{8}$/).waitFor();
        // Drop the expected refusal of the bad expression.
        const i = refused.indexOf('POST /console/api/webhooks/filter-preview 422');
        assert(i >= 0, `the bad expression was not refused by the API: ${refused.join(', ')}`);
        refused.splice(i, 1);
        // The saved filters apply: the standard registration is not sent, the VIP one is, customized.
        const types = await api(dev.base, token, org, 'GET', '/api/event-types');
        const example = types.body.data.find((t) => t.name === 'registration.confirmed').example;
        const std = await api(dev.base, token, org, 'POST', '/api/events', { id: 'evt_std', type: 'registration.confirmed', data: { object: example } });
        const vip = await api(dev.base, token, org, 'POST', '/api/events', { id: 'evt_vip', type: 'registration.confirmed', data: { object: { ...example, ticket_type: 'vip' } } });
        assert(std.status === 202 && vip.status === 202, `post events: ${std.text} ${vip.text}`);
        const hookId = new URL(page.url()).pathname.split('/').pop();
        assert(!std.body.deliveries.some((d) => d.webhook_id === hookId), 'the standard registration was queued for the filtered endpoint');
        const got = await until('the VIP registration at the receiver', () => rcv.got.find((r) => r.body.includes('"evt_vip"')));
        const body = JSON.parse(got.body);
        assert(body.data.object.ticket_type === 'vip' && !('user_email' in body.data.object), `payload ${got.body}`);
        assert(got.headers.authorization === 'Bearer dest-token-123', `authorization ${got.headers.authorization}`);
        assert(got.headers['x-tenant'] === 'browser', 'custom header missing');
        assert(!rcv.got.some((r) => r.body.includes('"evt_std"')), 'the standard registration reached the receiver');
      },
    ],
    [
      'break the receiver: failed attempts appear live, the endpoint is disabled with its reason',
      async () => {
        const created = await api(dev.base, token, org, 'POST', '/api/webhooks', {
          name: 'flaky receiver', url: rcv2.url, events: ['event.*'], retry_count: 1, retry_delay_seconds: 2,
        });
        assert(created.status === 201, `create: ${created.text}`);
        state.flaky = created.body.id;
        const types = await api(dev.base, token, org, 'GET', '/api/event-types');
        state.eventExample = types.body.data.find((t) => t.name === 'event.created').example;
        rcv2.status = 500;
        await page.goto(`${dev.consoleURL}/webhooks/${state.flaky}`);
        await page.getByRole('heading', { name: 'flaky receiver' }).waitFor();
        const ev = await api(dev.base, token, org, 'POST', '/api/events', { id: 'evt_flaky_1', type: 'event.created', data: { object: state.eventExample } });
        assert(ev.status === 202, `post event: ${ev.text}`);
        // The attempts arrive without a reload (polling): the first and its retry, both failing.
        await page.getByTestId('deliveries').getByRole('cell', { name: /HTTP 500/ }).first().waitFor();
        await page.getByTestId('disabled').filter({ hasText: 'disabled automatically' }).waitFor();
        assert((await page.getByTestId('state').textContent()) === 'disabled', 'state is not disabled');
        await shot('webhook-disabled');
        // While disabled, two more events match it and are not sent.
        for (const id of ['evt_flaky_2', 'evt_flaky_3']) {
          const r = await api(dev.base, token, org, 'POST', '/api/events', { id, type: 'event.created', data: { object: state.eventExample } });
          assert(r.status === 202 && !r.body.deliveries.some((d) => d.webhook_id === state.flaky), `post ${id} while disabled: ${r.text}`);
        }
      },
    ],
    [
      're-enable: what is owed is named, delivered by the matching recovery with live progress',
      async () => {
        rcv2.status = 200;
        const before = rcv2.got.length;
        await page.getByRole('button', { name: 'Re-enable' }).click();
        await page.getByTestId('owed').waitFor();
        assert((await page.getByTestId('owed-count').textContent()) === '3', `owed ${await page.getByTestId('owed-count').textContent()}`);
        await page.getByRole('button', { name: 'Deliver them now' }).click();
        await page.getByTestId('recovery-progress').filter({ hasText: 'Finished: 3 of 3 re-delivered (3 succeeded, 0 failed)' }).waitFor();
        await shot('webhook-recovered');
        const ids = rcv2.got.slice(before).map((r) => JSON.parse(r.body).id).sort();
        assert(JSON.stringify(ids) === JSON.stringify(['evt_flaky_1', 'evt_flaky_2', 'evt_flaky_3']), `recovered ${ids}`);
        assert(rcv2.got.slice(before).every((r) => r.status === 200), 'a recovered delivery failed');
      },
    ],
    [
      'recover since a time: the field is checked, a second recovery finds nothing owed',
      async () => {
        await page.getByRole('button', { name: 'Recover…' }).click();
        const form = page.getByRole('form', { name: 'Recover since a time' });
        await form.getByLabel('failed', { exact: true }).uncheck();
        await form.getByRole('button', { name: 'Start recovery' }).click();
        await form.getByText('Choose at least one kind of message.').waitFor();
        await form.getByLabel('failed', { exact: true }).check();
        await form.getByLabel(/not sent while disabled/).check();
        await form.getByRole('button', { name: 'Start recovery' }).click();
        await form.getByTestId('recovery-progress').filter({ hasText: 'Finished' }).waitFor();
        const text = await form.getByTestId('recovery-progress').textContent();
        assert(text.includes('nothing was owed') || text.includes('0 of 0'), `second recovery: ${text}`);
      },
    ],
    [
      'API keys: create one (checked at the field, shown once, copied), use it',
      async () => {
        await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'API keys' }).click();
        await page.getByRole('heading', { name: 'API keys' }).waitFor();
        await page.getByRole('button', { name: 'New key' }).click();
        const form = page.getByRole('form', { name: 'New API key' });
        await form.getByRole('button', { name: 'Create key' }).click();
        await form.getByText('Give the key a name.').waitFor();
        await form.getByText('Choose at least one scope.').waitFor();
        await form.getByLabel('Name').fill('console ci key');
        await form.getByRole('checkbox', { name: 'webhooks:read', exact: true }).check();
        await form.getByRole('checkbox', { name: 'events:*', exact: true }).check();
        await form.getByRole('checkbox', { name: 'events:read (included)' }).waitFor();
        await form.getByLabel(/Allowed IP addresses/).fill('10.0.0.x');
        await form.getByRole('button', { name: 'Create key' }).click();
        await form.getByText('"10.0.0.x" is not an IP address or CIDR range', { exact: false }).waitFor();
        await form.getByLabel(/Allowed IP addresses/).fill('127.0.0.1/32, ::1');
        const inAMonth = new Date(Date.now() + 30 * 86400_000);
        const p = (n) => String(n).padStart(2, '0');
        await form.getByLabel(/Expires/).fill(`${inAMonth.getFullYear()}-${p(inAMonth.getMonth() + 1)}-${p(inAMonth.getDate())}T12:00`);
        await shot('api-key-create');
        await form.getByRole('button', { name: 'Create key' }).click();
        const key = (await page.getByTestId('secret').textContent()).trim();
        assert(key.startsWith('ak_'), `key ${key}`);
        await page.getByRole('button', { name: 'Copy' }).click();
        await page.getByRole('button', { name: 'Copied' }).waitFor();
        assert((await page.evaluate(() => navigator.clipboard.readText())) === key, 'the clipboard does not hold the key');
        const row = page.getByTestId('keys').getByRole('row').filter({ hasText: 'console ci key' });
        await row.filter({ hasText: '127.0.0.1/32' }).filter({ hasText: 'events:*' }).waitFor();
        await shot('api-key-created');
        await page.getByRole('button', { name: 'Done' }).click();
        const use = await fetch(dev.base + '/api/webhooks', { headers: { Authorization: 'Bearer ' + key } });
        assert(use.status === 200, `the new key: ${use.status}`);
        state.key = key;
      },
    ],
    [
      'API keys: edit a key (IP ranges and expiry; a bad range named at the field), the change applies',
      async () => {
        await page.getByRole('button', { name: 'Edit console ci key' }).click();
        const form = page.getByRole('form', { name: 'Edit console ci key' });
        assert((await form.getByLabel('Allowed IP addresses or ranges').inputValue()).startsWith('127.0.0.1/32, ::1'), 'the form does not hold the ranges');
        await form.getByLabel('Allowed IP addresses or ranges').fill('127.0.0.1/32, 10.0.0.0/33x');
        await form.getByRole('button', { name: 'Save changes' }).click();
        await form.getByText('"10.0.0.0/33x" is not an IP address or CIDR range', { exact: false }).waitFor();
        await form.getByLabel('Allowed IP addresses or ranges').fill('127.0.0.1/32, ::1, 192.0.2.0/24');
        const inTwoMonths = new Date(Date.now() + 60 * 86400_000);
        const p = (n) => String(n).padStart(2, '0');
        await form.getByLabel(/Expires/).fill(`${inTwoMonths.getFullYear()}-${p(inTwoMonths.getMonth() + 1)}-${p(inTwoMonths.getDate())}T09:30`);
        await form.getByRole('button', { name: 'Save changes' }).click();
        await page.getByTestId('keys').getByRole('row').filter({ hasText: 'console ci key' }).filter({ hasText: '192.0.2.0/24' }).waitFor();
        const keys = await api(dev.base, token, org, 'GET', '/api/api-keys');
        const k = keys.body.data.find((x) => x.name === 'console ci key');
        assert(k && new Date(k.expires_at).getDate() === inTwoMonths.getDate() && k.allowed_ips.includes('192.0.2.0/24'), `after the edit: ${JSON.stringify(k)}`);
        const use = await fetch(dev.base + '/api/webhooks', { headers: { Authorization: 'Bearer ' + state.key } });
        assert(use.status === 200, `the edited key: ${use.status}`);
      },
    ],
    [
      'API keys: rotate with grace (both work), revoke the replacement (refused at once)',
      async () => {
        await page.getByRole('button', { name: 'Rotate console ci key' }).click();
        const form = page.getByRole('form', { name: 'Rotate console ci key' });
        await form.getByLabel('Grace period (hours)').fill('lots');
        await form.getByRole('button', { name: 'Rotate' }).click();
        await form.getByText('Give the grace period in hours, from 0 to 168.').waitFor();
        await form.getByLabel('Grace period (hours)').fill('1');
        await form.getByRole('button', { name: 'Rotate' }).click();
        const next = (await page.getByTestId('secret').textContent()).trim();
        assert(next.startsWith('ak_') && next !== state.key, 'no replacement shown');
        for (const k of [state.key, next]) {
          const r = await fetch(dev.base + '/api/webhooks', { headers: { Authorization: 'Bearer ' + k } });
          assert(r.status === 200, `during the grace period: ${r.status}`);
        }
        await page.getByRole('button', { name: 'Done' }).click();
        await page.getByTestId('keys').getByRole('row').filter({ hasText: 'console ci key' }).filter({ hasText: 'rotating' }).waitFor();
        // The replacement is the newest row named the same, active.
        const active = page.getByTestId('keys').getByRole('row').filter({ hasText: 'console ci key' }).filter({ hasText: 'active' });
        await active.waitFor();
        page.once('dialog', (d) => d.accept());
        await active.getByRole('button', { name: 'Revoke console ci key' }).click();
        await page.getByTestId('keys').getByRole('row').filter({ hasText: 'console ci key' }).filter({ hasText: 'revoked' }).waitFor();
        await shot('api-keys');
        const r = await fetch(dev.base + '/api/webhooks', { headers: { Authorization: 'Bearer ' + next } });
        assert(r.status === 401, `the revoked key: ${r.status}`);
      },
    ],
    [
      'Integrations: connect Kit (a refused key named at its field), a push Kit refuses is readable and re-run',
      async () => {
        await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Integrations' }).click();
        await page.getByRole('heading', { name: 'Integrations' }).waitFor();
        await page.getByLabel('Provider to connect').selectOption('kit');
        const form = page.getByRole('form', { name: 'Connect Kit' });
        await form.getByRole('button', { name: 'Connect', exact: true }).click();
        await form.getByText('Give the api key.').waitFor();
        const kitKey = 'kit_browser_' + randomBytes(8).toString('hex');
        await form.getByLabel('api key').fill(kitKey);
        await form.getByRole('button', { name: 'Connect', exact: true }).click();
        // Kit does not know the key yet: the API names the field.
        await form.locator('#cred-api_key ~ .field-error').waitFor();
        const i = refused.findIndex((r) => r === 'POST /console/api/integrations/kit/connect 422');
        assert(i >= 0, `the refused key: ${refused.join(', ')}`);
        refused.splice(i, 1);
        await fakes.control('POST', '/control/kit/api-keys?key=' + kitKey);
        await form.getByRole('button', { name: 'Connect', exact: true }).click();
        const card = page.getByTestId('integration').filter({ hasText: 'Kit' });
        await card.getByText('active').first().waitFor();
        // Kit refuses the next subscriber upsert.
        await fakes.control('POST', '/control/kit/fail?method=POST&path=/v4/subscribers&n=1&status=422', '{"errors":["Email address is invalid"]}');
        const types = await api(dev.base, token, org, 'GET', '/api/event-types');
        const example = types.body.data.find((t) => t.name === 'registration.confirmed').example;
        const email = 'kit.browser@example.com';
        const ev = await api(dev.base, token, org, 'POST', '/api/events', {
          id: 'evt_kit_1', type: 'registration.confirmed',
          data: { object: { ...example, id: 'reg_kit_1', user_email: email, marketing_consent: true } },
        });
        assert(ev.status === 202, `post event: ${ev.text}`);
        // The dashboard polls: the failed push shows up with Kit's message, not raw JSON.
        const failed = card.getByTestId('activity').getByRole('row').filter({ hasText: 'Email address is invalid' });
        await failed.filter({ hasText: 'failed' }).waitFor();
        await failed.getByRole('button', { name: 'Details' }).click();
        await card.getByText('/v4/subscribers').first().waitFor();
        const temporal = await failed.getByRole('link', { name: /Temporal run of push/ }).getAttribute('href');
        assert(temporal && temporal.includes('/namespaces/default/workflows/'), `temporal_url ${temporal}`);
        await shot('integrations-failed-push');
        await failed.getByRole('button', { name: /^Re-run push/ }).click();
        await card.getByTestId('activity').getByRole('row').filter({ hasText: 're-run' }).filter({ hasText: 'succeeded' }).waitFor();
        const held = await fakes.control('GET', '/control/kit/subscribers?email=' + encodeURIComponent(email));
        assert(held.status === 200, `Kit does not hold the subscriber after the re-run: ${held.status}`);
        await shot('integrations');
        // A sync with a record Kit refuses: failed, its per-record error readable, re-run.
        await fakes.control('POST', '/control/kit/fail?method=POST&path=/v4/subscribers&n=1&status=422', '{"errors":["Email address is invalid"]}');
        await card.getByRole('button', { name: 'Sync now' }).click();
        const sync = card.getByTestId('activity').getByRole('row').filter({ hasText: 'sync' }).filter({ hasText: '1 failed' });
        await sync.filter({ hasText: 'failed' }).first().waitFor();
        await sync.first().getByRole('button', { name: 'Details' }).click();
        await card.getByRole('table', { name: 'Per-record errors' }).getByText('Email address is invalid', { exact: false }).waitFor();
        await shot('integrations-failed-sync');
        await sync.first().getByRole('button', { name: /^Re-run sync/ }).click();
        await card
          .getByTestId('activity')
          .getByRole('row')
          .filter({ hasText: 'sync' })
          .filter({ hasText: 're-run' })
          .filter({ hasText: 'completed' })
          .waitFor();
      },
    ],
    [
      'Integrations: edit Kit settings from its schema (a bad tag id named by the form, an unknown tag by Kit), saved through the API',
      async () => {
        const card = page.getByTestId('integration').filter({ hasText: 'Kit' });
        await card.getByRole('button', { name: 'Settings of Kit' }).click();
        const form = card.getByRole('form', { name: 'Settings of Kit' });
        // The fields come from Kit's settings_schema; the event tag shows its default.
        assert((await form.getByLabel('event tag').inputValue()) === '{event_title}', 'the event tag does not show its default');
        await form.getByLabel(/^tag ids/).fill('12, x');
        await form.getByRole('button', { name: 'Save settings' }).click();
        await form.locator('[data-setting=tag_ids] .field-error').filter({ hasText: '"x" is not a whole number.' }).waitFor();
        // A tag the account does not have: Kit is asked (CheckSettings), the API names settings.tag_ids[0].
        await form.getByLabel(/^tag ids/).fill('987654');
        await form.getByRole('button', { name: 'Save settings' }).click();
        await form.locator('[data-setting=tag_ids] .field-error').filter({ hasText: 'Kit has no tag 987654' }).waitFor();
        const i = refused.findIndex((r) => /^PATCH \/console\/api\/integrations\/[^/]+ 422$/.test(r));
        assert(i >= 0, `the refused tag: ${refused.join(', ')}`);
        refused.splice(i, 1);
        await shot('integration-settings');
        await form.getByLabel(/^tag ids/).fill('');
        await form.getByLabel('event tag').fill('aqio {event_id}');
        await form.getByRole('button', { name: 'Save settings' }).click();
        await card.getByText('Settings saved.').waitFor();
        const list = await api(dev.base, token, org, 'GET', '/api/integrations');
        const kit = list.body.data.find((x) => x.integration_type === 'kit');
        assert(JSON.stringify(kit.settings) === JSON.stringify({ event_tag: 'aqio {event_id}' }), `settings after saving: ${JSON.stringify(kit.settings)}`);
        // Opened again, the form shows what was saved.
        await card.getByRole('button', { name: 'Settings of Kit' }).click();
        assert((await form.getByLabel('event tag').inputValue()) === 'aqio {event_id}', 'the form does not show the saved tag');
        await form.getByRole('button', { name: 'Cancel' }).click();
      },
    ],
    [
      "Usage: a key's requests, allowed and denied, in the chart, top keys with headroom",
      async () => {
        const k = await api(dev.base, token, org, 'POST', '/api/api-keys', { name: 'usage key', scopes: ['webhooks:read'] });
        assert(k.status === 201, `create key: ${k.text}`);
        // 65 calls in a minute on the free plan (60 a minute): some refused with 429.
        // Start early in a minute so the calls share one rate-limit window.
        const sec = new Date().getSeconds();
        if (sec > 40) await new Promise((r) => setTimeout(r, (61 - sec) * 1000));
        const codes = [];
        for (let n = 0; n < 65; n++) {
          const r = await fetch(dev.base + '/api/webhooks?limit=1', { headers: { Authorization: 'Bearer ' + k.body.key } });
          codes.push(r.status);
          await r.arrayBuffer();
        }
        assert(codes.every((c) => c === 200 || c === 429) && codes.includes(429), `statuses ${codes.join(',')}`);
        // A write with a read key: refused by the rate limit (429) or the scope (403).
        const forbidden = await fetch(dev.base + '/api/webhooks', {
          method: 'POST', headers: { Authorization: 'Bearer ' + k.body.key, 'Content-Type': 'application/json' }, body: '{}',
        });
        assert([403, 429].includes(forbidden.status), `write with a read key: ${forbidden.status}`);
        codes.push(forbidden.status);
        const allowed = codes.filter((c) => c === 200 || c === 403).length;
        const denied = codes.filter((c) => c === 429).length;
        state.usageKey = k.body;
        state.usageAllowed = allowed;
        state.usageDenied = denied;
        await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Usage' }).click();
        await page.getByRole('heading', { name: 'Usage', exact: true }).waitFor();
        await page.getByLabel('Key', { exact: true }).selectOption(k.body.id);
        // Usage is written about once a second: refresh until the counts are in.
        await until('the key\'s counts', async () => {
          const t = await page.getByTestId('usage-totals').textContent();
          if (t.includes(`${allowed} allowed, ${denied} denied`)) return true;
          await page.getByRole('button', { name: 'Refresh' }).click();
          await new Promise((r) => setTimeout(r, 500));
          return false;
        });
        await page.getByTestId('usage-chart').locator('canvas').waitFor();
        const legend = await page.getByTestId('usage-chart').textContent();
        assert(legend.includes('allowed') && legend.includes('denied') && legend.includes('limit per key'), `legend ${legend}`);
        const row = page.getByTestId('top-keys').getByRole('row').filter({ hasText: 'usage key' });
        await row.filter({ hasText: / of 60 left/ }).waitFor();
        await shot('usage', false);
      },
    ],
    [
      'Request log: filtered by status at the field, an error entry opened, a key creation linked to its audit entry',
      async () => {
        const log = page.getByRole('region', { name: 'API request log' });
        await log.getByLabel('Status').fill('abc');
        await log.getByRole('button', { name: 'Filter' }).click();
        await log.getByText('An exact status (404) or a class (4xx).').waitFor();
        await log.getByLabel('Status').fill('4xx');
        // Entries are written in batches about once a second.
        await until('the refused calls in the request log', async () => {
          await log.getByRole('button', { name: 'Filter' }).click();
          await new Promise((r) => setTimeout(r, 500));
          return (await log.getByTestId('request-log').getByRole('row').filter({ hasText: '429' }).count()) >= state.usageDenied;
        });
        const statuses = await log.getByTestId('request-log').locator('tbody tr td:nth-child(3)').allTextContents();
        assert(statuses.every((s) => s.startsWith('4')), `4xx filter shows ${statuses}`);
        await log.getByTestId('request-log').getByRole('row').filter({ hasText: 'rate_limited' }).first().getByRole('link').click();
        await log.getByTestId('request-detail').filter({ hasText: 'rate_limited' }).waitFor();
        await shot('request-log');
        // The whole organization, the console's own calls: the key creation links to its audit entry.
        await page.getByLabel('Key', { exact: true }).selectOption('');
        await log.getByLabel('Status').fill('201');
        await log.getByLabel('Path starts with').fill('/api/api-keys');
        await log.getByLabel('Method').selectOption('POST');
        await until('the key creation in the request log', async () => {
          await log.getByRole('button', { name: 'Filter' }).click();
          await new Promise((r) => setTimeout(r, 500));
          return (await log.getByTestId('request-log').getByRole('row').count()) > 1;
        });
        await log.getByTestId('request-log').getByRole('row').nth(1).getByRole('link').click();
        await log.getByTestId('request-links').getByRole('link', { name: 'api_key.created' }).click();
        await page.getByRole('heading', { name: 'Audit log' }).waitFor();
        await page.locator('tr.highlight').filter({ hasText: 'api_key.created' }).waitFor();
      },
    ],
    [
      'Audit log: filter by action and outcome, bad dates named at the field',
      async () => {
        const form = page.getByRole('form', { name: 'Audit filters' });
        await form.getByLabel('Action').fill('api_key.revoked');
        await form.getByLabel('Outcome').selectOption('success');
        await form.getByRole('button', { name: 'Filter' }).click();
        await until('only revocations', async () => {
          const actions = await page.getByTestId('audit').locator('tbody tr td:nth-child(2)').allTextContents();
          return actions.length > 0 && actions.every((a) => a === 'api_key.revoked');
        });
        assert(new URL(page.url()).searchParams.get('action') === 'api_key.revoked', 'the filter is not in the URL');
        await shot('audit');
        await form.getByLabel('From', { exact: true }).fill('2026-06-02T10:00');
        await form.getByLabel('To', { exact: true }).fill('2026-06-01T10:00');
        await form.getByRole('button', { name: 'Filter' }).click();
        await form.getByText('Must be after "from".').waitFor();
        await form.getByLabel('From', { exact: true }).fill('');
        await form.getByLabel('To', { exact: true }).fill('');
        await form.getByLabel('Action').fill('webhook.secret_rotated');
        await form.getByRole('button', { name: 'Filter' }).click();
        await until('the rotation', async () => {
          const actions = await page.getByTestId('audit').locator('tbody tr td:nth-child(2)').allTextContents();
          return actions.length === 1 && actions[0] === 'webhook.secret_rotated';
        });
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
        // Let the scrolled page paint before the screenshot (two frames).
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
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
        // One form per security scheme: the service token's.
        const svc = dialog.locator('form').filter({ hasText: 'serviceToken' });
        await svc.locator('input[aria-label="auth-bearer-value"]').fill(token);
        await svc.getByRole('button', { name: 'Apply credentials' }).click();
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
      'sign-in with the service token lists the organizations (GET /api/organizations), a new id can still be typed',
      async () => {
        await page.getByLabel('Token or API key').fill('not-the-token');
        await page.getByRole('button', { name: 'List organizations' }).click();
        await page.getByRole('alert').filter({ hasText: 'invalid_credential' }).waitFor();
        const i = refused.indexOf('GET /api/organizations 401');
        assert(i >= 0, `the wrong token's listing: ${refused.join(', ')}`);
        refused.splice(i, 1);
        await page.getByLabel('Token or API key').fill(token);
        await page.getByRole('button', { name: 'List organizations' }).click();
        const picker = page.getByLabel('Listed by the server');
        await picker.waitFor();
        const offered = await picker.locator('option').evaluateAll((els) => els.map((e) => e.value).filter(Boolean));
        const listed = await api(dev.base, token, org, 'GET', '/api/organizations?limit=500');
        assert(listed.status === 200 && JSON.stringify(offered) === JSON.stringify(listed.body.data.map((o) => o.id)), `offered ${offered}, listed ${listed.text}`);
        assert(offered.includes(org), `${org} is not offered: ${offered}`);
        await page.getByLabel('Organization', { exact: true }).fill('org_typed_elsewhere');
        await picker.selectOption(org);
        assert((await page.getByLabel('Organization', { exact: true }).inputValue()) === org, 'picking did not fill the organization');
        await shot('sign-in-organizations', false);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
        assert((await page.getByTestId('who').textContent()).includes(org), 'the header does not name the organization');
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByLabel('Token or API key').waitFor();
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
        // Buttons follow the key's scopes (GET /api/whoami): reading, no creating, no re-running.
        await page.getByRole('link', { name: 'browser receiver' }).click();
        await page.getByTestId('deliveries').getByRole('row').nth(1).waitFor();
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        for (const name of ['Send test event', 'Rotate secret', 'Recover…']) {
          assert((await page.getByRole('button', { name, exact: true }).count()) === 0, `a webhooks:read key is offered ${name}`);
        }
        await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Webhooks' }).click();
        await page.getByRole('link', { name: 'browser receiver' }).waitFor();
        assert((await page.getByRole('button', { name: 'New endpoint' }).count()) === 0, 'a webhooks:read key is offered New endpoint');
        // The API refuses what the page does not offer.
        const direct = await page.evaluate(async (url) => {
          const csrf = (await (await fetch('/console/session')).json()).csrf_token;
          const r = await fetch('/console/api/webhooks', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
            body: JSON.stringify({ name: 'not allowed', url, events: ['*'] }),
          });
          return r.status;
        }, rcv.url);
        assert(direct === 403, `creating with a webhooks:read key: ${direct}`);
        // A page whose calls need a scope the key lacks says which.
        await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'API keys' }).click();
        await page.getByTestId('need-scope').filter({ hasText: 'api_keys:read' }).waitFor();
        await shot('need-scope');
        for (const r of ['POST /console/api/webhooks 403', 'GET /console/api/api-keys 403']) {
          const i = refused.indexOf(r);
          assert(i >= 0, `expected refusal ${r} not seen: ${refused.join(', ')}`);
          refused.splice(i, 1);
        }
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByLabel('Token or API key').waitFor();
      },
    ],
    [
      'a key holding webhooks:* and api_keys:write is offered only those scopes for a new key',
      async () => {
        const res = await api(dev.base, token, org, 'POST', '/api/api-keys', { name: 'key manager', scopes: ['webhooks:*', 'api_keys:write'] });
        assert(res.status === 201, `create key: ${res.text}`);
        await page.getByLabel('Token or API key').fill(res.body.key);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
        await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'API keys' }).click();
        await page.getByRole('button', { name: 'New key' }).click();
        const form = page.getByRole('form', { name: 'New API key' });
        await form.getByRole('checkbox', { name: 'webhooks:*', exact: true }).waitFor();
        const offered = (await form.getByRole('checkbox').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')))).sort();
        const allowed = (s) => s === 'api_keys:write' || s.startsWith('webhooks:');
        assert(offered.length >= 4 && offered.every(allowed), `offered ${offered}`);
        assert(!offered.includes('*') && !offered.includes('audit_log:read'), `offered more than held: ${offered}`);
        await form.getByLabel('Name').fill('child of the manager');
        await form.getByRole('checkbox', { name: 'webhooks:read', exact: true }).check();
        await form.getByRole('button', { name: 'Create key' }).click();
        await page.getByTestId('secret').waitFor();
        await page.getByRole('button', { name: 'Done' }).click();
        // Editing its scopes: the same picker, bounded by the manager's; the API reports the new set.
        await page.getByRole('button', { name: 'Edit child of the manager' }).click();
        const edit = page.getByRole('form', { name: 'Edit child of the manager' });
        const offeredEdit = await edit.getByRole('checkbox').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
        assert(offeredEdit.length >= 4 && offeredEdit.every(allowed), `offered on edit ${offeredEdit}`);
        assert(await edit.getByRole('checkbox', { name: 'webhooks:read', exact: true }).isChecked(), 'the key\'s scope is not checked');
        await edit.getByRole('checkbox', { name: 'webhooks:read', exact: true }).uncheck();
        await edit.getByRole('button', { name: 'Save changes' }).click();
        await edit.getByText('Choose at least one scope.').waitFor();
        await edit.getByRole('checkbox', { name: 'webhooks:write', exact: true }).check();
        await edit.getByRole('button', { name: 'Save changes' }).click();
        await page.getByTestId('keys').getByRole('row').filter({ hasText: 'child of the manager' }).filter({ hasText: 'webhooks:write' }).waitFor();
        const child = (await api(dev.base, token, org, 'GET', '/api/api-keys?limit=200')).body.data.find((x) => x.name === 'child of the manager');
        assert(JSON.stringify(child.scopes) === JSON.stringify(['webhooks:write']), `scopes after the edit: ${JSON.stringify(child.scopes)}`);
        // A key holding a scope beyond the manager's (events:*): its scopes are not offered for change.
        await page.getByRole('button', { name: 'Edit console ci key' }).click();
        const ci = page.getByRole('form', { name: 'Edit console ci key' });
        await ci.getByTestId('scopes-fixed').filter({ hasText: 'events:*' }).waitFor();
        assert((await ci.getByRole('checkbox').count()) === 0, 'scopes beyond the manager are offered');
        await ci.getByRole('button', { name: 'Cancel' }).click();
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByLabel('Token or API key').waitFor();
        // Expected: "not signed in" after each sign-out, and the API through the console once signed out.
        const unexpected = refused.filter((r) => r !== 'GET /console/session 401' && r !== 'GET /console/api/webhooks 401');
        assert(unexpected.length === 0, `unexpected error responses: ${unexpected.join(', ')}`);
      },
    ],
    [
      "Sign in with Keycloak (the local OIDC provider): the user's organizations in the header, switching reloads the pages",
      async () => {
        const r = await fetch(fakes.url + '/control/oidc/user', {
          method: 'POST',
          body: JSON.stringify({ sub: 'olga', roles: ['admin'], organizations: [org, 'org_browser_second'] }),
        });
        assert(r.status === 204, `set the user: ${r.status}`);
        await page.getByTestId('oidc-login').click();
        await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
        await page.getByRole('link', { name: 'browser receiver' }).waitFor();
        const who = page.getByTestId('who');
        await who.getByText('olga').waitFor();
        assert((await page.getByLabel('Organization').inputValue()) === org, 'the first organization is not the one acted for');
        await shot('signed-in-keycloak', false);
        await page.getByLabel('Organization').selectOption('org_browser_second');
        await page.getByText('No endpoints yet.').waitFor();
        const s = await page.evaluate(async () => (await fetch('/console/session')).json());
        assert(s.login === 'oidc' && s.organization_id === 'org_browser_second', `session ${JSON.stringify(s)}`);
        const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
        assert(!/eyJ[\w-]+\.[\w-]+\./.test(stored), 'a token is in web storage');
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByTestId('oidc-login').waitFor();
      },
    ],
    [
      'Support staff of two organizations: see both, re-run a failed delivery and sync, no button that changes anything else; the audit log names them',
      async () => {
        const second = 'org_browser_second';
        const wh = await api(dev.base, token, second, 'POST', '/api/webhooks', { name: 'second org receiver', url: rcv.url, events: ['event.*'] });
        assert(wh.status === 201, `create in ${second}: ${wh.text}`);
        const ev = await api(dev.base, token, second, 'POST', '/api/events', { id: 'evt_second_1', type: 'event.created', data: { object: state.eventExample } });
        assert(ev.status === 202, `post event in ${second}: ${ev.text}`);
        // A support user, member of no organization, granted both.
        await fakes.control('POST', '/control/oidc/user', JSON.stringify({ sub: 'sam-support', roles: ['support'], organizations: [], support_organizations: [org, second] }));
        await page.getByTestId('oidc-login').click();
        await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
        await page.getByTestId('support-badge').waitFor();
        const picker = page.getByLabel('Organization');
        const offered = await picker.locator('option').allTextContents();
        assert(JSON.stringify(offered) === JSON.stringify([org, second]), `organization picker offers ${offered}`);
        await page.getByRole('link', { name: 'browser receiver' }).waitFor();
        // Frames after whoami answered: every page has rendered its buttons by then.
        const settled = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        await settled();
        assert((await page.getByRole('button', { name: 'New endpoint' }).count()) === 0, 'support is offered New endpoint');

        // The endpoint that failed: Recover is offered (a re-run), nothing that changes it.
        await page.getByRole('link', { name: 'flaky receiver' }).click();
        await page.getByRole('button', { name: 'Recover…' }).waitFor();
        for (const [role, name] of [['button', 'Send test event'], ['button', 'Rotate secret'], ['link', 'Edit'], ['button', 'Disable']]) {
          assert((await page.getByRole(role, { name, exact: true }).count()) === 0, `support is offered ${name}`);
        }
        // Re-run a failed delivery (the receiver answers 200 again).
        const before = rcv2.got.length;
        await page.getByTestId('deliveries').getByRole('row').filter({ hasText: 'HTTP 500' }).first().getByRole('link').click();
        await page.getByRole('heading', { name: /Attempt/ }).waitFor();
        await page.getByRole('button', { name: 'Redeliver' }).click();
        await page.getByTestId('redelivered').waitFor();
        const again = await until('the support redelivery at the receiver', () => rcv2.got[before]);
        assert(again.status === 200, `redelivery answered ${again.status}`);

        // Integrations: re-run the failed sync; no connect, sync, refresh, reconnect or disconnect.
        await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Integrations' }).click();
        const card = page.getByTestId('integration').first();
        const reruns = card.getByTestId('activity').getByRole('row').filter({ hasText: 'sync' }).filter({ hasText: 're-run' });
        const failedSync = card.getByTestId('activity').getByRole('row').filter({ hasText: 'sync' }).filter({ hasText: '1 failed' }).first();
        await failedSync.getByRole('button', { name: /^Re-run sync/ }).waitFor();
        const rerunsBefore = await reruns.filter({ hasText: 'completed' }).count();
        for (const name of ['Sync now', 'Refresh token', 'Reconnect', 'Disconnect']) {
          assert((await card.getByRole('button', { name, exact: true }).count()) === 0, `support is offered ${name}`);
        }
        assert((await page.getByLabel('Provider to connect').count()) === 0, 'support is offered Connect a provider');
        assert((await card.getByRole('button', { name: /^Settings of/ }).count()) === 0, 'support is offered Settings');
        await failedSync.getByRole('button', { name: /^Re-run sync/ }).click();
        await card.getByText('Re-run of the sync started.').waitFor();
        await until('the re-run sync', async () => (await reruns.filter({ hasText: 'completed' }).count()) > rerunsBefore);
        // Keys: the page says which scope it needs; no New key.
        await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'API keys' }).click();
        await page.getByTestId('need-scope').filter({ hasText: 'api_keys:read' }).waitFor();
        assert((await page.getByRole('button', { name: 'New key' }).count()) === 0, 'support is offered New key');

        // The other organization's deliveries.
        await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Webhooks' }).click();
        await picker.selectOption(second);
        await page.getByRole('link', { name: 'second org receiver' }).click();
        await page.getByTestId('deliveries').getByRole('row').nth(1).waitFor();
        await page.getByRole('button', { name: 'Recover…' }).waitFor();
        await page.getByTestId('support-badge').waitFor();
        assert((await page.getByRole('button', { name: 'Rotate secret' }).count()) === 0, 'support is offered Rotate secret');
        await shot('support', false);
        for (const r of ['GET /console/api/api-keys 403']) {
          const i = refused.indexOf(r);
          assert(i >= 0, `expected refusal ${r} not seen: ${refused.join(', ')}`);
          refused.splice(i, 1);
        }
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByTestId('oidc-login').waitFor();

        // The re-runs are in the organization's audit log with the support user as actor.
        await page.getByLabel('Token or API key').fill(token);
        await page.getByLabel('Organization').fill(org);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
        await until('the support re-runs in the audit log', async () => {
          await page.goto(dev.consoleURL + '/audit?actor_id=sam-support');
          await page.getByTestId('audit').waitFor({ timeout: 5000 });
          const rows = await page.getByTestId('audit').locator('tbody tr').allTextContents();
          return rows.some((r) => r.includes('webhook.redelivered') && r.includes('sam-support')) &&
            rows.some((r) => r.includes('integration.sync_retried') && r.includes('sam-support'));
        });
        await shot('support-audit', false);
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByLabel('Token or API key').waitFor();
        const unexpected = refused.filter((r) => r !== 'GET /console/session 401' && r !== 'GET /console/api/webhooks 401');
        assert(unexpected.length === 0, `unexpected error responses: ${unexpected.join(', ')}`);
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
