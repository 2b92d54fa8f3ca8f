// The dashboard's terminal in real Chromium against a real hub and agent on
// the test cluster, whose kwok runs an exec'd command on this machine: a
// shell opened from a pod's page runs what is typed, follows the terminal's
// size, copies and pastes, reports its exit code, and is audited; closing
// the tab ends the session; a view user, whom the API server refuses exec,
// is shown the API server's refusal.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { go, launchBrowser, screenshot, signedInPage } from '../helpers/browser.ts';
import { createTestNamespace, kubectl } from '../helpers/cluster.ts';
import { startHubCluster, type HubCluster } from '../helpers/kubectl-hub.ts';
import { eventually, suiteContext } from '../helpers/uplink.ts';

interface AuditRow {
  id: number;
  state: 'complete' | 'in_progress' | 'interrupted';
  userName: string;
  verb: string;
  subresource: string | null;
  namespace: string | null;
  name: string | null;
  status: number;
  bytesIn: number;
  bytesOut: number;
  exitCode: number | null;
  exitReason: string | null;
}

const CLUSTER = 'term';
const STREAM_MS = 30_000;
const { t: suite, runCleanups } = suiteContext('dashboard-terminal');

let env: HubCluster;
let browser: Browser;
let namespace: string;
let pod: string;

/** Console errors of a page, collected from now on, with the page's uncaught exceptions. */
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message: ConsoleMessage) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => { errors.push(`uncaught: ${error.message}`); });
  return errors;
}

async function openPodPage(page: Page): Promise<void> {
  await go(page, `#/clusters/${CLUSTER}/resources/${namespace}~${pod}?kind=pods`);
  await page.getByRole('region', { name: 'Terminal' }).waitFor();
}

/** What the terminal shows: the text of xterm.js's rows. */
async function screenText(page: Page): Promise<string> {
  return page.getByTestId('terminal').locator('.xterm-rows').innerText();
}

async function waitForScreen(page: Page, what: string, pattern: RegExp): Promise<RegExpExecArray> {
  return eventually(what, STREAM_MS, async () => pattern.exec(await screenText(page)) ?? undefined);
}

async function execRows(): Promise<AuditRow[]> {
  const { items } = await env.hub.client.request<{ items: AuditRow[] }>('GET', `/api/v1/audit?cluster=${CLUSTER}&limit=1000`);
  return items.filter((r) => r.subresource === 'exec' && r.namespace === namespace && r.name === pod);
}

describe('dashboard terminal', () => {
  before(async () => {
    env = await startHubCluster(suite, CLUSTER);
    namespace = await createTestNamespace(suite, 'term');
    await kubectl(['-n', namespace, 'create', 'deployment', 'shell', '--image=registry.invalid/shell:1']);
    await kubectl(['-n', namespace, 'rollout', 'status', 'deployment/shell', '--timeout=60s'], { timeoutMs: 70_000 });
    pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=shell', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
    browser = await launchBrowser(suite, env.hub);
  });
  after(runCleanups);

  it('runs a shell from a pod\'s page: output, resize, copy and paste, the exit code, and the audit', async (t) => {
    const page = await signedInPage(browser, env.hub, env.hub.adminToken);
    t.after(() => page.context().close());
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.hub.url });
    const errors = consoleErrors(page);
    await openPodPage(page);
    assert.equal(await page.getByLabel('Command').inputValue(), 'sh');
    assert.deepEqual(await page.getByLabel('Container').locator('option').allInnerTexts(), ['shell']);
    await page.getByRole('button', { name: 'Open terminal' }).click();
    await page.getByTestId('terminal-state').filter({ hasText: 'connected' }).waitFor({ timeout: STREAM_MS });

    await page.keyboard.type('echo uplink-$((6*7))');
    await page.keyboard.press('Enter');
    await waitForScreen(page, 'the command\'s output', /^uplink-42$/m);

    // The TTY has the terminal's size, and follows it when the page narrows.
    const rows = await page.getByTestId('terminal').locator('.xterm-rows > div').count();
    await page.keyboard.type('echo size-$(stty size | tr " " x)');
    await page.keyboard.press('Enter');
    const [, sttyRows, wide] = await waitForScreen(page, 'the terminal size', /^size-(\d+)x(\d+)$/m);
    assert.equal(Number(sttyRows), rows);
    await page.setViewportSize({ width: 900, height: 900 });
    await page.keyboard.type('echo narrow-$(stty size | tr " " x)');
    await page.keyboard.press('Enter');
    const [, , narrow] = await waitForScreen(page, 'the new terminal size', /^narrow-(\d+)x(\d+)$/m);
    assert.ok(Number(narrow) < Number(wide), `columns ${narrow} after narrowing, ${wide} before`);

    // Copy a word of the output (double-click selects it), paste a command.
    await page.getByTestId('terminal').locator('.xterm-rows span', { hasText: /^uplink-42$/ }).first().dblclick({ force: true });
    await page.keyboard.press('Control+Shift+C');
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), 'uplink-42');
    await page.evaluate('navigator.clipboard.writeText("echo pasted-$((2+3))")');
    await page.getByTestId('terminal').click();
    await page.keyboard.press('Control+Shift+V');
    await page.keyboard.press('Enter');
    await waitForScreen(page, 'the pasted command\'s output', /^pasted-5$/m);
    await screenshot(page, 'terminal');

    await page.keyboard.type('exit 3');
    await page.keyboard.press('Enter');
    const ended = await eventually('the session\'s end', STREAM_MS, async () => {
      const state = await page.getByTestId('terminal-state').innerText();
      return state === 'connected' ? undefined : state;
    }).catch(async (error: unknown) => { throw new Error(`${(error as Error).message}; the screen:\n${await screenText(page)}`); });
    // A kubelet ends a TTY exec with a NonZeroExitCode Status (exit code 3);
    // kwok's local exec ends it with an InternalError naming the exit status.
    assert.match(ended, /^(exited with code 3|ended: .*exit status 3)$/);
    await page.getByRole('button', { name: 'Close terminal' }).click();
    await page.getByRole('button', { name: 'Open terminal' }).waitFor();
    await page.getByTestId('terminal').waitFor({ state: 'detached' });

    const [row, ...more] = await eventually('the exec\'s audit row, complete', STREAM_MS, async () => {
      const found = await execRows();
      return found.length > 0 && found.every((r) => r.state === 'complete') ? found : undefined;
    });
    assert.ok(row !== undefined && more.length === 0, 'one row for the one session');
    assert.equal(row.userName, 'admin');
    assert.equal(row.status, 101, 'the upgrade was switched');
    assert.ok(row.bytesIn > 0 && row.bytesOut > 0, 'what was typed and shown');
    // The hub reads the exit from the Status the terminal was shown: the code, or kwok's InternalError naming it.
    if (ended === 'exited with code 3') assert.deepEqual([row.exitCode, row.exitReason], [3, null]);
    else assert.ok(row.exitCode === null && /^InternalError: .*exit status 3/.test(row.exitReason ?? ''), `exit ${row.exitCode} (${row.exitReason})`);
    assert.deepEqual(errors, [], 'no console errors (the terminal\'s styles pass the Content-Security-Policy)');
  });

  it('closing the tab ends the session', async () => {
    const page = await signedInPage(browser, env.hub, env.hub.adminToken);
    await openPodPage(page);
    await page.getByRole('button', { name: 'Open terminal' }).click();
    await page.getByTestId('terminal-state').filter({ hasText: 'connected' }).waitFor({ timeout: STREAM_MS });
    await eventually('the session in progress in the audit', STREAM_MS, async () => ((await execRows()).some((r) => r.state === 'in_progress') ? true : undefined));
    await page.context().close();
    const rows = await eventually('the session completed in the audit', STREAM_MS, async () => {
      const found = await execRows();
      return found.every((r) => r.state === 'complete') ? found : undefined;
    });
    const newest = rows.reduce((a, b) => (b.id > a.id ? b : a));
    assert.deepEqual([newest.exitCode, newest.exitReason], [null, null], 'a session the tab ended never got a final Status');
  });

  it('a view user is shown the API server\'s refusal, not a hang', async (t) => {
    await env.hub.client.request('POST', '/api/v1/users', { name: 'viewer' });
    await env.hub.client.request('POST', '/api/v1/users/viewer/grants', { role: 'view', cluster: CLUSTER });
    const { token } = await env.hub.client.request<{ token: string }>('POST', '/api/v1/users/viewer/tokens', { name: 'dashboard' });
    const page = await signedInPage(browser, env.hub, token);
    t.after(() => page.context().close());
    const errors = consoleErrors(page);
    await openPodPage(page);
    await page.getByRole('button', { name: 'Open terminal' }).click();
    const refusal = page.getByRole('region', { name: 'Terminal' }).locator('.notice-forbidden');
    await refusal.waitFor({ timeout: STREAM_MS });
    assert.match(await refusal.innerText(), /^Forbidden: .*User "uplink:viewer" cannot create resource "pods\/exec"/);
    assert.equal(await page.getByTestId('terminal-state').innerText(), 'refused');
    await screenshot(page, 'terminal-refused');
    // The browser itself logs the refused handshake and the 403 it was then told; nothing else.
    assert.deepEqual(errors.filter((e) => !/WebSocket connection to .* failed|status of 403/.test(e)), []);
  });
});
