// The HTTP API as the dashboard uses it. The API key and the namespace
// live in sessionStorage: entered once, kept for this tab only, gone when
// it closes.

const KEY = 'clusterd.api_key';
const NS = 'clusterd.namespace';

export const session = {
  get key() { return sessionStorage.getItem(KEY) || ''; },
  set key(v) { v ? sessionStorage.setItem(KEY, v) : sessionStorage.removeItem(KEY); },
  get namespace() { return sessionStorage.getItem(NS) || ''; },
  set namespace(v) { v ? sessionStorage.setItem(NS, v) : sessionStorage.removeItem(NS); },
};

// AuthError is a 401: the page shows the login instead of an error.
export class AuthError extends Error {
  constructor(message) { super(message); this.name = 'AuthError'; }
}

// APIError is any other failed request, with the server's message.
export class APIError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.body = body;
  }
}

function headers(json) {
  const h = {};
  if (json) h['Content-Type'] = 'application/json';
  if (session.key) h.Authorization = `Bearer ${session.key}`;
  if (session.namespace) h['X-Namespace'] = session.namespace;
  return h;
}

// message reads the error envelope ({"error": {"message"}}) or a 422's
// detail list.
function message(status, body) {
  if (body && body.error && body.error.message) return body.error.message;
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((d) => `${(d.loc || []).join('.')}: ${d.msg}`).join('; ');
  }
  return `HTTP ${status}`;
}

// request sends one API request and returns the decoded JSON.
export async function request(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (res.status === 401) throw new AuthError(message(401, data));
  if (!res.ok) throw new APIError(res.status, message(res.status, data), data);
  return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body = {}) => request('POST', path, body);

const enc = encodeURIComponent;

// list pages through a POST …/list endpoint with a search string.
export function list(path, {search = '', limit = 50, offset = 0, sort = null, filters = null} = {}) {
  const body = {};
  if (search) body.search = search;
  if (sort) body.sort = sort;
  if (filters) body.filters = filters;
  return post(`${path}?limit=${limit}&offset=${offset}&include_total=true`, body);
}

export const api = {
  collections: (o) => list('/v1/collections/list', o),
  collection: (id) => get(`/v1/collections/${enc(id)}`),
  documents: (id, o) => list(`/v1/collections/${enc(id)}/documents/list`, o),
  clusters: (o) => list('/v1/clusters/list', o),
  cluster: (id) => get(`/v1/clusters/${enc(id)}`),
  latest: (id) => get(`/v1/clusters/${enc(id)}/executions`),
  runs: (id, o) => list(`/v1/clusters/${enc(id)}/executions/list`, o),
  run: (id, run) => get(`/v1/clusters/${enc(id)}/executions/${enc(run)}`),
  execute: (id) => post(`/v1/clusters/${enc(id)}/execute`),
  cancel: (id, run) => post(`/v1/clusters/${enc(id)}/executions/${enc(run)}/cancel`),
  // A seeded uniform sample of at most max members with their projection.
  scatter: (id, run, {max, seed = 0, projection = '2d'}) =>
    get(`/v1/clusters/${enc(id)}/executions/${enc(run)}/artifacts?include_members=true&projection_method=${projection}&sample=${max}&seed=${seed}`),
  data: (id, run, body) => post(`/v1/clusters/${enc(id)}/executions/${enc(run)}/data`, body),
  backends: () => get('/v1/system/backends'),
};

// metrics fetches /metrics (Prometheus text; no key needed) and returns
// the samples as {name: [{labels, value}]}.
export async function metrics() {
  const res = await fetch('/metrics');
  if (!res.ok) throw new APIError(res.status, `/metrics: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}

// parseMetrics reads the Prometheus text format's sample lines.
export function parseMetrics(text) {
  const out = {};
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const l of text.split('\n')) {
    if (!l || l.startsWith('#')) continue;
    const m = line.exec(l);
    if (!m) continue;
    const labels = {};
    for (const lm of (m[2] || '').matchAll(label)) labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    (out[m[1]] ||= []).push({labels, value: Number(m[3])});
  }
  return out;
}
