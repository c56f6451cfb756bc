// The gallery: the filtered, paged image grid (infinite scroll over nextCursor), the tag
// sidebar with counts, the include/exclude filter chips, and polling of pending images.

import { api } from './api.js';
import { $, el } from './dom.js';

const PAGE = 30;
const POLL_MS = 1500;

const state = {
  include: [],
  exclude: [],
  cursor: null,
  done: false,
  loading: false,
  generation: 0, // bumps on every reload so late pages of an old filter are dropped
  cards: new Map(), // id -> { img, node }
};

let onOpen = () => {};
let pollTimer = null;

export function init({ open }) {
  onOpen = open;
  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { rootMargin: '600px' });
  io.observe($('#sentinel'));
}

function query() {
  const p = new URLSearchParams({ limit: String(PAGE) });
  if (state.include.length) p.set('tags', state.include.join(','));
  if (state.exclude.length) p.set('notTags', state.exclude.join(','));
  if (state.cursor) p.set('cursor', state.cursor);
  return p.toString();
}

export async function reload() {
  state.generation += 1;
  state.cursor = null;
  state.done = false;
  state.loading = false;
  state.cards.clear();
  $('#gallery').replaceChildren();
  renderFilters();
  await Promise.all([loadMore(), refreshTags()]);
}

export async function loadMore() {
  if (state.loading || state.done) return;
  state.loading = true;
  const gen = state.generation;
  const status = $('#gallery-status');
  status.textContent = 'Loading…';
  try {
    const page = await api('GET', `/images?${query()}`);
    if (gen !== state.generation) return;
    for (const img of page.images) addCard(img, false);
    state.cursor = page.nextCursor || null;
    state.done = !state.cursor;
    status.textContent = state.cards.size === 0
      ? (state.include.length || state.exclude.length ? 'No images match these tags.' : 'No images yet: drop some above.')
      : '';
  } catch (e) {
    if (gen === state.generation) status.textContent = `Could not load images: ${e.message}`;
  } finally {
    if (gen === state.generation) state.loading = false;
  }
  schedulePoll();
  // A short first page may not fill the screen, so the sentinel stays visible: keep going.
  if (gen === state.generation && !state.done && sentinelVisible()) loadMore();
}

function sentinelVisible() {
  const r = $('#sentinel').getBoundingClientRect();
  return r.top < window.innerHeight + 600;
}

function matchesFilter(img) {
  const tags = new Set(img.tags);
  return state.include.every((t) => tags.has(t)) && !state.exclude.some((t) => tags.has(t));
}

function card(img) {
  const chips = img.tags.slice(0, 6).map((t) => el('li', { class: 'chip' }, t));
  const badge = img.status === 'tagged' ? null
    : el('span', { class: `badge ${img.status}` }, img.status);
  const src = img.thumbnailUrl || img.fileUrl;
  return el('article', { class: 'card', dataset: { id: img.id, status: img.status } },
    el('button', {
      type: 'button',
      class: 'card-open',
      'aria-label': `${img.name || 'image'}: ${img.status === 'tagged' ? img.tags.slice(0, 6).join(', ') || 'no tags' : img.status}`,
      onclick: () => onOpen(img.id),
    },
    el('img', {
      src, alt: '', loading: 'lazy', width: img.width, height: img.height,
      // A bucket answers 404 for a thumbnail that could not be made: show the original.
      onerror: (e) => { if (e.target.src !== img.fileUrl) e.target.src = img.fileUrl; },
    })),
    badge,
    el('ul', { class: 'chips', 'aria-hidden': 'true' }, chips),
  );
}

/// Adds (or replaces) a card. New uploads go first; pages append.
export function addCard(img, first) {
  const old = state.cards.get(img.id);
  const node = card(img);
  if (old) old.node.replaceWith(node);
  else if (first) $('#gallery').prepend(node);
  else $('#gallery').append(node);
  state.cards.set(img.id, { img, node });
  if (!first) return;
  $('#gallery-status').textContent = '';
  schedulePoll();
}

export function updateCard(img) {
  const entry = state.cards.get(img.id);
  if (!entry) return;
  if (img.status !== 'pending' && !matchesFilter(img)) return removeCard(img.id);
  addCard(img, false);
}

export function removeCard(id) {
  const entry = state.cards.get(id);
  if (!entry) return;
  entry.node.remove();
  state.cards.delete(id);
}

function schedulePoll() {
  if (pollTimer) return;
  pollTimer = setTimeout(poll, POLL_MS);
}

/// Re-reads pending images until they are tagged or failed; then the tag counts change too.
async function poll() {
  pollTimer = null;
  const pending = [...state.cards.values()].filter((c) => c.img.status === 'pending');
  if (!pending.length) return;
  let changed = false;
  await Promise.all(pending.map(async ({ img }) => {
    try {
      const fresh = await api('GET', `/images/${img.id}`);
      if (fresh.status !== 'pending') {
        changed = true;
        updateCard(fresh);
      }
    } catch (e) {
      if (e.status === 404) removeCard(img.id);
    }
  }));
  if (changed) refreshTags();
  schedulePoll();
}

export async function refreshTags() {
  let data;
  try {
    data = await api('GET', '/tags?limit=200');
  } catch {
    return;
  }
  const list = $('#tag-list');
  const items = data.tags.map((t) => {
    const on = state.include.includes(t);
    const off = state.exclude.includes(t);
    return el('li', { class: 'tag-row' },
      el('button', {
        type: 'button',
        class: `tag${on ? ' on' : ''}`,
        'aria-pressed': on ? 'true' : 'false',
        onclick: () => toggle(t, 'include'),
      }, el('span', { class: 'tag-name' }, t), el('span', { class: 'count' }, data.counts[t])),
      el('button', {
        type: 'button',
        class: `exclude${off ? ' on' : ''}`,
        'aria-pressed': off ? 'true' : 'false',
        'aria-label': `Hide images tagged ${t}`,
        title: `Hide images tagged ${t}`,
        onclick: () => toggle(t, 'exclude'),
      }, '⊖'));
  });
  list.replaceChildren(...items);
  if (!items.length) list.append(el('li', { class: 'hint' }, 'Tags appear here once images are tagged.'));
}

export function toggle(tag, kind) {
  const [mine, other] = kind === 'include' ? [state.include, state.exclude] : [state.exclude, state.include];
  const i = mine.indexOf(tag);
  if (i >= 0) mine.splice(i, 1);
  else {
    mine.push(tag);
    const j = other.indexOf(tag);
    if (j >= 0) other.splice(j, 1);
  }
  reload();
}

/// Adds a required tag (from the search box); a no-op when it is already required.
export function require(tag) {
  if (!state.include.includes(tag)) toggle(tag, 'include');
}

function renderFilters() {
  const chips = [
    ...state.include.map((t) => el('button', {
      type: 'button', class: 'chip filter', onclick: () => toggle(t, 'include'),
      'aria-label': `Remove filter: has ${t}`,
    }, t, ' ✕')),
    ...state.exclude.map((t) => el('button', {
      type: 'button', class: 'chip filter not', onclick: () => toggle(t, 'exclude'),
      'aria-label': `Remove filter: without ${t}`,
    }, `not ${t}`, ' ✕')),
  ];
  const box = $('#filters');
  box.replaceChildren(...(chips.length ? [el('span', { class: 'hint' }, 'Showing:'), ...chips] : []));
}

export function clear() {
  state.include = [];
  state.exclude = [];
  state.generation += 1;
  state.cards.clear();
  $('#gallery').replaceChildren();
  $('#tag-list').replaceChildren();
  $('#filters').replaceChildren();
}
