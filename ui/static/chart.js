// Small SVG charts: a line of one metric over time, and paired bars.

const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function fmt(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-2) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

// lineChart draws points [{t: Date, v: number, label}] in time order with
// their values; null values are gaps. Returns an <svg>.
export function lineChart({title, points, color = '#2563eb', width = 320, height = 160, better = ''}) {
  const svg = s('svg', {viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': title});
  const pad = {l: 44, r: 10, t: 22, b: 22};
  svg.append(s('text', {x: pad.l, y: 14, class: 'chart-title'}, title + (better ? ` (${better})` : '')));
  const pts = points.filter((p) => p.v !== null && p.v !== undefined && Number.isFinite(p.v));
  if (pts.length === 0) {
    svg.append(s('text', {x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'chart-empty'}, 'no completed runs'));
    return svg;
  }
  const t0 = Math.min(...pts.map((p) => +p.t)), t1 = Math.max(...pts.map((p) => +p.t));
  let v0 = Math.min(...pts.map((p) => p.v)), v1 = Math.max(...pts.map((p) => p.v));
  if (v0 === v1) { v0 -= Math.abs(v0) * 0.1 || 1; v1 += Math.abs(v1) * 0.1 || 1; }
  const X = (t) => pad.l + (t1 === t0 ? (width - pad.l - pad.r) / 2 : ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r));
  const Y = (v) => height - pad.b - ((v - v0) / (v1 - v0)) * (height - pad.t - pad.b);
  for (const v of [v0, (v0 + v1) / 2, v1]) {
    svg.append(s('line', {x1: pad.l, x2: width - pad.r, y1: Y(v), y2: Y(v), class: 'chart-grid'}));
    svg.append(s('text', {x: pad.l - 4, y: Y(v) + 3, 'text-anchor': 'end', class: 'chart-axis'}, fmt(v)));
  }
  const d = pts.map((p, i) => `${i ? 'L' : 'M'}${X(+p.t).toFixed(1)},${Y(p.v).toFixed(1)}`).join('');
  svg.append(s('path', {d, fill: 'none', stroke: color, 'stroke-width': 2}));
  for (const p of pts) {
    const c = s('circle', {cx: X(+p.t), cy: Y(p.v), r: 3.5, fill: color});
    c.append(s('title', {}, `${p.label}: ${fmt(p.v)}`));
    svg.append(c);
  }
  const day = (t) => new Date(t).toLocaleString([], {month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});
  svg.append(s('text', {x: pad.l, y: height - 6, class: 'chart-axis'}, day(t0)));
  if (t1 !== t0) svg.append(s('text', {x: width - pad.r, y: height - 6, 'text-anchor': 'end', class: 'chart-axis'}, day(t1)));
  return svg;
}
