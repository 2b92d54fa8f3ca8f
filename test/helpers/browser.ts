// Real Chromium (Debian's package) driven by playwright-core, for the
// dashboard tests. The hub's own CA is trusted by pinning its certificates'
// public keys (--ignore-certificate-errors-spki-list), not by ignoring
// certificate errors wholesale.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { REPO_ROOT } from './cluster.ts';
import type { HubHandle } from './uplink.ts';

export const CHROMIUM = process.env.UPLINK_CHROMIUM ?? '/usr/bin/chromium';
/** Where the tests write their screenshots (a CI artifact). */
export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-results', 'screenshots');

/** Flags that keep Chromium off the network it cannot reach here, and quiet. */
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions', '--mute-audio',
];

function spkiHashes(hub: HubHandle): string[] {
  const dir = join(hub.dataDir, 'tls');
  return ['ca.crt', 'server.crt'].filter((f) => existsSync(join(dir, f))).map((file) => {
    const der = new X509Certificate(readFileSync(join(dir, file))).publicKey.export({ type: 'spki', format: 'der' });
    return createHash('sha256').update(der).digest('base64');
  });
}

export async function launchBrowser(t: { after(fn: () => unknown): void }, hub: HubHandle): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: scripts/setup.sh --with-browser installs Debian's chromium`);
  const pins = spkiHashes(hub);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, ...(pins.length > 0 ? [`--ignore-certificate-errors-spki-list=${pins.join(',')}`] : [])],
  });
  t.after(() => browser.close());
  return browser;
}

/** A new page (own context: own memory, so its own sign-in) signed in with `token`, on the fleet page. */
export async function signedInPage(browser: Browser, hub: HubHandle, token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${hub.url}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  return page;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** For tests that must show the page did not reload: a mark that a reload would wipe. */
export async function markPage(page: Page): Promise<void> {
  await page.evaluate('window.uplinkTestMark = 1');
}

export async function pageWasNotReloaded(page: Page): Promise<boolean> {
  return await page.evaluate('window.uplinkTestMark === 1') === true;
}

/** Moves to another dashboard route (`#/…`) in the same document, as a click on a link would. */
export async function go(page: Page, hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}


/**
 * Polls until `locator` matches exactly `count` elements. Polled from here
 * because the dashboard's Content-Security-Policy (no eval) stops
 * page.waitForFunction with an expression.
 */
export async function waitForCount(locator: Locator, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = await locator.count();
  while (seen !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} elements, saw ${seen} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    seen = await locator.count();
  }
}

/** The parts of a DOM element the checks below read (the tests' tsconfig has no DOM types). */
interface ElementLike {
  labels?: { length: number } | null;
  getAttribute(name: string): string | null;
  textContent: string | null;
  outerHTML: string;
  ownerDocument: { activeElement: unknown };
}

/** Inputs, selects and buttons with no accessible name: no label, no aria-label, no text. */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.locator('input, select, button').evaluateAll((elements) => elements.map((e) => e as unknown as ElementLike)
    .filter((e) => e.labels?.length === 0 && e.getAttribute('aria-label') === null && (e.textContent ?? '').trim() === '')
    .map((e) => e.outerHTML));
}

export async function hasFocus(locator: Locator): Promise<boolean> {
  return locator.evaluate((e) => {
    const element = e as unknown as ElementLike;
    return element.ownerDocument.activeElement === element;
  });
}
