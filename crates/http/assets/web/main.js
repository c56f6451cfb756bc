// Entry point: switches between the sign-in form and the gallery, and wires uploads (picker
// and drag-and-drop) and the tag search with autocomplete.

import { api, currentUser, signIn, signOut, signUp } from './api.js';
import { $, el } from './dom.js';
import * as detail from './detail.js';
import * as gallery from './gallery.js';
import { uploadFile } from './upload.js';

const UPLOADS_AT_ONCE = 3;

function showAuth() {
  gallery.clear();
  if ($('#detail').open) $('#detail').close();
  $('#app-view').hidden = true;
  $('#search').hidden = true;
  $('#user').hidden = true;
  $('#auth-view').hidden = false;
  $('#auth-form [name=username]').focus();
}

function showApp() {
  $('#auth-view').hidden = true;
  $('#app-view').hidden = false;
  $('#search').hidden = false;
  $('#user').hidden = false;
  $('#user-name').textContent = currentUser();
  gallery.reload();
}

$('#auth-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.target;
  const action = e.submitter ? e.submitter.dataset.action : 'signin';
  const username = form.username.value.trim();
  const password = form.password.value;
  const err = $('#auth-error');
  err.textContent = '';
  if (!username || !password) {
    err.textContent = 'Enter a username and a password.';
    return;
  }
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  try {
    if (action === 'signup') await signUp(username, password);
    else await signIn(username, password);
    form.password.value = '';
    showApp();
  } catch (ex) {
    err.textContent = ex.message;
  } finally {
    for (const b of form.querySelectorAll('button')) b.disabled = false;
  }
});

$('#sign-out').addEventListener('click', () => signOut());
window.addEventListener('imgtag:signedout', showAuth);

// --- uploads -------------------------------------------------------------------------------

const queue = [];
let running = 0;

function enqueue(files) {
  for (const file of files) {
    if (file.type && !file.type.startsWith('image/')) {
      $('#uploads').append(el('li', { class: 'upload failed' },
        el('span', { class: 'name' }, file.name), el('span', { class: 'note' }, 'skipped: not an image')));
      continue;
    }
    const bar = el('progress', { max: 1, value: 0, 'aria-label': `Uploading ${file.name}` });
    const note = el('span', { class: 'note' }, 'waiting');
    const row = el('li', { class: 'upload' }, el('span', { class: 'name' }, file.name), bar, note);
    $('#uploads').append(row);
    queue.push({ file, bar, note, row });
  }
  pump();
}

function pump() {
  while (running < UPLOADS_AT_ONCE && queue.length) {
    const job = queue.shift();
    running += 1;
    run(job).finally(() => {
      running -= 1;
      pump();
    });
  }
}

async function run({ file, bar, note, row }) {
  note.textContent = 'uploading';
  try {
    const id = await uploadFile(file, (f) => {
      bar.value = f;
    });
    note.textContent = 'done';
    row.classList.add('ok');
    gallery.addCard(await api('GET', `/images/${id}`), true);
    setTimeout(() => row.remove(), 3000);
  } catch (e) {
    note.textContent = `failed: ${e.message}`;
    row.classList.add('failed');
  }
}

$('#file-input').addEventListener('change', (e) => {
  enqueue([...e.target.files]);
  e.target.value = '';
});

const drop = $('#drop');
for (const type of ['dragenter', 'dragover']) {
  drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
}
for (const type of ['dragleave', 'drop']) {
  drop.addEventListener(type, () => drop.classList.remove('over'));
}
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  enqueue([...e.dataTransfer.files]);
});
// Dropping anywhere else must not navigate away from the page to the file.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

// --- search with autocomplete -------------------------------------------------------------

let suggestTimer = null;
$('#search-input').addEventListener('input', (e) => {
  clearTimeout(suggestTimer);
  const prefix = e.target.value.trim();
  suggestTimer = setTimeout(() => suggest(prefix), 150);
});
$('#add-tag-input').addEventListener('input', (e) => {
  clearTimeout(suggestTimer);
  const prefix = e.target.value.trim();
  suggestTimer = setTimeout(() => suggest(prefix), 150);
});

async function suggest(prefix) {
  if (!prefix) return;
  try {
    const data = await api('GET', `/tags?prefix=${encodeURIComponent(prefix)}&limit=10`);
    $('#tag-suggestions').replaceChildren(
      ...data.tags.map((t) => el('option', { value: t }, `${t} (${data.counts[t]})`)));
  } catch {
    /* suggestions are optional */
  }
}

function applySearch() {
  const input = $('#search-input');
  const tag = input.value.trim().toLowerCase();
  if (!tag) return;
  input.value = '';
  gallery.require(tag);
}

$('#search').addEventListener('submit', (e) => {
  e.preventDefault();
  applySearch();
});
// An open suggestion list can swallow Enter before the form sees it; handle it here too.
$('#search-input').addEventListener('keydown', (e) => {
  if (e.key !== 'Enter') return;
  e.preventDefault();
  applySearch();
});

// --- start ---------------------------------------------------------------------------------

gallery.init({ open: detail.open });
detail.init();
if (currentUser()) showApp();
else showAuth();
