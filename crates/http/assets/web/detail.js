// The detail view: a modal <dialog> (focus trapped, Esc closes) with the image, its labels
// (confidence, auto/manual), add/remove tag, re-tag and delete with an in-page confirmation.

import { api } from './api.js';
import { $, el, percent } from './dom.js';
import { refreshTags, removeCard, updateCard } from './gallery.js';

let current = null;
let pollTimer = null;

export function init() {
  const dlg = $('#detail');
  $('#detail-close').addEventListener('click', () => dlg.close());
  dlg.addEventListener('click', (e) => {
    if (e.target === dlg) dlg.close(); // a click on the backdrop
  });
  dlg.addEventListener('close', () => {
    clearTimeout(pollTimer);
    current = null;
  });
  $('#add-tag').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#add-tag-input');
    const tag = input.value.trim();
    if (!tag || !current) return;
    await act(() => api('PUT', `/images/${current.id}/tags/${encodeURIComponent(tag)}`));
    input.value = '';
  });
  $('#retag').addEventListener('click', () => act(() => api('POST', `/images/${current.id}/retag`)));
  $('#delete').addEventListener('click', () => {
    $('#confirm-delete').hidden = false;
    $('#confirm-no').focus();
  });
  $('#confirm-no').addEventListener('click', () => {
    $('#confirm-delete').hidden = true;
    $('#delete').focus();
  });
  $('#confirm-yes').addEventListener('click', async () => {
    const id = current.id;
    try {
      await api('DELETE', `/images/${id}`);
    } catch (e) {
      if (e.status !== 404) return showError(e);
    }
    removeCard(id);
    refreshTags();
    dlg.close();
  });
}

function showError(e) {
  $('#detail-error').textContent = e ? e.message : '';
}

/// Runs an action that answers with the updated image, then shows it everywhere.
async function act(fn) {
  showError(null);
  try {
    const img = await fn();
    show(img);
    updateCard(img);
    refreshTags();
  } catch (e) {
    showError(e);
  }
}

export async function open(id) {
  let img;
  try {
    img = await api('GET', `/images/${id}`);
  } catch (e) {
    if (e.status === 404) removeCard(id);
    return;
  }
  showError(null);
  $('#confirm-delete').hidden = true;
  show(img);
  const dlg = $('#detail');
  if (!dlg.open) dlg.showModal();
  $('#detail-close').focus();
}

function show(img) {
  current = img;
  const preview = $('#detail-img');
  preview.onerror = () => { if (preview.src !== img.fileUrl) preview.src = img.fileUrl; };
  preview.src = img.previewUrl || img.fileUrl;
  $('#detail-img').alt = img.name || 'image';
  $('#detail-open').href = img.fileUrl;
  $('#detail-title').textContent = img.name || img.id;
  const when = new Date(img.createdAt).toLocaleString();
  const size = img.size ? `${Math.round(img.size / 1024)} KB` : '';
  const dims = img.width && img.height ? `${img.width}×${img.height}` : '';
  $('#detail-meta').textContent = [dims, size, img.contentType, `uploaded ${when}`].filter(Boolean).join(' · ');
  const status = $('#detail-status');
  status.className = `status ${img.status}`;
  status.textContent = img.status === 'failed'
    ? `Tagging failed: ${img.failureReason || 'unknown reason'}`
    : img.status === 'pending' ? 'Tagging…' : '';
  const rows = img.labels.map((l) => el('tr', { dataset: { tag: l.name } },
    el('td', {}, l.name),
    el('td', {}, el('meter', { min: 0, max: 1, value: l.confidence, 'aria-hidden': 'true' }), ' ', percent(l.confidence)),
    el('td', {}, el('span', { class: `source ${l.source}` }, l.source)),
    el('td', {}, el('button', {
      type: 'button',
      class: 'icon',
      'aria-label': `Remove tag ${l.name}`,
      title: `Remove tag ${l.name}`,
      onclick: () => act(() => api('DELETE', `/images/${current.id}/tags/${encodeURIComponent(l.name)}`)),
    }, '✕'))));
  if (!rows.length) {
    rows.push(el('tr', {}, el('td', { colspan: 4, class: 'hint' }, img.status === 'pending' ? 'Tags appear when tagging finishes.' : 'No tags.')));
  }
  $('#detail-labels').replaceChildren(...rows);
  clearTimeout(pollTimer);
  if (img.status === 'pending') {
    pollTimer = setTimeout(async () => {
      if (!current || current.id !== img.id) return;
      try {
        const fresh = await api('GET', `/images/${img.id}`);
        if (current && current.id === fresh.id) {
          show(fresh);
          updateCard(fresh);
          if (fresh.status !== 'pending') refreshTags();
        }
      } catch {
        /* the gallery's poll reports removal */
      }
    }, 1500);
  }
}
