// Scatter: draws up to a few hundred thousand points on a canvas by writing
// their pixels straight into an ImageData buffer (one typed-array store per
// pixel, no path per point), with centroid labels, hover and selection on a
// second canvas above it. It needs no WebGL, so it draws the same in a
// headless browser without a GPU as on a desktop.
//
// Points are in data coordinates (x, y, and z for 3-D). 2-D: drag pans,
// the wheel zooms about the cursor. 3-D: drag rotates, shift-drag pans,
// the wheel zooms. A frame is drawn on the next animation frame after
// anything changed, never more than once per frame.

const BG = 0xfffbf9f8; // ABGR (little-endian RGBA bytes f8 f9 fb ff): the page's panel colour
const NOISE = [165, 170, 178];

function abgr([r, g, b]) {
  return (0xff << 24) | (b << 16) | (g << 8) | r;
}

function mix([r, g, b], t) { // towards the background by t
  return [Math.round(r + (248 - r) * t), Math.round(g + (249 - g) * t), Math.round(b + (251 - b) * t)];
}

export class Scatter {
  // host: an element to fill; on.hover(index|null, event), on.click(index|null).
  constructor(host, on = {}) {
    this.host = host;
    this.on = on;
    this.base = document.createElement('canvas');
    this.over = document.createElement('canvas');
    this.base.className = 'scatter-base';
    this.over.className = 'scatter-over';
    this.over.tabIndex = 0;
    host.append(this.base, this.over);
    this.ctx = this.base.getContext('2d', {alpha: false});
    this.octx = this.over.getContext('2d');
    this.n = 0;
    this.selected = -1; // cluster index, -1: none
    this.noiseShown = true;
    this.hovered = -1;
    this.frames = 0;
    this.renderMs = [];
    this.dirty = false;
    this.view = {cx: 0, cy: 0, k: 1, yaw: 0.6, pitch: 0.4};
    this.bindInput();
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(host);
    this.resize();
  }

  destroy() {
    this.resizer.disconnect();
    cancelAnimationFrame(this.raf);
    this.destroyed = true;
  }

  // setData: x, y (and z) Float32Arrays; cls Int32Array of cluster indexes
  // (-1: noise); clusters [{id, label, color: [r, g, b], x, y, z, count}].
  setData({x, y, z = null, cls, clusters}) {
    this.x = x; this.y = y; this.z = z; this.cls = cls; this.clusters = clusters;
    this.n = x.length;
    this.sx = new Float32Array(this.n);
    this.sy = new Float32Array(this.n);
    // Centre of the data: 3-D rotates about it.
    let mx = 0, my = 0, mz = 0;
    for (let i = 0; i < this.n; i++) { mx += x[i]; my += y[i]; if (z) mz += z[i]; }
    this.mid = this.n ? [mx / this.n, my / this.n, mz / this.n] : [0, 0, 0];
    this.recolor();
    this.resetView();
  }

  get is3D() { return !!this.z; }

  // drawn is how many points the current frame's layers hold (hidden noise
  // excluded; on-screen or not).
  get drawn() { return this.order ? this.order.length : 0; }

  select(ci) {
    this.selected = ci === null || ci === undefined ? -1 : ci;
    this.recolor();
    this.invalidate();
  }

  showNoise(on) {
    this.noiseShown = on;
    this.recolor();
    this.invalidate();
  }

  // recolor computes each point's colour and the drawing order: noise
  // first (underneath, grey), then the clusters, then the selected cluster
  // on top (the others faded).
  recolor() {
    const n = this.n, cls = this.cls;
    this.col = new Uint32Array(n);
    const sel = this.selected;
    const full = this.clusters.map((c) => abgr(c.color));
    const faded = this.clusters.map((c) => abgr(mix(c.color, 0.82)));
    const noise = abgr(sel >= 0 ? mix(NOISE, 0.6) : NOISE);
    const layers = [[], [], []];
    for (let i = 0; i < n; i++) {
      const c = cls[i];
      if (c < 0) {
        if (!this.noiseShown) continue;
        this.col[i] = noise;
        layers[0].push(i);
      } else if (sel < 0 || c === sel) {
        this.col[i] = full[c];
        layers[c === sel ? 2 : 1].push(i);
      } else {
        this.col[i] = faded[c];
        layers[1].push(i);
      }
    }
    this.order = Int32Array.from(layers[0].concat(layers[1], layers[2]));
  }

  resize() {
    const r = this.host.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(r.width * dpr)), hgt = Math.max(1, Math.round(r.height * dpr));
    if (w === this.base.width && hgt === this.base.height) return;
    for (const c of [this.base, this.over]) { c.width = w; c.height = hgt; }
    this.dpr = dpr;
    this.image = this.ctx.createImageData(w, hgt);
    this.buf = new Uint32Array(this.image.data.buffer);
    if (this.fitPending) this.resetView();
    this.invalidate();
  }

  // project maps a data point to view coordinates (before pan and zoom).
  rotation() {
    const {yaw, pitch} = this.view;
    const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
    // Rotate about the vertical axis by yaw, then about the horizontal by pitch.
    return [cy, 0, sy, sp * sy, cp, -sp * cy];
  }

  // resetView fits every point in the canvas with a margin.
  resetView() {
    const W = this.base.width, H = this.base.height;
    if (!this.n || W < 2 || H < 2) { this.fitPending = true; return; }
    this.fitPending = false;
    this.view.yaw = 0.6; this.view.pitch = 0.4;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    const r = this.rotation();
    for (let i = 0; i < this.n; i++) {
      const [u, v] = this.uv(i, r);
      if (u < x0) x0 = u; if (u > x1) x1 = u;
      if (v < y0) y0 = v; if (v > y1) y1 = v;
    }
    const dpr = this.dpr || 1;
    this.view.cx = (x0 + x1) / 2;
    this.view.cy = (y0 + y1) / 2;
    this.view.k = 0.9 * Math.min(W / Math.max(x1 - x0, 1e-9), H / Math.max(y1 - y0, 1e-9)) / dpr;
    this._fitK = this.view.k;
    this.invalidate();
  }

  uv(i, r) {
    if (!this.z) return [this.x[i], this.y[i]];
    const dx = this.x[i] - this.mid[0], dy = this.y[i] - this.mid[1], dz = this.z[i] - this.mid[2];
    return [r[0] * dx + r[1] * dy + r[2] * dz, r[3] * dx + r[4] * dy + r[5] * dz];
  }

  // toScreen maps view coordinates to device pixels.
  toScreen(u, v) {
    const W = this.base.width, H = this.base.height, k = this.view.k * this.dpr;
    return [(u - this.view.cx) * k + W / 2, H / 2 - (v - this.view.cy) * k];
  }

  invalidate() {
    if (this.dirty || this.destroyed) return;
    this.dirty = true;
    this.raf = requestAnimationFrame(() => { this.dirty = false; this.render(); });
  }

  render() {
    const t0 = performance.now();
    const W = this.base.width, H = this.base.height, buf = this.buf;
    buf.fill(BG);
    const k = this.view.k * this.dpr, ox = W / 2 - this.view.cx * k, oy = H / 2 + this.view.cy * k;
    const ps = Math.max(1, Math.round((this.n > 20000 ? 2 : this.n > 2000 ? 3 : 5) * this.dpr * Math.min(2, Math.max(1, Math.sqrt(this.view.k / this.fitK())))));
    const order = this.order, col = this.col, sx = this.sx, sy = this.sy;
    const x = this.x, y = this.y, z = this.z;
    const r = this.rotation(), [mx, my, mz] = this.mid;
    const maxX = W - ps, maxY = H - ps;
    let visible = 0;
    for (let j = 0; j < (order ? order.length : 0); j++) {
      const i = order[j];
      let u, v;
      if (z) {
        const dx = x[i] - mx, dy = y[i] - my, dz = z[i] - mz;
        u = r[0] * dx + r[1] * dy + r[2] * dz;
        v = r[3] * dx + r[4] * dy + r[5] * dz;
      } else { u = x[i]; v = y[i]; }
      const px = u * k + ox, py = oy - v * k;
      sx[i] = px; sy[i] = py;
      const xi = (px - ps / 2) | 0, yi = (py - ps / 2) | 0;
      if (xi < 0 || yi < 0 || xi > maxX || yi > maxY) continue;
      visible++;
      const c = col[i];
      let o = yi * W + xi;
      for (let a = 0; a < ps; a++, o += W) for (let b = 0; b < ps; b++) buf[o + b] = c;
    }
    this.ctx.putImageData(this.image, 0, 0);
    this.visible = visible;
    this.drawOverlay();
    this.frames++;
    this.renderMs.push(performance.now() - t0);
    if (this.renderMs.length > 2000) this.renderMs.splice(0, 1000);
    this.lastFrameAt = performance.now();
    if (!this.firstFrameAt) this.firstFrameAt = this.lastFrameAt;
    this.on.frame && this.on.frame(this);
  }

  // fitK is the zoom of the fitted view: points grow (up to twice) as one
  // zooms in past it.
  fitK() {
    return this._fitK || this.view.k;
  }

  drawOverlay() {
    const o = this.octx, dpr = this.dpr, W = this.over.width, H = this.over.height;
    o.clearRect(0, 0, W, H);
    const r = this.rotation();
    // Labels at the centroids, largest clusters first; a label that would
    // overlap one already placed is left out (the selected one never is).
    o.font = `${Math.round(12 * dpr)}px system-ui, sans-serif`;
    o.textAlign = 'center';
    o.textBaseline = 'middle';
    o.lineJoin = 'round';
    const placed = [];
    const idx = this.clusters.map((_, i) => i).filter((i) => this.clusters[i].count > 0 && this.clusters[i].x !== null);
    idx.sort((a, b) => (b === this.selected) - (a === this.selected) || this.clusters[b].count - this.clusters[a].count);
    for (const i of idx) {
      const c = this.clusters[i];
      let u = c.x, v = c.y;
      if (this.z && c.z !== null) {
        const dx = c.x - this.mid[0], dy = c.y - this.mid[1], dz = c.z - this.mid[2];
        u = r[0] * dx + r[1] * dy + r[2] * dz; v = r[3] * dx + r[4] * dy + r[5] * dz;
      }
      const [px, py] = this.toScreen(u, v);
      if (px < 0 || py < 0 || px > W || py > H) continue;
      const text = c.label.length > 40 ? c.label.slice(0, 39) + '…' : c.label;
      const w = o.measureText(text).width + 8 * dpr, hh = 16 * dpr;
      const box = [px - w / 2, py - hh / 2, px + w / 2, py + hh / 2];
      if (i !== this.selected && placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) continue;
      placed.push(box);
      o.font = `${i === this.selected ? 'bold ' : ''}${Math.round(12 * dpr)}px system-ui, sans-serif`;
      o.lineWidth = 4 * dpr;
      o.strokeStyle = 'rgba(255,255,255,0.92)';
      o.strokeText(text, px, py);
      o.fillStyle = this.selected >= 0 && i !== this.selected ? '#777' : '#1d2330';
      o.fillText(text, px, py);
    }
    if (this.hovered >= 0) {
      o.beginPath();
      o.arc(this.sx[this.hovered], this.sy[this.hovered], 6 * dpr, 0, 2 * Math.PI);
      o.lineWidth = 2 * dpr;
      o.strokeStyle = '#1d2330';
      o.stroke();
    }
  }

  // pick returns the drawn point nearest the event's position within 8
  // CSS pixels (the top-most on a tie), or -1.
  pick(ev) {
    const rect = this.over.getBoundingClientRect();
    const px = (ev.clientX - rect.left) * this.dpr, py = (ev.clientY - rect.top) * this.dpr;
    const rad = 8 * this.dpr;
    let best = -1, bd = rad * rad;
    const order = this.order, sx = this.sx, sy = this.sy;
    for (let j = 0; j < order.length; j++) {
      const i = order[j];
      const dx = sx[i] - px, dy = sy[i] - py, d = dx * dx + dy * dy;
      if (d <= bd) { bd = d; best = i; }
    }
    return best;
  }

  // screenPoint is where point i was drawn, in CSS pixels of the viewport.
  screenPoint(i) {
    const rect = this.over.getBoundingClientRect();
    return {x: rect.left + this.sx[i] / this.dpr, y: rect.top + this.sy[i] / this.dpr};
  }

  // stats reports frames drawn and draw times (ms) since mark().
  mark() {
    this.markAt = {frames: this.frames, t: performance.now(), ms: this.renderMs.length};
  }

  stats() {
    const m = this.markAt || {frames: 0, t: 0, ms: 0};
    const ms = this.renderMs.slice(m.ms).sort((a, b) => a - b);
    const end = this.lastFrameAt || performance.now();
    const frames = this.frames - m.frames;
    return {
      frames,
      seconds: (end - m.t) / 1000,
      fps: frames / Math.max((end - m.t) / 1000, 1e-9),
      draw_ms_mean: ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : 0,
      draw_ms_p95: ms.length ? ms[Math.min(ms.length - 1, Math.floor(0.95 * ms.length))] : 0,
      drawn: this.drawn,
      visible: this.visible,
      canvas: [this.base.width, this.base.height],
    };
  }

  // animate pans and zooms the view on every animation frame for ms
  // milliseconds (as a drag and the wheel would) and resolves with the
  // stats of those frames: how fast the browser draws this many points
  // when nothing else limits it.
  animate(ms) {
    return new Promise((resolve) => {
      this.mark();
      const t0 = performance.now(), k0 = this.view.k;
      const step = (now) => {
        const a = (now - t0) / 300;
        this.view.cx += Math.cos(a) * 4 / this.view.k;
        this.view.cy += Math.sin(a) * 4 / this.view.k;
        this.view.k = k0 * (1.5 + Math.sin(a / 2));
        this.render();
        if (now - t0 < ms && !this.destroyed) requestAnimationFrame(step);
        else { this.view.k = k0; this.resetView(); resolve(this.stats()); }
      };
      requestAnimationFrame(step);
    });
  }

  bindInput() {
    const el = this.over;
    let drag = null;
    el.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      el.setPointerCapture(e.pointerId);
      drag = {x: e.clientX, y: e.clientY, moved: false, shift: e.shiftKey};
    });
    el.addEventListener('pointermove', (e) => {
      if (drag) {
        const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        if (!drag.moved && dx * dx + dy * dy < 9) return;
        drag.moved = true;
        drag.x = e.clientX; drag.y = e.clientY;
        if (this.z && !drag.shift) {
          this.view.yaw += dx * 0.01;
          this.view.pitch = Math.max(-1.5, Math.min(1.5, this.view.pitch + dy * 0.01));
        } else {
          this.view.cx -= dx / this.view.k;
          this.view.cy += dy / this.view.k;
        }
        this.setHover(-1, e);
        this.invalidate();
        return;
      }
      this.setHover(this.pick(e), e);
    });
    const end = (e) => {
      if (!drag) return;
      const click = !drag.moved;
      drag = null;
      if (click && this.on.click) this.on.click(this.pick(e), e);
    };
    el.addEventListener('pointerup', end);
    el.addEventListener('pointercancel', () => { drag = null; });
    el.addEventListener('pointerleave', (e) => { if (!drag) this.setHover(-1, e); });
    el.addEventListener('wheel', (e) => {
      e.preventDefault();
      const rect = el.getBoundingClientRect();
      const mx = e.clientX - rect.left - rect.width / 2, my = e.clientY - rect.top - rect.height / 2;
      const f = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
      const k0 = this.view.k, k1 = Math.min(Math.max(k0 * f, 1e-6), 1e9);
      // Keep the point under the cursor where it is.
      this.view.cx += mx / k0 - mx / k1;
      this.view.cy -= my / k0 - my / k1;
      this.view.k = k1;
      this.invalidate();
    }, {passive: false});
  }

  setHover(i, e) {
    if (i === this.hovered) {
      if (i >= 0 && this.on.hover) this.on.hover(i, e);
      return;
    }
    this.hovered = i;
    this.invalidate();
    if (this.on.hover) this.on.hover(i, e);
  }
}
