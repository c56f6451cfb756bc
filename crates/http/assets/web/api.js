// The API client: the session (token + refresh token) kept in localStorage, refreshed before it
// expires, and a fetch wrapper that adds the Bearer token and turns error bodies into Errors.

export const BASE = document.documentElement.dataset.base || '';
const KEY = 'imgtag.session';
// Refresh this long before expiry, so a request never leaves with a token about to lapse.
const MARGIN_MS = 60_000;

let session = load();
let refreshing = null;
let timer = null;

function load() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

function save(s) {
  session = s;
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
  schedule();
}

function schedule() {
  clearTimeout(timer);
  if (!session) return;
  const wait = Math.max(5_000, session.expiresAt - Date.now() - MARGIN_MS);
  timer = setTimeout(() => refresh().catch(() => {}), wait);
}

function fromAnswer(username, a) {
  return {
    username,
    token: a.token,
    refreshToken: a.refreshToken,
    expiresAt: Date.now() + (a.expiresIn || 3600) * 1000,
  };
}

export function currentUser() {
  return session ? session.username : null;
}

async function send(method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const resp = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  return { resp, data };
}

function failure(resp, data) {
  const err = new Error((data && data.message) || `${resp.status} ${resp.statusText}`);
  err.status = resp.status;
  err.code = data && data.code;
  return err;
}

export async function signIn(username, password) {
  const { resp, data } = await send('POST', '/signin', { username, password });
  if (!resp.ok) throw failure(resp, data);
  save(fromAnswer(username, data));
}

export async function signUp(username, password) {
  const { resp, data } = await send('POST', '/signup', { username, password });
  if (!resp.ok) throw failure(resp, data);
  await signIn(username, password);
}

export function signOut() {
  save(null);
  window.dispatchEvent(new Event('imgtag:signedout'));
}

/// One refresh at a time: concurrent requests share it (refresh tokens rotate, so a second
/// refresh with the same token would fail).
async function refresh() {
  if (!session) throw new Error('not signed in');
  if (!refreshing) {
    const s = session;
    refreshing = send('POST', '/token/refresh', { refreshToken: s.refreshToken })
      .then(({ resp, data }) => {
        if (!resp.ok) throw failure(resp, data);
        save(fromAnswer(s.username, data));
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/// An authenticated request; on 401 refreshes once and retries, then signs out.
export async function api(method, path, body) {
  if (!session) throw new Error('not signed in');
  if (session.expiresAt - Date.now() < MARGIN_MS / 2) {
    await refresh().catch(() => {});
  }
  let { resp, data } = await send(method, path, body, session && session.token);
  if (resp.status === 401 && session) {
    try {
      await refresh();
      ({ resp, data } = await send(method, path, body, session.token));
    } catch {
      /* fall through to sign-out below */
    }
  }
  if (resp.status === 401) {
    signOut();
  }
  if (!resp.ok) throw failure(resp, data);
  return data;
}

schedule();
