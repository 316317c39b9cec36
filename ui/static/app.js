// clusterd's dashboard: hash routes, one function per page. Everything is
// read through the public API; a 401 anywhere shows the login form.

import {h, clear, int, num, when, secs, runSeconds, debounce, palette, css, params} from './util.js';
import {api, session, AuthError, metrics} from './api.js';
import {Scatter} from './scatter.js';
import {lineChart} from './chart.js';

const main = document.getElementById('main');
const enc = encodeURIComponent;

// The page being shown: its timers and clean-ups end when the route changes.
let view = {timers: [], cleanups: [], token: 0};
let returnTo = '#/clusters';

function every(ms, fn) { view.timers.push(setInterval(fn, ms)); }
function onLeave(fn) { view.cleanups.push(fn); }

function setState(state) { document.body.dataset.state = state; }

const routes = [
  [/^\/collections$/, collectionsPage],
  [/^\/collections\/([^/]+)$/, collectionPage],
  [/^\/clusters$/, clustersPage],
  [/^\/clusters\/([^/]+)$/, clusterPage],
  [/^\/clusters\/([^/]+)\/scatter$/, scatterPage],
  [/^\/clusters\/([^/]+)\/runs$/, runsPage],
  [/^\/system$/, systemPage],
  [/^\/login$/, () => showLogin('')],
];

async function route() {
  view.timers.forEach(clearInterval);
  view.cleanups.forEach((f) => f());
  view = {timers: [], cleanups: [], token: view.token + 1};
  const token = view.token;
  const hash = location.hash.slice(1) || '/clusters';
  const path = hash.split('?')[0];
  for (const a of document.querySelectorAll('nav.main a')) {
    a.classList.toggle('active', path.startsWith(a.getAttribute('href').slice(1)));
  }
  renderSession();
  for (const [re, page] of routes) {
    const m = re.exec(path);
    if (!m) continue;
    document.body.dataset.page = page.name || 'login';
    setState('loading');
    clear(main, h('p', {class: 'muted'}, 'Loading…'));
    try {
      await page(main, ...m.slice(1).map(decodeURIComponent), params(hash));
      if (token === view.token && document.body.dataset.state === 'loading') setState('ready');
    } catch (e) {
      if (token === view.token) fail(e);
    }
    return;
  }
  document.body.dataset.page = 'notfound';
  clear(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, hash), '. ', h('a', {href: '#/clusters'}, 'Clusters')));
  setState('ready');
}

const alive = (token) => token === view.token;

// fail shows an error in the page (a 401 shows the login instead).
function fail(e) {
  if (e instanceof AuthError) {
    session.key = ''; // refused: ask again rather than resend it
    showLogin(e.message);
    return;
  }
  setState('error');
  clear(main, h('div', {class: 'error', role: 'alert'}, h('strong', {}, 'Error: '), e.message || String(e)),
    h('p', {}, h('a', {href: location.hash, onclick: (ev) => { ev.preventDefault(); route(); }}, 'Retry')));
}

// guard runs an async action from a button or a timer, routing its errors.
function guard(fn) {
  const token = view.token;
  return async (...args) => {
    try { await fn(...args); } catch (e) { if (alive(token)) fail(e); }
  };
}

// ---- session: API key (sessionStorage) and namespace ----

function renderSession() {
  const box = document.getElementById('session');
  const ns = h('input', {id: 'namespace', type: 'text', placeholder: 'default', value: session.namespace, 'aria-label': 'Namespace', size: 12});
  ns.addEventListener('change', () => { session.namespace = ns.value.trim(); route(); });
  clear(box, h('label', {}, 'Namespace ', ns),
    session.key ? h('button', {type: 'button', class: 'link', id: 'signout', onclick: () => { session.key = ''; showLogin('Signed out.'); }}, 'Sign out') : null);
}

function showLogin(msg) {
  if (!location.hash.startsWith('#/login')) returnTo = location.hash || '#/clusters';
  view.timers.forEach(clearInterval);
  view.cleanups.forEach((f) => f());
  view = {timers: [], cleanups: [], token: view.token + 1};
  document.body.dataset.page = 'login';
  setState('login');
  const key = h('input', {id: 'api-key', type: 'password', autocomplete: 'off', required: true, placeholder: 'API key', size: 40});
  const ns = h('input', {id: 'login-namespace', type: 'text', placeholder: 'default', value: session.namespace, size: 20});
  const form = h('form', {id: 'login', class: 'card login'},
    h('h1', {}, 'Sign in'),
    h('p', {}, 'This server needs an API key (its --api-keys). The key is kept in this tab only (sessionStorage) and sent as a bearer token.'),
    msg ? h('p', {class: 'notice', id: 'login-message'}, msg) : null,
    h('label', {}, 'API key', key),
    h('label', {}, 'Namespace (optional)', ns),
    h('button', {type: 'submit'}, 'Sign in'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    session.key = key.value.trim();
    session.namespace = ns.value.trim();
    const target = returnTo.startsWith('#/login') ? '#/clusters' : returnTo;
    if (location.hash === target) route(); else location.hash = target;
  });
  clear(main, form);
  renderSession();
  key.focus();
}

// ---- shared pieces ----

function badge(status) {
  const s = String(status || 'unknown').toLowerCase();
  return h('span', {class: `badge ${s}`}, s);
}

function progressBar(p) {
  const pct = Math.round((p || 0) * 100);
  return h('span', {class: 'progress', dataset: {progress: String(p || 0)}},
    h('span', {class: 'bar'}, h('span', {class: 'fill', style: `width:${pct}%`})), h('span', {class: 'pct'}, `${pct}%`));
}

function pager({offset, limit, total, onPage}) {
  const shown = total === null || total === undefined ? '' : `${int(total === 0 ? 0 : offset + 1)}–${int(Math.min(offset + limit, total))} of ${int(total)}`;
  return h('div', {class: 'pager'},
    h('button', {type: 'button', class: 'prev', disabled: offset <= 0, onclick: () => onPage(Math.max(0, offset - limit))}, '‹ Prev'),
    h('span', {class: 'range'}, shown),
    h('button', {type: 'button', class: 'next', disabled: total !== null && offset + limit >= total, onclick: () => onPage(offset + limit)}, 'Next ›'));
}

// listView: a search box, a table and a pager over a POST …/list endpoint.
function listView({fetch, columns, href, empty, search = '', id}) {
  const root = h('div', {class: 'list', id});
  const input = h('input', {type: 'search', class: 'search', placeholder: 'Search…', value: search, 'aria-label': 'Search'});
  const body = h('div');
  let offset = 0;
  const limit = 50;
  const token = view.token;
  const load = guard(async () => {
    const q = input.value.trim();
    const res = await fetch({search: q, limit, offset});
    if (!alive(token) || q !== input.value.trim()) return;
    const rows = res.results || [];
    const table = h('table', {class: 'grid'},
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c.title)))),
      h('tbody', {}, rows.map((r) => {
        const tr = h('tr', {class: href ? 'link' : ''}, columns.map((c) => h('td', {class: c.cls || ''}, c.cell(r))));
        if (href) tr.addEventListener('click', (e) => { if (!e.target.closest('a')) location.hash = href(r); });
        return tr;
      })));
    const total = res.pagination ? res.pagination.total : rows.length;
    clear(body, rows.length ? table : h('p', {class: 'muted empty'}, q ? `Nothing matches “${q}”.` : empty),
      pager({offset, limit, total, onPage: (o) => { offset = o; load(); }}));
    root.dataset.total = String(total);
    root.dataset.query = q;
  });
  input.addEventListener('input', debounce(() => { offset = 0; load(); }, 200));
  root.append(input, body);
  root.ready = load();
  return root;
}

function kv(pairs) {
  return h('dl', {class: 'kv'}, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? '—' : v)]));
}

function firstLine(payload) {
  if (!payload || typeof payload !== 'object') return '';
  const t = typeof payload.text === 'string' ? payload.text : JSON.stringify(payload);
  const line = t.split('\n').map((l) => l.trim()).find((l) => l) || '';
  return line.length > 120 ? line.slice(0, 119) + '…' : line;
}

// ---- collections ----

async function collectionsPage(el, q) {
  const list = listView({
    id: 'collections',
    search: q.search || '',
    fetch: api.collections,
    href: (c) => `#/collections/${enc(c.collection_id)}`,
    empty: 'No collections yet: POST /v1/collections creates one.',
    columns: [
      {title: 'Name', cell: (c) => h('a', {href: `#/collections/${enc(c.collection_id)}`}, c.collection_name)},
      {title: 'ID', cls: 'mono', cell: (c) => c.collection_id},
      {title: 'Documents', cls: 'num', cell: (c) => int(c.document_count)},
      {title: 'Features', cell: (c) => (c.features || []).map((f) => `${f.name} (${f.dimension}-d)`).join(', ') || '—'},
      {title: 'Updated', cell: (c) => when(c.updated_at)},
    ],
  });
  clear(el, h('h1', {}, 'Collections'), list);
  await list.ready;
}

async function collectionPage(el, id, q) {
  const c = await api.collection(id);
  const docs = listView({
    id: 'documents',
    search: q.search || '',
    fetch: (o) => api.documents(c.collection_id, o),
    empty: 'No documents.',
    columns: [
      {title: 'Document', cls: 'mono', cell: (d) => d.document_id},
      {title: 'Text', cell: (d) => firstLine(d.payload)},
      {title: 'Features', cell: (d) => (d.feature_names || []).join(', ')},
      {title: 'Updated', cell: (d) => when(d.updated_at)},
    ],
  });
  clear(el,
    h('p', {class: 'crumbs'}, h('a', {href: '#/collections'}, 'Collections'), ' / '),
    h('h1', {}, c.collection_name),
    h('div', {class: 'card'}, kv([
      ['ID', h('code', {}, c.collection_id)],
      ['Documents', int(c.document_count)],
      ['Features', (c.features || []).map((f) => `${f.name}: ${f.dimension}-d, ${int(f.document_count)} documents`).join('; ')],
      ['Description', c.description],
      ['Created', when(c.created_at)],
      ['Updated', when(c.updated_at)],
    ])),
    h('h2', {}, 'Documents'), docs);
  await docs.ready;
}

// ---- clusters ----

async function clustersPage(el, q) {
  const list = listView({
    id: 'clusters',
    search: q.search || '',
    fetch: api.clusters,
    href: (c) => `#/clusters/${enc(c.cluster_id)}`,
    empty: 'No clusters yet: POST /v1/clusters creates one.',
    columns: [
      {title: 'Name', cell: (c) => h('a', {href: `#/clusters/${enc(c.cluster_id)}`}, c.cluster_name)},
      {title: 'Algorithm', cell: (c) => c.algorithm || '—'},
      {title: 'Status', cell: (c) => badge(c.last_execution_status || c.status)},
      {title: 'Clusters', cls: 'num', cell: (c) => int(c.num_clusters)},
      {title: 'Documents', cls: 'num', cell: (c) => int(c.num_documents_clustered)},
      {title: 'Silhouette', cls: 'num', cell: (c) => num(c.cluster_stats && c.cluster_stats.silhouette_score)},
      {title: 'Last run', cell: (c) => when(c.last_executed_at)},
    ],
  });
  clear(el, h('h1', {}, 'Clusters'), list);
  await list.ready;
}

function clusterHeader(cl, active) {
  const id = enc(cl.cluster_id);
  const tab = (name, href, label) => h('a', {href, class: active === name ? 'active' : '', id: `tab-${name}`}, label);
  return [
    h('p', {class: 'crumbs'}, h('a', {href: '#/clusters'}, 'Clusters'), ' / '),
    h('h1', {}, cl.cluster_name, ' ', h('span', {id: 'cluster-status'}, badge(cl.last_execution_status || cl.status))),
    h('nav', {class: 'tabs'}, tab('overview', `#/clusters/${id}`, 'Overview'), tab('scatter', `#/clusters/${id}/scatter`, 'Scatter'), tab('runs', `#/clusters/${id}/runs`, 'Runs')),
  ];
}

function executeButton(cl, after) {
  return h('button', {type: 'button', id: 'execute', onclick: guard(async (e) => {
    const b = e.currentTarget;
    b.disabled = true;
    try {
      const t = await api.execute(cl.cluster_id);
      toast(`Queued: task ${t.task_id}`);
      await after();
    } finally {
      b.disabled = false;
    }
  })}, 'Execute');
}

function toast(msg) {
  const t = h('div', {class: 'toast', role: 'status'}, msg);
  document.body.append(t);
  setTimeout(() => t.remove(), 3000);
}

const metricDefs = [
  ['silhouette_score', 'Silhouette', 'higher is better'],
  ['davies_bouldin_index', 'Davies–Bouldin', 'lower is better'],
  ['calinski_harabasz_score', 'Calinski–Harabasz', 'higher is better'],
];

async function clusterPage(el, id) {
  const cl = await api.cluster(id);
  const latest = await api.latest(cl.cluster_id);
  const definition = {...cl};
  for (const k of ['status', 'task_id', 'last_execution_task_id', 'last_execution_status', 'last_run_id', 'last_executed_at', 'completed_at',
    'execution_time_seconds', 'num_clusters', 'num_documents_clustered', 'cluster_stats', 'llm_labeling_errors', 'members_key', 'parquet_path']) delete definition[k];
  const vc = cl.vector_config || {};
  const defCard = h('div', {class: 'card', id: 'definition'}, h('h2', {}, 'Definition'), kv([
    ['ID', h('code', {}, cl.cluster_id)],
    ['Type', cl.cluster_type],
    ['Algorithm', cl.algorithm],
    ['Parameters', cl.algorithm_params ? h('code', {class: 'wrap'}, JSON.stringify(cl.algorithm_params)) : null],
    ['Collections', (cl.collection_ids || []).map((c, i) => [i ? ', ' : '', h('a', {href: `#/collections/${enc(c)}`}, c)])],
    cl.cluster_type === 'vector' ? ['Features', (cl.feature_uris || []).join(', ') || h('span', {class: 'muted'}, 'the collection’s only feature')] : null,
    cl.cluster_type === 'vector' ? ['Strategy', `${vc.multi_feature_strategy || ''}${vc.hierarchical ? ', hierarchical' : ''}${(vc.preprocessing_steps || []).length ? ', ' + vc.preprocessing_steps.map((s) => s.method).join(' → ') : ''}`] : null,
    ['Description', cl.description],
    ['Created', when(cl.created_at)],
  ]), h('details', {}, h('summary', {}, 'Full definition (JSON)'), h('pre', {}, JSON.stringify(definition, null, 2))));

  const latestCard = h('div', {class: 'card', id: 'latest'}, h('h2', {}, 'Latest execution'));
  if (!latest) {
    latestCard.append(h('p', {class: 'muted'}, 'Never run.'));
  } else {
    const m = latest.metrics || {};
    latestCard.append(kv([
      ['Run', h('code', {}, latest.run_id)],
      ['Status', [badge(latest.status), latest.status === 'processing' ? progressBar(latest.progress) : null]],
      ['Clusters', int(latest.num_clusters)],
      ['Points', int(latest.num_points)],
      ...metricDefs.map(([k, name]) => [name, h('span', {class: 'metric', dataset: {metric: k}}, num(m[k]))]),
      ['Noise points', latest.stats ? int(latest.stats.noise_points) : null],
      ['Backend', latest.backend ? [latest.backend, latest.backend_fallback_reason ? h('span', {class: 'muted'}, ` (fallback: ${latest.backend_fallback_reason})`) : null] : null],
      ['Duration', secs(runSeconds(latest))],
      ['Completed', when(latest.completed_at)],
      latest.error_message ? ['Error', h('span', {class: 'error-text'}, latest.error_message)] : null,
    ]));
  }
  latestCard.append(h('p', {}, executeButton(cl, () => route()), ' ', h('a', {href: `#/clusters/${enc(cl.cluster_id)}/runs`}, 'All runs')));

  const children = [...clusterHeader(cl, 'overview'), h('div', {class: 'cols'}, defCard, latestCard)];
  if (latest && latest.centroids && latest.centroids.length) {
    children.push(h('h2', {}, 'Centroids'), centroidTable(cl, latest));
  }
  clear(el, ...children);
}

// centroidTable: the latest run's clusters, sortable by any column.
function centroidTable(cl, run) {
  const cols = [
    {key: 'label', title: 'Label', get: (c) => c.label || c.cluster_id, text: true},
    {key: 'summary', title: 'Summary', get: (c) => c.summary || '', text: true},
    {key: 'keywords', title: 'Keywords', get: (c) => (c.keywords || []).join(', '), text: true},
    {key: 'num_members', title: 'Members', get: (c) => c.num_members},
    {key: 'mean_cosine_similarity', title: 'Mean cosine', get: (c) => c.mean_cosine_similarity},
    {key: 'min_cosine_similarity', title: 'Min cosine', get: (c) => c.min_cosine_similarity},
    {key: 'variance', title: 'Variance', get: (c) => c.variance},
  ];
  let sort = {key: 'num_members', dir: -1};
  const table = h('table', {class: 'grid sortable', id: 'centroids'});
  const draw = () => {
    const col = cols.find((c) => c.key === sort.key);
    const rows = [...run.centroids].sort((a, b) => {
      const x = col.get(a), y = col.get(b);
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (col.text ? String(x).localeCompare(String(y)) : x - y) * sort.dir;
    });
    table.dataset.sort = `${sort.key}:${sort.dir > 0 ? 'asc' : 'desc'}`;
    clear(table,
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', {
        class: `sort ${c.key === sort.key ? (sort.dir > 0 ? 'asc' : 'desc') : ''}`, dataset: {key: c.key}, tabindex: 0,
        onclick: () => { sort = {key: c.key, dir: sort.key === c.key ? -sort.dir : (c.text ? 1 : -1)}; draw(); },
      }, c.title)))),
      h('tbody', {}, rows.map((c) => h('tr', {class: 'link', dataset: {cluster: c.cluster_id},
        onclick: () => { location.hash = `#/clusters/${enc(cl.cluster_id)}/scatter?run=${enc(run.run_id)}&cluster=${enc(c.cluster_id)}`; }},
      h('td', {}, c.label || c.cluster_id, c.hierarchy_level ? h('span', {class: 'muted'}, ` (level ${c.hierarchy_level})`) : null),
      h('td', {class: 'summary'}, c.summary || ''),
      h('td', {}, (c.keywords || []).join(', ')),
      h('td', {class: 'num'}, int(c.num_members)),
      h('td', {class: 'num'}, num(c.mean_cosine_similarity)),
      h('td', {class: 'num'}, num(c.min_cosine_similarity)),
      h('td', {class: 'num'}, num(c.variance))))));
  };
  draw();
  return table;
}

// ---- the scatter ----

// The most points drawn at once unless the page asks (?max=): runs with
// more members show a seeded uniform sample of this many.
const MAX_POINTS = 100000;

async function completedRuns(clusterID) {
  const res = await api.runs(clusterID, {limit: 100, sort: {field: 'created_at', direction: 'desc'}, filters: {status: 'completed'}});
  return res.results || [];
}

async function scatterPage(el, id, q) {
  const token = view.token;
  const cl = await api.cluster(id);
  const runs = await completedRuns(cl.cluster_id);
  if (!alive(token)) return;
  if (!runs.length) {
    clear(el, ...clusterHeader(cl, 'scatter'), h('p', {class: 'muted empty'}, 'No completed run yet: the scatter shows a completed run\'s projection.'));
    return;
  }
  const run = runs.find((r) => r.run_id === q.run) || runs[0];
  const max = Math.max(1, Math.min(1000000, parseInt(q.max, 10) || MAX_POINTS));
  const seed = Math.max(0, parseInt(q.seed, 10) || 0);
  const projection = q.projection === '3d' ? '3d' : '2d';
  const setParam = (k, v) => {
    const p = params(location.hash);
    if (v === null || v === undefined || v === '') delete p[k]; else p[k] = v;
    return `#/clusters/${enc(cl.cluster_id)}/scatter?${new URLSearchParams(p)}`;
  };

  const status = h('span', {id: 'scatter-status', class: 'status'}, 'Loading points…');
  const runSelect = h('select', {id: 'run-select', 'aria-label': 'Run'}, runs.map((r) =>
    h('option', {value: r.run_id, selected: r.run_id === run.run_id}, `${when(r.created_at)} · ${r.run_id} · ${int(r.num_points)} points`)));
  runSelect.addEventListener('change', () => { location.hash = setParam('run', runSelect.value); });
  const proj = h('select', {id: 'projection', 'aria-label': 'Projection'},
    h('option', {value: '2d', selected: projection === '2d'}, '2-D'), h('option', {value: '3d', selected: projection === '3d'}, '3-D'));
  proj.addEventListener('change', () => { location.hash = setParam('projection', proj.value === '2d' ? '' : proj.value); });
  const noiseBox = h('input', {type: 'checkbox', id: 'show-noise', checked: true});
  const noiseLabel = h('label', {class: 'noise-toggle', hidden: true}, noiseBox, ' noise');
  const reset = h('button', {type: 'button', id: 'reset-view'}, 'Reset view');
  const host = h('div', {class: 'scatter-host', id: 'scatter'});
  const tip = h('div', {class: 'tooltip', id: 'tooltip', hidden: true});
  const legend = h('div', {class: 'legend', id: 'legend'});
  const members = h('div', {class: 'members', id: 'members'}, h('p', {class: 'muted'}, 'Click a point or a cluster to list its members.'));
  clear(el, ...clusterHeader(cl, 'scatter'),
    h('div', {class: 'toolbar'}, runSelect, proj, noiseLabel, reset, status),
    h('div', {class: 'scatter-layout'}, h('div', {class: 'scatter-wrap'}, host, tip), h('aside', {}, legend, members)));

  const art = await api.scatter(cl.cluster_id, run.run_id, {max, seed, projection});
  if (!alive(token)) return;
  const cents = art.centroids || [];
  const ms = art.members || [];
  const index = new Map(cents.map((c, i) => [c.cluster_id, i]));
  const colors = palette(cents.length);
  const labels = new Map((run.centroids || []).map((c) => [c.cluster_id, c]));
  const clusters = cents.map((c, i) => ({
    id: c.cluster_id, label: c.label || (labels.get(c.cluster_id) || {}).label || c.cluster_id, color: colors[i],
    x: c.x, y: c.y, z: c.z === undefined ? null : c.z, count: 0, total: c.num_members, summary: c.summary, keywords: c.keywords,
  }));
  const n = ms.length;
  const x = new Float32Array(n), y = new Float32Array(n), z = projection === '3d' ? new Float32Array(n) : null;
  const cls = new Int32Array(n);
  let noise = 0, missing = 0;
  const keep = [];
  for (let i = 0; i < n; i++) {
    const m = ms[i];
    if (m.x === null || m.y === null) { missing++; continue; }
    const j = keep.length;
    keep.push(i);
    x[j] = m.x; y[j] = m.y; if (z) z[j] = m.z || 0;
    const c = index.has(m.cluster_id) ? index.get(m.cluster_id) : -1;
    cls[j] = c;
    if (c < 0) noise++; else clusters[c].count++;
  }
  const k = keep.length;
  const ids = keep.map((i) => ms[i].point_id);
  const memberCluster = keep.map((i) => ms[i].cluster_id);
  if (k === 0) {
    status.textContent = `This run has no projection (${int(art.total_members)} members without vectors).`;
    return;
  }
  const noiseTotal = run.stats ? run.stats.noise_points : null;
  if (noise > 0 || noiseTotal) noiseLabel.hidden = false;

  const texts = new Map();
  let hoverSeq = 0;
  const fetchText = debounce(async (i) => {
    const seq = hoverSeq;
    const id = ids[i];
    try {
      const d = await api.data(cl.cluster_id, run.run_id, {document_ids: [id], include_text: true, include_centroids: false, limit: 1});
      const m = (d.members || [])[0];
      texts.set(id, m ? m.metadata.first_line : null);
      if (seq === hoverSeq && alive(token) && scatter.hovered === i) showTip(i, null);
    } catch (e) {
      if (e instanceof AuthError) fail(e);
      else texts.set(id, null);
    }
  }, 80);
  let lastEv = null;
  const showTip = (i, ev) => {
    if (ev) lastEv = ev;
    if (i < 0) { tip.hidden = true; delete tip.dataset.document; return; }
    hoverSeq++;
    const c = cls[i];
    const label = c < 0 ? 'noise' : clusters[c].label;
    const text = texts.has(ids[i]) ? texts.get(ids[i]) : undefined;
    clear(tip,
      h('div', {class: 'tip-id mono'}, ids[i]),
      h('div', {class: 'tip-label'}, h('span', {class: 'swatch', style: `background:${c < 0 ? '#a5aab2' : css(clusters[c].color)}`}), label),
      h('div', {class: 'tip-text'}, text === undefined ? '…' : text === null ? h('span', {class: 'muted'}, '(no text)') : text));
    tip.dataset.document = ids[i];
    tip.dataset.cluster = memberCluster[i];
    tip.dataset.loaded = text === undefined ? 'false' : 'true';
    tip.hidden = false;
    if (lastEv) {
      const r = host.getBoundingClientRect();
      const left = Math.min(lastEv.clientX - r.left + 14, r.width - tip.offsetWidth - 4);
      const top = Math.min(lastEv.clientY - r.top + 14, r.height - tip.offsetHeight - 4);
      tip.style.left = `${Math.max(4, left)}px`;
      tip.style.top = `${Math.max(4, top)}px`;
    }
    if (text === undefined) fetchText(i);
  };

  let selected = -1;
  let memberOffset = 0;
  const pageSize = 20;
  const listMembers = guard(async () => {
    const c = clusters[selected];
    const off = memberOffset;
    const d = await api.data(cl.cluster_id, run.run_id, {cluster_ids: [c.id], include_text: true, include_centroids: false, offset: off, limit: pageSize});
    if (!alive(token) || selected < 0 || clusters[selected] !== c || off !== memberOffset) return;
    clear(members,
      h('h3', {}, h('span', {class: 'swatch', style: `background:${css(c.color)}`}), c.label),
      c.summary ? h('p', {class: 'summary'}, c.summary) : null,
      c.keywords && c.keywords.length ? h('p', {class: 'muted'}, c.keywords.join(', ')) : null,
      h('p', {class: 'member-count', dataset: {total: String(d.total_members)}}, `${int(d.total_members)} members`,
        k < (art.total_members || 0) ? h('span', {class: 'muted'}, ` (${int(c.count)} in the drawn sample)`) : null),
      h('ol', {class: 'member-list', start: off + 1}, (d.members || []).map((m) => h('li', {dataset: {document: m.document_id}},
        h('span', {class: 'mono'}, m.document_id), ' ',
        h('span', {class: 'dist muted'}, m.distance_to_centroid === null ? '' : `d=${num(m.distance_to_centroid, 3)}`),
        h('div', {class: 'text'}, m.metadata.first_line || h('span', {class: 'muted'}, '(no text)'))))),
      pager({offset: off, limit: pageSize, total: d.total_members, onPage: (o) => { memberOffset = o; listMembers(); }}));
    members.dataset.cluster = c.id;
    members.dataset.offset = String(off);
    members.scrollTop = 0;
  });
  const select = (ci) => {
    selected = ci;
    scatter.select(ci);
    for (const li of legend.querySelectorAll('li[data-index]')) li.classList.toggle('selected', Number(li.dataset.index) === ci);
    history.replaceState(null, '', setParam('cluster', ci >= 0 ? clusters[ci].id : ''));
    if (ci < 0) {
      delete members.dataset.cluster;
      clear(members, h('p', {class: 'muted'}, 'Click a point or a cluster to list its members.'));
      return;
    }
    memberOffset = 0;
    listMembers();
  };

  const scatter = new Scatter(host, {
    hover: (i, ev) => showTip(i, ev),
    click: (i) => select(i >= 0 && cls[i] >= 0 ? cls[i] : -1),
  });
  onLeave(() => scatter.destroy());
  scatter.setData({x: x.subarray(0, k), y: y.subarray(0, k), z: z ? z.subarray(0, k) : null, cls: cls.subarray(0, k), clusters});
  window.__scatter = scatter; // for the browser tests and the console
  scatter.ids = ids;

  noiseBox.addEventListener('change', () => { scatter.showNoise(noiseBox.checked); report(); });
  reset.addEventListener('click', () => scatter.resetView());

  const total = art.total_members;
  const report = () => {
    const drawn = scatter.drawn;
    status.dataset.drawn = String(drawn);
    status.dataset.sample = String(k);
    status.dataset.total = String(total);
    status.dataset.noise = String(noise);
    const sampled = n < total;
    status.textContent = `${int(drawn)} of ${int(total)} points` +
      (sampled ? ` (a seeded sample, seed ${art.sample_seed})` : '') +
      (noise ? `; ${int(noise)} noise${noiseBox.checked ? '' : ' hidden'}` : '') +
      (missing ? `; ${int(missing)} without coordinates` : '');
  };
  report();

  const order = clusters.map((_, i) => i).sort((a, b) => clusters[b].total - clusters[a].total);
  clear(legend, h('h3', {}, `${int(clusters.length)} clusters`), h('ul', {},
    order.map((i) => h('li', {dataset: {index: String(i), cluster: clusters[i].id}, class: 'link', onclick: () => select(selected === i ? -1 : i)},
      h('span', {class: 'swatch', style: `background:${css(clusters[i].color)}`}), clusters[i].label, ' ', h('span', {class: 'muted'}, int(clusters[i].total)))),
    noise || noiseTotal ? h('li', {class: 'noise'}, h('span', {class: 'swatch', style: 'background:#a5aab2'}), 'noise ', h('span', {class: 'muted'}, int(noiseTotal ?? noise))) : null));
  if (q.cluster && index.has(q.cluster)) select(index.get(q.cluster));
  el.dataset.run = run.run_id;
}

// ---- runs ----

async function runsPage(el, id) {
  const token = view.token;
  const cl = await api.cluster(id);
  const compare = new Set();
  const tableBox = h('div', {id: 'runs'});
  const charts = h('div', {class: 'charts', id: 'charts'});
  const cmp = h('div', {id: 'compare', class: 'card'});
  let last = [];
  clear(el, ...clusterHeader(cl, 'runs'),
    h('div', {class: 'toolbar'}, executeButton(cl, () => load())),
    tableBox, h('h2', {}, 'Metrics over time'), charts, h('h2', {}, 'Side by side'), cmp);

  const load = guard(async () => {
    const res = await api.runs(cl.cluster_id, {limit: 100, sort: {field: 'created_at', direction: 'desc'}});
    if (!alive(token)) return;
    last = res.results || [];
    const status = document.getElementById('cluster-status');
    if (status && last.length) clear(status, badge(last[0].status));
    drawTable();
    drawCharts();
    drawCompare();
    el.dataset.polls = String(Number(el.dataset.polls || 0) + 1);
  });
  const cancel = (r) => guard(async (e) => {
    e.target.disabled = true;
    await api.cancel(cl.cluster_id, r.run_id);
    toast(`Canceled ${r.run_id}`);
    await load();
  });
  const drawTable = () => {
    if (!last.length) { clear(tableBox, h('p', {class: 'muted empty'}, 'No runs yet.')); return; }
    clear(tableBox, h('table', {class: 'grid'},
      h('thead', {}, h('tr', {}, ['', 'Run', 'Status', 'Created', 'Duration', 'Clusters', 'Points', 'Silhouette', 'Davies–Bouldin', 'Calinski–Harabasz', 'Backend', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, last.map((r) => {
        const m = r.metrics || {};
        const box = h('input', {type: 'checkbox', class: 'compare', 'aria-label': `Compare ${r.run_id}`, checked: compare.has(r.run_id), disabled: r.status !== 'completed'});
        box.addEventListener('change', () => {
          if (box.checked) { compare.add(r.run_id); if (compare.size > 2) compare.delete([...compare][0]); } else compare.delete(r.run_id);
          drawTable();
          drawCompare();
        });
        const active = r.status === 'pending' || r.status === 'processing';
        return h('tr', {dataset: {run: r.run_id, status: r.status}},
          h('td', {}, box),
          h('td', {class: 'mono'}, r.run_id),
          h('td', {}, badge(r.status), r.status === 'processing' ? progressBar(r.progress) : null,
            r.error_message ? h('div', {class: 'error-text'}, r.error_message) : null),
          h('td', {}, when(r.created_at)),
          h('td', {class: 'num'}, secs(runSeconds(r))),
          h('td', {class: 'num'}, int(r.num_clusters)),
          h('td', {class: 'num'}, int(r.num_points)),
          h('td', {class: 'num'}, num(m.silhouette_score)),
          h('td', {class: 'num'}, num(m.davies_bouldin_index)),
          h('td', {class: 'num'}, num(m.calinski_harabasz_score)),
          h('td', {}, r.backend || '—'),
          h('td', {}, active ? h('button', {type: 'button', class: 'cancel', onclick: cancel(r)}, 'Cancel') : null,
            r.status === 'completed' ? h('a', {href: `#/clusters/${enc(cl.cluster_id)}/scatter?run=${enc(r.run_id)}`}, 'Scatter') : null));
      }))));
  };
  const drawCharts = () => {
    const done = last.filter((r) => r.status === 'completed').slice().reverse();
    const colors = ['#2563eb', '#dc2626', '#059669'];
    clear(charts, metricDefs.map(([k, name, better], i) => lineChart({
      title: name, better, color: colors[i],
      points: done.map((r) => ({t: new Date(r.created_at), v: r.metrics ? r.metrics[k] : null, label: r.run_id})),
    })));
    charts.dataset.runs = String(done.length);
  };
  const drawCompare = () => {
    const pair = [...compare].map((id) => last.find((r) => r.run_id === id)).filter(Boolean);
    if (pair.length < 2) {
      delete cmp.dataset.runs;
      clear(cmp, h('p', {class: 'muted'}, 'Tick two completed runs to compare their metrics and cluster sizes.'));
      return;
    }
    const [a, b] = pair;
    const row = (name, va, vb, f = num) => h('tr', {}, h('th', {}, name), h('td', {class: 'num'}, f(va)), h('td', {class: 'num'}, f(vb)),
      h('td', {class: 'num'}, va === null || va === undefined || vb === null || vb === undefined ? '—' : (vb - va >= 0 ? '+' : '') + num(vb - va)));
    const sizes = (r) => [...(r.centroids || [])].sort((x, y) => y.num_members - x.num_members);
    const maxSize = Math.max(1, ...[a, b].flatMap((r) => (r.centroids || []).map((c) => c.num_members)));
    const bars = (r) => h('div', {class: 'sizes'}, h('h3', {}, r.run_id), sizes(r).map((c) => h('div', {class: 'size-row', title: `${c.label || c.cluster_id}: ${c.num_members}`},
      h('span', {class: 'size-label'}, c.label || c.cluster_id),
      h('span', {class: 'size-bar'}, h('span', {class: 'fill', style: `width:${(100 * c.num_members / maxSize).toFixed(1)}%`})),
      h('span', {class: 'num'}, int(c.num_members)))));
    clear(cmp,
      h('table', {class: 'grid compare-table'},
        h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {class: 'mono'}, a.run_id), h('th', {class: 'mono'}, b.run_id), h('th', {}, 'Δ (B − A)'))),
        h('tbody', {},
          row('Created', a.created_at, b.created_at, when),
          row('Clusters', a.num_clusters, b.num_clusters, int),
          row('Points', a.num_points, b.num_points, int),
          metricDefs.map(([k, name]) => row(name, (a.metrics || {})[k], (b.metrics || {})[k])),
          row('Noise points', a.stats && a.stats.noise_points, b.stats && b.stats.noise_points, int),
          row('Duration (s)', runSeconds(a), runSeconds(b)))),
      h('div', {class: 'cols'}, bars(a), bars(b)));
    cmp.dataset.runs = `${a.run_id},${b.run_id}`;
  };
  await load();
  // Live: the list is read again every second while any run is queued or
  // running, and every 5 s otherwise (a run started elsewhere shows up).
  let tick = 0;
  every(1000, () => {
    tick++;
    if (last.some((r) => r.status === 'pending' || r.status === 'processing') || tick % 5 === 0) load();
  });
}

// ---- system ----

async function systemPage(el) {
  const token = view.token;
  const b = await api.backends();
  const cpu = b.cpu || {};
  const gpus = b.gpu_devices || [];
  const rates = h('div', {class: 'card', id: 'throughput'}, h('h2', {}, 'Throughput and queue'), h('p', {class: 'muted'}, 'Reading /metrics…'));
  clear(el, h('h1', {}, 'System'),
    h('div', {class: 'cols'},
      h('div', {class: 'card', id: 'backends'}, h('h2', {}, 'Backends'), kv([
        ['Mode', b.mode],
        ['Chosen', h('strong', {}, b.chosen)],
        ['Available', (b.available || []).join(', ')],
        ['CPU', `${cpu.threads ?? '—'} threads, ${cpu.kernel || '—'} kernel`],
        ['GPU devices', gpus.length ? gpus.map((g) => g.name || JSON.stringify(g)).join('; ') : 'none'],
        b.gpu_unavailable_reason ? ['GPU not used', h('span', {id: 'fallback-reason'}, b.gpu_unavailable_reason, b.gpu_unavailable_kind ? h('span', {class: 'muted'}, ` (${b.gpu_unavailable_kind})`) : null)] : null,
      ]), gpus.length ? h('pre', {}, JSON.stringify(gpus, null, 2)) : null),
      rates));
  let prev = null;
  const sum = (samples, f = () => true) => (samples || []).filter((s) => f(s.labels)).reduce((a, s) => a + s.value, 0);
  const poll = guard(async () => {
    const m = await metrics();
    if (!alive(token)) return;
    const now = performance.now();
    const backends = [...new Set([...(m.clusterd_points_assigned_total || []), ...(m.clusterd_distance_flops_total || [])].map((s) => s.labels.backend))].sort();
    const dt = prev ? (now - prev.t) / 1000 : null;
    const rate = (name, be) => {
      if (!prev) return null;
      const d = sum(m[name], (l) => l.backend === be) - sum(prev.m[name], (l) => l.backend === be);
      return d / dt;
    };
    const q = (state) => sum(m.clusterd_queue_depth, (l) => l.state === state);
    const runsBy = (st) => sum(m.clusterd_runs, (l) => l.status === st);
    const fallbacks = (m.clusterd_backend_fallbacks_total || []).filter((s) => s.value > 0);
    clear(rates, h('h2', {}, 'Throughput and queue'),
      h('table', {class: 'grid', id: 'backend-rates'},
        h('thead', {}, h('tr', {}, ['Backend', 'Points assigned', 'Points/s', 'Distance GFLOP/s'].map((t) => h('th', {}, t)))),
        h('tbody', {}, backends.length ? backends.map((be) => h('tr', {dataset: {backend: be}},
          h('td', {}, be),
          h('td', {class: 'num'}, int(sum(m.clusterd_points_assigned_total, (l) => l.backend === be))),
          h('td', {class: 'num rate'}, prev ? int(Math.round(rate('clusterd_points_assigned_total', be))) : '…'),
          h('td', {class: 'num'}, prev ? num(rate('clusterd_distance_flops_total', be) / 1e9, 3) : '…'))) :
          h('tr', {}, h('td', {colspan: 4, class: 'muted'}, 'No run has assigned points since the server started.')))),
      kv([
        ['Queue', h('span', {id: 'queue-depth', dataset: {queued: String(q('queued')), running: String(q('running'))}}, `${int(q('queued'))} queued, ${int(q('running'))} running`)],
        ['Runs stored', ['pending', 'processing', 'completed', 'failed'].map((st) => `${int(runsBy(st))} ${st}`).join(', ')],
        ['Runs finished', (m.clusterd_runs_finished_total || []).map((s) => `${int(s.value)} ${s.labels.status}`).join(', ') || '0'],
        ['GPU fallbacks', fallbacks.length ? fallbacks.map((s) => `${int(s.value)} ${s.labels.reason}`).join(', ') : 'none'],
      ]),
      h('p', {class: 'muted'}, 'From /metrics, read every 2 s; rates are over the last interval.'));
    rates.dataset.samples = String(Number(rates.dataset.samples || 0) + 1);
    prev = {t: now, m};
  });
  await poll();
  every(2000, poll);
}

window.addEventListener('hashchange', route);
route();
