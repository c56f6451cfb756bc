// End-to-end tests of the web page in headless chromium: the whole user journey of issue 6
// (sign up, upload the cat photo, see it tagged, filter, manual tags, delete) against a real
// `imgtag serve`, started by run.sh. Screenshots land in $E2E_ARTIFACTS.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const CAT = path.join(here, '..', 'fixtures', 'images', 'chelsea.jpg');
const URL_ROOT = process.env.IMGTAG_URL;
const URL_STAGED = process.env.IMGTAG_BASE_URL;
const ARTIFACTS = process.env.E2E_ARTIFACTS || path.join(here, 'artifacts');
const PASSWORD = 'correct horse 42';
// Tagging runs the neural network in a debug build on a shared machine: be patient.
const TAGGED_TIMEOUT = 90_000;

let browser;

before(async () => {
  assert.ok(URL_ROOT && URL_STAGED, 'run through e2e/run.sh (IMGTAG_URL, IMGTAG_BASE_URL)');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
});

async function newPage(viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return { page, errors };
}

async function signUp(page, url, username) {
  await page.goto(`${url}/`);
  await page.locator('#auth-form').waitFor();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('#app-view').waitFor();
  assert.equal(await page.locator('#user-name').textContent(), username);
}

test('the root answers JSON to API clients and the page to browsers', async () => {
  const json = await fetch(`${URL_ROOT}/`).then((r) => r.json());
  assert.ok(Array.isArray(json.endpoints));
  const html = await fetch(`${URL_ROOT}/`, { headers: { Accept: 'text/html' } });
  assert.match(html.headers.get('content-type'), /text\/html/);
  assert.match(await html.text(), /<title>imgtag<\/title>/);
});

test('sign up, upload the cat, filter, manual tags, delete', async () => {
  const { page, errors } = await newPage();
  const user = `e2e_${Date.now()}`;
  await signUp(page, URL_ROOT, user);
  await page.getByText('No images yet').waitFor();

  // Upload through the file picker: POST /images, then the pre-signed form, with progress.
  await page.locator('#file-input').setInputFiles(CAT);
  await page.locator('#uploads progress').first().waitFor();
  const card = page.locator('.card').first();
  await card.waitFor();
  await page.locator('.card[data-status="tagged"]').waitFor({ timeout: TAGGED_TIMEOUT });
  await card.locator('.chip', { hasText: /^cat$/ }).waitFor();
  // Tagged cards show the 256 px thumbnail, not the original.
  assert.match(await page.locator('.card img').first().getAttribute('src'), /\/thumbs\/.*\/256\.jpg/);
  await page.locator('#tag-list .tag', { hasText: /^cat\d+$/ }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, 'gallery.png'), fullPage: true });

  // Search with autocomplete, then filter by cat.
  await page.locator('#search-input').fill('ca');
  await page.locator('#tag-suggestions option[value="cat"]').waitFor({ state: 'attached' });
  // Picking the suggestion fills the box with it (the popup itself is browser chrome).
  await page.locator('#search-input').fill('cat');
  await page.locator('#search-input').press('Enter');
  await page.locator('#filters .chip', { hasText: 'cat' }).waitFor();
  await page.locator('.card').first().waitFor();
  assert.equal(await page.locator('.card').count(), 1);
  assert.equal(await page.locator('#tag-list .tag.on').count(), 1);

  // Exclude cat: nothing is left; then drop both filters again.
  await page.getByRole('button', { name: 'Hide images tagged cat', exact: true }).click();
  await page.getByText('No images match these tags.').waitFor();
  assert.equal(await page.locator('.card').count(), 0);
  await page.locator('#filters .chip.not').click();
  await page.locator('.card').first().waitFor();

  // Detail view, opened from the keyboard: labels with confidence and source.
  await page.locator('.card-open').first().focus();
  await page.keyboard.press('Enter');
  const dialog = page.locator('#detail');
  await dialog.waitFor();
  const catRow = dialog.locator('tr[data-tag="cat"]');
  await catRow.waitFor();
  assert.match(await catRow.textContent(), /\d+%.*auto/);

  // Add a manual tag, see it listed as manual and counted in the sidebar; then remove it.
  await dialog.getByPlaceholder('Add a tag').fill('Favourite');
  await dialog.getByRole('button', { name: 'Add tag' }).click();
  const manual = dialog.locator('tr[data-tag="favourite"]');
  await manual.waitFor();
  assert.match(await manual.textContent(), /manual/);
  await page.locator('#tag-list .tag', { hasText: /^favourite1$/ }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, 'detail.png') });
  await dialog.getByRole('button', { name: 'Remove tag favourite' }).click();
  await manual.waitFor({ state: 'detached' });
  await page.locator('#tag-list .tag', { hasText: /^favourite/ }).waitFor({ state: 'detached' });

  // Delete, with confirmation.
  await dialog.getByRole('button', { name: 'Delete…' }).click();
  await dialog.getByRole('button', { name: 'Delete image' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.locator('.card').count(), 0);
  await page.reload();
  await page.getByText('No images yet').waitFor();

  assert.deepEqual(errors, []);
});

test('an expired session is refreshed without signing in again', async () => {
  const { page, errors } = await newPage();
  await signUp(page, URL_ROOT, `refresh_${Date.now()}`);
  const before = await page.evaluate(() => JSON.parse(localStorage.getItem('imgtag.session')));
  // A token the server rejects, marked as expiring: the page must refresh before (or after
  // a 401 on) its first request.
  await page.evaluate(() => {
    const s = JSON.parse(localStorage.getItem('imgtag.session'));
    s.token = 'expired.token.value';
    s.expiresAt = Date.now() - 1000;
    localStorage.setItem('imgtag.session', JSON.stringify(s));
  });
  await page.reload();
  await page.getByText('No images yet').waitFor();
  const after = await page.evaluate(() => JSON.parse(localStorage.getItem('imgtag.session')));
  // Refresh tokens rotate; the new ID token replaced the rejected one.
  assert.notEqual(after.refreshToken, before.refreshToken);
  assert.notEqual(after.token, 'expired.token.value');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#auth-form').waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('imgtag.session')), null);
  assert.deepEqual(errors, []);
});

test('the page works under a base path and at phone width', async () => {
  const { page, errors } = await newPage({ width: 390, height: 844 });
  await signUp(page, URL_STAGED, `phone_${Date.now()}`);
  await page.locator('#file-input').setInputFiles(CAT);
  await page.locator('.card[data-status="tagged"]').waitFor({ timeout: TAGGED_TIMEOUT });
  await page.locator('.card .chip', { hasText: /^cat$/ }).waitFor();
  // Nothing sticks out sideways on a phone.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'gallery-phone.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('the API docs render offline from embedded assets', async () => {
  const { page, errors } = await newPage();
  const foreign = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(URL_ROOT.replace(/\/$/, '')) && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  await page.goto(`${URL_ROOT}/docs`);
  await page.locator('.opblock').first().waitFor();
  assert.ok(await page.locator('.opblock').count() >= 18);
  await page.getByText('/images/{id}/retag').first().waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, 'docs.png') });
  assert.deepEqual(foreign, [], 'no request leaves the server');
  assert.deepEqual(errors, []);
});
