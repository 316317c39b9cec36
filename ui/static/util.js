// DOM and formatting helpers. Every string from the server goes into the
// page as text (textContent), never as HTML.

// h builds an element: h('a', {href: '#/x', class: 'y', onclick: fn}, 'text', child…).
// Attributes starting with "on" are listeners; null/undefined/false children
// are skipped; arrays are flattened.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// clear empties an element and appends children.
export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const intFmt = new Intl.NumberFormat('en-US');

// int formats a count with thousands separators ("100,000").
export function int(n) {
  return n === null || n === undefined ? '—' : intFmt.format(n);
}

// num formats a metric to 4 significant digits ("—" for null).
export function num(x, digits = 4) {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3)) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}

// when formats a timestamp as local date and time to the second.
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// secs formats a duration in seconds ("1.23 s", "4 min 5 s").
export function secs(s) {
  if (s === null || s === undefined) return '—';
  if (s < 60) return `${num(s, 3)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

// runSeconds is a run's duration from its timestamps (null while it runs).
export function runSeconds(r) {
  if (!r.completed_at || !r.created_at) return null;
  return (new Date(r.completed_at) - new Date(r.created_at)) / 1000;
}

// debounce delays fn until ms have passed without a call.
export function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// palette returns n distinct colours as [r, g, b]: a categorical set for
// the first 10, then hues spread by the golden angle.
const base = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [188, 189, 34], [23, 190, 207], [99, 110, 250],
];
export function palette(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    if (i < base.length) { out.push(base[i]); continue; }
    out.push(hsl(((i - base.length) * 137.508 + 20) % 360, 0.62, i % 2 ? 0.45 : 0.58));
  }
  return out;
}

function hsl(hue, s, l) {
  const k = (n) => (n + hue / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(255 * f(0)), Math.round(255 * f(8)), Math.round(255 * f(4))];
}

export function css([r, g, b]) {
  return `rgb(${r},${g},${b})`;
}

// params parses the query part of a hash route ("#/x?a=1" → {a: "1"}).
export function params(hash) {
  const q = hash.indexOf('?');
  return Object.fromEntries(new URLSearchParams(q < 0 ? '' : hash.slice(q + 1)));
}
