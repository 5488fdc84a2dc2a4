// report.js: the circuit viewer (inlined into report.html by circ).
//
// Reads the circuit.json inlined in <script id="circuit"> and draws, with no
// library and no network: the graph in bands (layer x node location, bottom
// to top; x order by barycentre sweeps, so the picture is deterministic), a
// details panel per node, the loss-vs-kept-nodes curve, the audit table and
// the summary. Sets body[data-ready="1"] when everything is drawn.
(function () {
  'use strict';

  const SVG = 'http://www.w3.org/2000/svg';
  const data = JSON.parse(document.getElementById('circuit').textContent);
  const meta = data.metadata;
  const extra = data.circ || {};
  const nLayer = meta.config.n_layer;

  // ---------------------------------------------------------------- helpers
  function svg(tag, attrs, parent) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(tag, attrs, parent, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(x, digits) {
    if (x === null || x === undefined || Number.isNaN(x)) return '–';
    if (typeof x !== 'number') return String(x);
    if (Number.isInteger(x)) return x.toLocaleString('en-US');
    const a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
    return x.toFixed(digits === undefined ? 4 : digits);
  }
  function showToken(t) {
    return t.replace(/\n/g, '↵\n').replace(/\t/g, '→');
  }
  function heat(v, max) {
    const a = max > 0 ? Math.min(1, Math.abs(v) / max) : 0;
    return v >= 0 ? 'rgba(214,39,40,' + (0.85 * a).toFixed(3) + ')'
                  : 'rgba(31,119,180,' + (0.85 * a).toFixed(3) + ')';
  }

  // ------------------------------------------------------------ graph model
  const LOCS = ['attn_in', 'attn_qkv', 'attn_out', 'mlp_in', 'mlp_neuron', 'mlp_out'];
  const ROW_NAMES = {attn_in: 'attn in', attn_qkv: 'q · k · v', attn_out: 'attn out',
                     mlp_in: 'mlp in', mlp_neuron: 'neurons', mlp_out: 'mlp out'};
  const SITE_COLOUR = {attn_in: '#5b8def', attn_q: '#8e5bd6', attn_k: '#c04fb5', attn_v: '#2aa198',
                       attn_out: '#3c6fd8', mlp_in: '#e08a1e', mlp_neuron: '#d95f02', mlp_out: '#b8860b',
                       embedding: '#7a7a7a', logit: '#333333'};
  const QKV = {attn_q: 0, attn_k: 1, attn_v: 2};

  const nodes = data.nodes;
  const byId = new Map(nodes.map(n => [n.node_id, n]));
  const links = data.links.filter(l => byId.has(l.source) && byId.has(l.target));
  for (const n of nodes) { n._in = []; n._out = []; }
  for (const l of links) { byId.get(l.source)._out.push(l); byId.get(l.target)._in.push(l); }

  function rowKey(n) {
    if (n.feature_type === 'embedding') return 'E';
    if (n.feature_type === 'logit') return 'U';
    const loc = n.feature_type in QKV ? 'attn_qkv' : n.feature_type;
    return n.layer_index + '.' + loc;
  }
  const rowOrder = ['E'];
  for (let l = 0; l < nLayer; ++l) for (const loc of LOCS) rowOrder.push(l + '.' + loc);
  rowOrder.push('U');

  const maxWeight = Math.max(1e-12, ...links.filter(l => l.kind !== 'residual').map(l => Math.abs(l.weight)));
  const importances = nodes.map(n => Math.abs(n.importance || 0));
  const maxImportance = Math.max(0, ...importances);

  const state = {
    threshold: 0,
    residual: links.filter(l => l.kind === 'residual').length <= 300,
    embed: nodes.filter(n => n.feature_type === 'embedding').length <= 60,
    selected: null,
  };

  function visible(n) { return state.embed || n.feature_type !== 'embedding'; }

  // ----------------------------------------------------------------- layout
  const ROW_H = 48, LEFT = 96, TOP = 24, NODE_R = 6;
  let layout = null;

  function computeLayout() {
    const rows = new Map();
    for (const n of nodes) {
      if (!visible(n)) continue;
      const k = rowKey(n);
      if (!rows.has(k)) rows.set(k, []);
      rows.get(k).push(n);
    }
    const keys = rowOrder.filter(k => rows.has(k));
    const pos = new Map(); // node id -> position within its row, normalised 0..1
    const orderKey = n => [n.head === null ? 0 : n.head, QKV[n.feature_type] || 0];
    for (const k of keys) {
      const list = rows.get(k);
      list.sort((a, b) => {
        const ka = orderKey(a), kb = orderKey(b);
        return ka[0] - kb[0] || ka[1] - kb[1] || a.feature - b.feature;
      });
      list.forEach((n, i) => pos.set(n.node_id, (i + 0.5) / list.length));
    }
    // Barycentre sweeps: up with links from below, down with links from above.
    const sweep = (rowKeys, neighbours) => {
      for (const k of rowKeys) {
        const list = rows.get(k);
        const bary = new Map();
        for (const n of list) {
          const ps = neighbours(n).filter(id => pos.has(id)).map(id => pos.get(id));
          bary.set(n.node_id, ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : pos.get(n.node_id));
        }
        list.sort((a, b) => {
          const ka = orderKey(a), kb = orderKey(b);
          // q/k/v stay grouped by head, in q, k, v order.
          if (k.endsWith('attn_qkv') && (ka[0] !== kb[0] || ka[1] !== kb[1])) return ka[0] - kb[0] || ka[1] - kb[1];
          return bary.get(a.node_id) - bary.get(b.node_id) || a.feature - b.feature;
        });
        list.forEach((n, i) => pos.set(n.node_id, (i + 0.5) / list.length));
      }
    };
    const below = n => n._in.map(l => l.source);
    const above = n => n._out.map(l => l.target);
    for (let it = 0; it < 2; ++it) {
      sweep(keys.slice(1), below);
      sweep(keys.slice(0, -1).reverse(), above);
    }
    sweep(keys.slice(1), below);

    const widest = Math.max(1, ...keys.map(k => rows.get(k).length));
    const spacing = Math.max(18, Math.min(64, 1100 / widest));
    const width = Math.max(900, LEFT + widest * spacing + 60);
    const height = TOP * 2 + keys.length * ROW_H;
    const xy = new Map();
    keys.forEach((k, r) => {
      const list = rows.get(k);
      const y = TOP + (keys.length - 1 - r) * ROW_H + ROW_H / 2;
      let gaps = 0;
      for (let i = 1; i < list.length; ++i) if (list[i].head !== list[i - 1].head) ++gaps;
      const span = list.length * spacing + gaps * spacing * 0.6;
      let x = LEFT + (width - LEFT - span) / 2 + spacing / 2;
      list.forEach((n, i) => {
        if (i > 0 && n.head !== list[i - 1].head) x += spacing * 0.6;
        xy.set(n.node_id, {x: x, y: y});
        x += spacing;
      });
    });
    layout = {rows: rows, keys: keys, xy: xy, width: width, height: height};
  }

  // ------------------------------------------------------------------ graph
  let svgRoot = null;
  const nodeEls = new Map();
  const edgeEls = [];

  function drawGraph() {
    computeLayout();
    const box = document.getElementById('graph');
    box.textContent = '';
    nodeEls.clear();
    edgeEls.length = 0;
    svgRoot = svg('svg', {width: layout.width, height: layout.height, id: 'graph-svg',
                          viewBox: '0 0 ' + layout.width + ' ' + layout.height}, box);
    svgRoot.addEventListener('click', e => { if (e.target === svgRoot || e.target.classList.contains('layer-band')) select(null); });
    // Layer bands and row labels.
    const bands = svg('g', {class: 'bands'}, svgRoot);
    layout.keys.forEach((k, r) => {
      const y = TOP + (layout.keys.length - 1 - r) * ROW_H;
      const layer = k === 'E' || k === 'U' ? -1 : parseInt(k, 10);
      if (layer >= 0 && layer % 2 === 0)
        svg('rect', {class: 'layer-band', x: 0, y: y, width: layout.width, height: ROW_H}, bands);
      let label = k === 'E' ? 'embedding' : k === 'U' ? 'logits' : 'L' + layer + ' ' + ROW_NAMES[k.slice(k.indexOf('.') + 1)];
      const t = svg('text', {class: 'row-label', x: 8, y: y + ROW_H / 2 + 4}, bands);
      t.textContent = label;
      if (k.endsWith('attn_qkv')) {
        const heads = new Map();
        for (const n of layout.rows.get(k)) {
          const p = layout.xy.get(n.node_id);
          const h = heads.get(n.head) || {min: Infinity, max: -Infinity};
          h.min = Math.min(h.min, p.x); h.max = Math.max(h.max, p.x);
          heads.set(n.head, h);
        }
        for (const [head, h] of heads) {
          const ht = svg('text', {class: 'head-label', x: (h.min + h.max) / 2, y: y + ROW_H - 4, 'text-anchor': 'middle'}, bands);
          ht.textContent = 'head ' + head;
        }
      }
    });
    // Edges below nodes.
    const edges = svg('g', {class: 'edges'}, svgRoot);
    for (const l of links) {
      const a = layout.xy.get(l.source), b = layout.xy.get(l.target);
      if (!a || !b) continue;
      const my = (a.y + b.y) / 2;
      const p = svg('path', {d: 'M' + a.x + ',' + a.y + ' C' + a.x + ',' + my + ' ' + b.x + ',' + my + ' ' + b.x + ',' + b.y}, edges);
      const t = Math.abs(l.weight) / maxWeight;
      if (l.kind === 'residual') {
        p.setAttribute('class', 'edge residual');
        p.setAttribute('stroke-width', 0.8);
        p.setAttribute('opacity', 0.45);
      } else {
        p.setAttribute('class', 'edge');
        p.setAttribute('stroke', l.weight >= 0 ? '#d62728' : '#1f77b4');
        p.setAttribute('stroke-width', (0.6 + 3.4 * t).toFixed(2));
        p.setAttribute('opacity', (0.25 + 0.65 * t).toFixed(3));
      }
      const title = svg('title', {}, p);
      title.textContent = l.source + ' → ' + l.target + '  ' + l.kind + ' ' + fmt(l.weight);
      edgeEls.push({el: p, link: l});
    }
    // Nodes.
    const layer = svg('g', {class: 'nodes'}, svgRoot);
    for (const k of layout.keys) for (const n of layout.rows.get(k)) {
      const p = layout.xy.get(n.node_id);
      const g = svg('g', {class: 'node', 'data-id': n.node_id, transform: 'translate(' + p.x + ',' + p.y + ')'}, layer);
      const imp = n.importance === null || n.importance === undefined || maxImportance === 0 ? 0
                  : Math.abs(n.importance) / maxImportance;
      const fill = 'rgb(255,' + Math.round(255 - imp * 115) + ',' + Math.round(255 - imp * 255) + ')';
      const stroke = SITE_COLOUR[n.feature_type] || '#555';
      let shape;
      if (n.feature_type === 'embedding' || n.feature_type === 'logit') {
        const label = showToken(n.token || ('#' + n.feature)).replace(/\n/g, '');
        const w = Math.min(70, 8 + 6 * label.length);
        shape = svg('rect', {x: -w / 2, y: -9, width: w, height: 18, rx: 4, fill: '#f1f1f1'}, g);
        const t = svg('text', {'text-anchor': 'middle', y: 3}, g);
        t.textContent = label.length > 10 ? label.slice(0, 9) + '…' : label;
      } else if (n.feature_type === 'attn_k') {
        shape = svg('rect', {x: -NODE_R, y: -NODE_R, width: 2 * NODE_R, height: 2 * NODE_R, transform: 'rotate(45)', fill: fill}, g);
      } else if (n.feature_type === 'attn_v') {
        shape = svg('rect', {x: -NODE_R, y: -NODE_R, width: 2 * NODE_R, height: 2 * NODE_R, fill: fill}, g);
      } else {
        shape = svg('circle', {r: NODE_R + (n.feature_type === 'mlp_neuron' ? 1 : 0), fill: fill}, g);
      }
      shape.setAttribute('class', 'shape');
      shape.setAttribute('stroke', stroke);
      const title = svg('title', {}, g);
      title.textContent = n.node_id + (n.viz_name && n.viz_name !== n.node_id ? ' (' + n.viz_name + ')' : '') +
        (n.importance !== undefined && n.importance !== null ? '\nimportance ' + fmt(n.importance) : '') +
        (n.clerp ? '\n' + n.clerp : '');
      g.addEventListener('click', e => { e.stopPropagation(); select(n.node_id); });
      nodeEls.set(n.node_id, g);
    }
    applyFilters();
    if (state.selected) select(state.selected);
  }

  function applyFilters() {
    const cut = state.threshold * maxWeight;
    for (const {el, link} of edgeEls) {
      const hide = link.kind === 'residual' ? !state.residual : Math.abs(link.weight) < cut;
      el.style.display = hide ? 'none' : '';
    }
  }

  // ---------------------------------------------------------------- details
  function samplesBlock(parent, title, samples) {
    html('h3', {}, parent, title);
    if (!samples || !samples.length) { html('p', {class: 'hint'}, parent, 'None recorded.'); return; }
    const max = Math.max(0, ...samples.map(s => Math.max(0, ...s.values.map(Math.abs))));
    for (const s of samples) {
      const box = html('div', {class: 'sample'}, parent);
      html('div', {class: 'tag'}, box, s.label);
      const line = html('div', {class: 'tokens'}, box);
      s.tokens.forEach((t, i) => {
        const span = html('span', {class: 'tok', title: fmt(s.values[i])}, line, showToken(t));
        span.style.background = heat(s.values[i], max);
      });
    }
  }

  function connections(parent, title, list, endpoint) {
    html('h3', {}, parent, title + ' (' + list.length + ')');
    if (!list.length) return;
    const ul = html('ul', {class: 'conn'}, parent);
    const sorted = list.slice().sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight));
    for (const l of sorted.slice(0, 24)) {
      const li = html('li', {}, ul);
      const a = html('a', {}, li, l[endpoint] + (l.kind === 'residual' ? ' (residual)' : ''));
      a.addEventListener('click', () => select(l[endpoint]));
      html('span', {class: l.weight >= 0 ? 'w-pos' : 'w-neg'}, li, l.kind === 'residual' ? '' : fmt(l.weight));
    }
    if (sorted.length > 24) html('p', {class: 'sub'}, parent, '… and ' + (sorted.length - 24) + ' more');
  }

  function showDetails(n) {
    const box = document.getElementById('details');
    box.textContent = '';
    if (!n) {
      html('p', {class: 'hint'}, box, 'Click a node to see its activations on the task prompts and its top pretraining snippets.');
      return;
    }
    html('h2', {id: 'details-id'}, box, n.node_id);
    const bits = [n.viz_name, n.feature_type, 'layer ' + n.layer];
    if (n.head !== null && n.head !== undefined) bits.push('head ' + n.head);
    if (n.token !== undefined) bits.push('token ' + JSON.stringify(n.token));
    html('div', {class: 'sub'}, box, bits.join(' · '));
    const tbl = html('table', {class: 'kv'}, box);
    const row = (k, v) => { const tr = html('tr', {}, tbl); html('td', {}, tr, k); html('td', {class: 'num'}, tr, fmt(v)); };
    if (n.feature_type !== 'embedding' && n.feature_type !== 'logit') {
      row('importance (Δ loss when ablated)', n.importance);
      row('mean activation on task', n.activation);
      row('ablation value (pretraining mean)', n.mean_activation);
    }
    html('h3', {}, box, 'Label');
    const input = html('input', {class: 'label', type: 'text', placeholder: 'describe what this node does'}, box);
    input.value = n.clerp || '';
    input.addEventListener('input', () => { n.clerp = input.value; });
    if (n.feature_type !== 'embedding' && n.feature_type !== 'logit') {
      samplesBlock(box, 'Activations on task prompts', n.task_samples);
      samplesBlock(box, 'Top pretraining snippets', n.top_snippets);
    }
    connections(box, 'Inputs', n._in, 'source');
    connections(box, 'Outputs', n._out, 'target');
  }

  function select(id) {
    const n = id ? byId.get(id) : null;
    state.selected = n ? id : null;
    for (const g of nodeEls.values()) g.classList.remove('selected', 'near');
    for (const {el} of edgeEls) el.classList.remove('hl');
    if (svgRoot) svgRoot.classList.toggle('has-selection', !!n);
    if (n) {
      const g = nodeEls.get(id);
      if (g) g.classList.add('selected');
      for (const {el, link} of edgeEls) {
        if (link.source === id || link.target === id) {
          el.classList.add('hl');
          const other = nodeEls.get(link.source === id ? link.target : link.source);
          if (other) other.classList.add('near');
        }
      }
    }
    showDetails(n);
    try { history.replaceState(null, '', n ? '#node=' + encodeURIComponent(id) : '#'); } catch (e) { /* file:// may refuse */ }
  }

  // ----------------------------------------------------------------- curve
  function drawCurve() {
    const box = document.getElementById('curve');
    const pts = (extra.loss_curve || []).slice().sort((a, b) => a.kept_nodes - b.kept_nodes);
    if (!pts.length) { html('p', {class: 'hint'}, box, 'No loss curve was recorded.'); return; }
    const W = 520, H = 270, M = {l: 58, r: 16, t: 12, b: 40};
    const s = svg('svg', {width: W, height: H, id: 'curve-svg'}, box);
    const xs = pts.map(p => p.kept_nodes), ys = pts.map(p => p.loss).concat([meta.target_loss]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs);
    const positive = ys.every(y => y > 0);
    const ymin = Math.min(...ys), ymax = Math.max(...ys);
    const logY = positive && ymax / ymin > 20;
    const fy = logY ? Math.log10 : (v => v);
    const y0 = logY ? fy(ymin) : Math.min(0, ymin), y1 = fy(ymax) === y0 ? y0 + 1 : fy(ymax);
    const X = v => M.l + (x1 === x0 ? 0.5 : (v - x0) / (x1 - x0)) * (W - M.l - M.r);
    const Y = v => H - M.b - (fy(v) - y0) / (y1 - y0) * (H - M.t - M.b);
    const ax = svg('g', {class: 'axis'}, s);
    svg('line', {x1: M.l, y1: H - M.b, x2: W - M.r, y2: H - M.b}, ax);
    svg('line', {x1: M.l, y1: M.t, x2: M.l, y2: H - M.b}, ax);
    for (let i = 0; i <= 4; ++i) {
      const xv = x0 + (x1 - x0) * i / 4;
      const t = svg('text', {x: X(xv), y: H - M.b + 14, 'text-anchor': 'middle'}, ax);
      t.textContent = fmt(Math.round(xv));
      const yv = logY ? Math.pow(10, y0 + (y1 - y0) * i / 4) : y0 + (y1 - y0) * i / 4;
      const u = svg('text', {x: M.l - 6, y: Y(yv) + 3, 'text-anchor': 'end'}, ax);
      u.textContent = fmt(yv, 3);
    }
    const xl = svg('text', {x: (M.l + W - M.r) / 2, y: H - 6, 'text-anchor': 'middle'}, ax);
    xl.textContent = 'kept nodes';
    const yl = svg('text', {x: 12, y: (M.t + H - M.b) / 2, transform: 'rotate(-90 12 ' + (M.t + H - M.b) / 2 + ')', 'text-anchor': 'middle'}, ax);
    yl.textContent = 'task loss' + (logY ? ' (log)' : '');
    svg('line', {class: 'target-line', x1: M.l, x2: W - M.r, y1: Y(meta.target_loss), y2: Y(meta.target_loss)}, s);
    if (meta.node_count >= x0 && meta.node_count <= x1)
      svg('line', {class: 'chosen-line', x1: X(meta.node_count), x2: X(meta.node_count), y1: M.t, y2: H - M.b}, s);
    svg('path', {class: 'curve-line', d: pts.map((p, i) => (i ? 'L' : 'M') + X(p.kept_nodes) + ',' + Y(p.loss)).join(' ')}, s);
    for (const p of pts) {
      const c = svg('circle', {class: 'curve-dot', cx: X(p.kept_nodes), cy: Y(p.loss), r: 3}, s);
      svg('title', {}, c).textContent = p.kept_nodes + ' nodes: loss ' + fmt(p.loss);
    }
    html('p', {class: 'sub'}, box, 'Dashed red: target loss ' + fmt(meta.target_loss) + '; dotted: the circuit (' + meta.node_count + ' nodes).');
  }

  // ----------------------------------------------------------------- tables
  function drawAudit() {
    const box = document.getElementById('audit');
    const rows = extra.audit || [];
    if (!rows.length) { html('p', {class: 'hint'}, box, 'No audit was run.'); return; }
    const t = html('table', {id: 'audit-table'}, box);
    const head = html('tr', {}, t);
    for (const c of ['Check', 'What it measures', 'Value', 'Reference', 'Verdict']) html('th', {}, head, c);
    for (const r of rows) {
      const tr = html('tr', {}, t);
      html('td', {}, tr, r.check);
      html('td', {}, tr, r.description);
      html('td', {class: 'num'}, tr, fmt(r.value));
      html('td', {class: 'num'}, tr, fmt(r.reference));
      html('td', {class: 'verdict-' + r.verdict}, tr, r.verdict);
    }
  }

  function drawSummary() {
    const ec = meta.edge_counts;
    document.getElementById('title').textContent = meta.task + ' · ' + meta.model;
    document.getElementById('subtitle').textContent = meta.task_description;
    const headline = document.getElementById('headline');
    const stat = (v, label) => { const d = html('div', {}, headline); html('b', {}, d, fmt(v)); html('span', {}, d, label); };
    stat(meta.node_count, 'nodes');
    stat(ec.total, 'edges');
    if (extra.losses && extra.losses.circuit !== undefined) stat(extra.losses.circuit, 'circuit loss');
    const box = document.getElementById('summary');
    const kv = html('table', {class: 'kv'}, box);
    const row = (k, v) => { const tr = html('tr', {}, kv); html('td', {}, tr, k); html('td', {}, tr, v); };
    row('model', meta.model + ' (' + nLayer + ' layers, d_model ' + meta.config.d_model + ', d_mlp ' + meta.config.d_mlp + ')');
    row('task', meta.task);
    row('target loss', fmt(meta.target_loss));
    row('ablation', meta.ablation);
    for (const k in (extra.losses || {})) row('loss: ' + k, fmt(extra.losses[k]));
    row('edges (block matrices)', fmt(ec.total));
    row('embedding / unembedding edges', fmt(ec.embed) + ' / ' + fmt(ec.unembed));
    row('residual links (not counted)', fmt(ec.residual_links));
    if (meta.links_truncated) row('links drawn', 'the ' + fmt(data.links.length) + ' strongest');
    const per = html('table', {}, box);
    const h = html('tr', {}, per);
    for (const c of ['layer', 'q', 'k', 'v', 'attn proj', 'mlp fc', 'mlp proj']) html('th', {}, h, c);
    for (const l of ec.per_layer) {
      const tr = html('tr', {}, per);
      for (const v of [l.layer, l.q, l.k, l.v, l.attn_proj, l.mlp_fc, l.mlp_proj]) html('td', {class: 'num'}, tr, fmt(v));
    }
  }

  function drawExamples() {
    const box = document.getElementById('examples');
    const ex = extra.examples || [];
    if (!ex.length) { html('p', {class: 'hint'}, box, 'No examples recorded.'); return; }
    for (const e of ex.slice(0, 4)) {
      for (const [p, c, tag] of [[e.prompt_a, e.completion_a, 'A'], [e.prompt_b, e.completion_b, 'B']]) {
        const pre = html('pre', {class: 'example'}, box, tag + ': ' + p);
        html('b', {}, pre, showToken(c));
      }
    }
  }

  // --------------------------------------------------------------- controls
  function setupControls() {
    const th = document.getElementById('threshold');
    th.addEventListener('input', () => {
      state.threshold = th.value / 100;
      document.getElementById('threshold-value').textContent = th.value + '%';
      applyFilters();
    });
    const res = document.getElementById('show-residual');
    res.checked = state.residual;
    res.addEventListener('change', () => { state.residual = res.checked; applyFilters(); });
    const emb = document.getElementById('show-embed');
    emb.checked = state.embed;
    emb.addEventListener('change', () => { state.embed = emb.checked; drawGraph(); });
    const legend = document.getElementById('legend');
    legend.innerHTML = '';
    for (const [c, t] of [['#d62728', 'positive'], ['#1f77b4', 'negative']]) {
      const i = html('i', {}, legend); i.style.background = c;
      legend.appendChild(document.createTextNode(t));
    }
    html('span', {}, legend, ' · ○ channel  ◇ key  □ value');
    document.getElementById('download').addEventListener('click', () => {
      const clean = JSON.parse(JSON.stringify(data, (k, v) => k.startsWith('_') ? undefined : v));
      const a = document.createElement('a');
      a.href = 'data:application/json;charset=utf-8,' + encodeURIComponent(JSON.stringify(clean, null, 1));
      a.download = 'circuit.json';
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
  }

  drawSummary();
  setupControls();
  drawGraph();
  drawCurve();
  drawAudit();
  drawExamples();
  const m = /^#node=(.+)$/.exec(location.hash);
  if (m && byId.has(decodeURIComponent(m[1]))) select(decodeURIComponent(m[1]));
  document.body.setAttribute('data-ready', '1');
})();
