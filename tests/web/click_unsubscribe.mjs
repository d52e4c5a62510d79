// Opens the unsubscribe page in headless Chromium, checks it names the list, clicks the button
// and prints the confirmation heading. Usage: node click_unsubscribe.mjs URL LIST
import puppeteer from 'puppeteer-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, list] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'bouncegate-chromium-'));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  userDataDir: profile,
  timeout: 30000,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage'],
});
let failed = false;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  const res = await page.goto(url, { waitUntil: 'load' });
  if (res.status() !== 200) throw new Error(`GET returned ${res.status()}`);
  const text = await page.$eval('main', (m) => m.innerText);
  if (!text.includes(list)) throw new Error(`page does not name list ${list}: ${text}`);
  const scripts = await page.$$('script');
  if (scripts.length !== 0) throw new Error('page contains script elements');
  const [nav] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }),
                                  page.click('button[type=submit]')]);
  if (nav.status() !== 200) throw new Error(`POST returned ${nav.status()}`);
  console.log(await page.$eval('h1', (h) => h.textContent));
  const cookies = await page.cookies();
  if (cookies.length !== 0) throw new Error('the page set cookies');
} catch (e) {
  console.error(`click_unsubscribe: ${e.message}`);
  failed = true;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
