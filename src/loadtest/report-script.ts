// The script inlined in the HTML report: it reads the embedded JSON and draws every chart as
// inline SVG (no network, no library). Plain browser JavaScript, kept as a string.
//
// Each phase gets a column; charts of the same kind share their y range across phases so the
// columns compare at a glance. Every chart is an <svg data-chart="KIND" data-phase="N">, every
// series a <path data-series="NAME">; a series with gaps (seconds without data) is several
// subpaths.
export const REPORT_SCRIPT = String.raw`
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var data = JSON.parse(document.getElementById('horde-data').textContent);
  var W = 560, H = 230, L = 60, R = 14, T = 28, B = 34;
  var COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var key in attrs) node.setAttribute(key, String(attrs[key]));
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, content, attrs) {
    var node = el('text', Object.assign({ x: x, y: y, 'font-size': 11, fill: '#333' }, attrs || {}), parent);
    node.textContent = content;
    return node;
  }
  function fmt(v) {
    if (v === 0) return '0';
    var a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
    if (a >= 1e3) return (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + 'k';
    if (a >= 10) return v.toFixed(0);
    if (a >= 1) return v.toFixed(1);
    return v.toPrecision(2);
  }

  // Series of one phase for one chart kind: [{name, points: [[x, y|null], ...]}].
  var KINDS = [
    { id: 'latency', title: 'Latency of completed requests (ms, log scale)', log: true, series: function (p) {
      return [['p50', 'p50Ms'], ['p99', 'p99Ms'], ['p99.9', 'p999Ms'], ['max', 'maxMs']].map(function (s) {
        return { name: s[0], points: p.seconds.map(function (x) { return [x.second, x.latency ? x.latency[s[1]] : null]; }) };
      });
    } },
    { id: 'rates', title: 'Requests per second: offered, admitted, shed, completed', series: function (p) {
      return ['offered', 'admitted', 'shed', 'completed'].map(function (k) {
        return { name: k, points: p.seconds.map(function (x) { return [x.second, x[k]]; }) };
      });
    } },
    { id: 'throttle', title: 'Throttle state (share of gateways throttled)', step: true, fixed: [0, 1], series: function (p) {
      return [{ name: 'throttled', points: p.seconds.map(function (x) { return [x.second, x.throttledFraction]; }) }];
    } },
    { id: 'canary', title: 'Canary p99 (ms; dashed: 2x idle p99)', series: function (p) {
      var s = [{ name: 'canary p99', points: p.seconds.map(function (x) { return [x.second, x.canaryP99Ms]; }) }];
      if (p.idleCanaryP99Ms !== null) {
        var last = p.seconds.length ? p.seconds.length - 1 : 0;
        s.push({ name: '2x idle', dashed: true, points: [[0, 2 * p.idleCanaryP99Ms], [last, 2 * p.idleCanaryP99Ms]] });
      }
      return s;
    } },
    { id: 'loop', title: 'Event-loop delay p99 per node (ms)', series: function (p) { return perNode(p, function (n) { return n.eventLoopDelayP99Ms; }); } },
    { id: 'memory', title: 'Memory per node (RSS, MiB)', series: function (p) { return perNode(p, function (n) { return n.rssBytes / 1048576; }); } },
  ];

  function perNode(phase, pick) {
    var names = [];
    phase.seconds.forEach(function (x) { x.nodes.forEach(function (n) { if (names.indexOf(n.name) < 0) names.push(n.name); }); });
    return names.map(function (name) {
      return { name: name, points: phase.seconds.map(function (x) {
        var n = x.nodes.filter(function (m) { return m.name === name; })[0];
        return [x.second, n ? pick(n) : null];
      }) };
    });
  }

  // [low, high, tick step]: log charts span whole decades, linear ones end on a 1-2-5 tick.
  function domain(kind, seriesByPhase) {
    if (kind.fixed) return [kind.fixed[0], kind.fixed[1], (kind.fixed[1] - kind.fixed[0]) / 4];
    var lo = Infinity, hi = -Infinity;
    seriesByPhase.forEach(function (series) { series.forEach(function (s) { s.points.forEach(function (pt) {
      var y = pt[1];
      if (y === null || !isFinite(y) || (kind.log && y <= 0)) return;
      lo = Math.min(lo, y); hi = Math.max(hi, y);
    }); }); });
    if (kind.log) {
      if (hi === -Infinity) return [0.1, 1, 10];
      return [Math.pow(10, Math.floor(Math.log10(lo))), Math.pow(10, Math.ceil(Math.log10(hi * 1.0001))), 10];
    }
    if (!(hi > 0)) return [0, 1, 0.25];
    var raw = hi / 4, magnitude = Math.pow(10, Math.floor(Math.log10(raw))), step = magnitude;
    [1, 2, 2.5, 5, 10].some(function (m) { step = m * magnitude; return step >= raw; });
    return [0, Math.ceil((hi * 1.0001) / step) * step, step];
  }

  function draw(parent, kind, series, yDomain, xMax, phaseIndex) {
    var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, 'data-chart': kind.id, 'data-phase': phaseIndex, role: 'img' }, parent);
    text(svg, L, 16, kind.title, { 'font-size': 12, 'font-weight': 'bold' });
    var pw = W - L - R, ph = H - T - B;
    function sx(x) { return L + (xMax > 0 ? (x / xMax) * pw : 0); }
    function sy(y) {
      var lo = yDomain[0], hi = yDomain[1], f;
      if (kind.log) { y = Math.max(y, lo); f = (Math.log10(y) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)); }
      else f = (y - lo) / (hi - lo || 1);
      return T + ph - Math.min(1, Math.max(0, f)) * ph;
    }
    el('rect', { x: L, y: T, width: pw, height: ph, fill: '#fafafa', stroke: '#ccc' }, svg);
    var ticks = [];
    if (kind.log) { for (var d = yDomain[0]; d <= yDomain[1] * 1.0001; d *= 10) ticks.push(d); }
    else { for (var t = yDomain[0]; t <= yDomain[1] + yDomain[2] / 1000; t += yDomain[2]) ticks.push(t); }
    ticks.forEach(function (t) {
      el('line', { x1: L, x2: L + pw, y1: sy(t), y2: sy(t), stroke: '#e4e4e4' }, svg);
      text(svg, L - 6, sy(t) + 4, fmt(t), { 'text-anchor': 'end' });
    });
    var xStep = Math.max(1, Math.ceil(xMax / 8));
    for (var x = 0; x <= xMax; x += xStep) text(svg, sx(x), T + ph + 14, String(x), { 'text-anchor': 'middle' });
    text(svg, L + pw / 2, H - 4, 'seconds', { 'text-anchor': 'middle', fill: '#666' });
    series.forEach(function (s, index) {
      var color = COLORS[index % COLORS.length], d = '', open = false, count = 0, prevY = null;
      s.points.forEach(function (pt) {
        if (pt[1] === null || !isFinite(pt[1])) { open = false; return; }
        var px = sx(pt[0]).toFixed(1), py = sy(pt[1]).toFixed(1);
        if (!open) d += 'M' + px + ' ' + py;
        else if (kind.step) d += 'H' + px + 'V' + py;
        else d += 'L' + px + ' ' + py;
        open = true; count++; prevY = py;
      });
      if (count === 1 && prevY !== null) d += 'h2';
      var path = el('path', { d: d, fill: 'none', stroke: color, 'stroke-width': 1.6, 'data-series': s.name, 'data-points': count }, svg);
      if (s.dashed) path.setAttribute('stroke-dasharray', '5 4');
      var lx = L + 8 + index * 86;
      el('rect', { x: lx, y: T + 5, width: 10, height: 3, fill: color }, svg);
      text(svg, lx + 14, T + 10, s.name, { 'font-size': 10 });
    });
  }

  var root = document.getElementById('charts');
  var columns = data.phases.map(function (phase, index) {
    var column = document.createElement('div');
    column.className = 'phase';
    var title = document.createElement('h2');
    title.textContent = phase.name;
    column.appendChild(title);
    root.appendChild(column);
    return column;
  });
  KINDS.forEach(function (kind) {
    var seriesByPhase = data.phases.map(function (p) { return kind.series(p); });
    var yDomain = domain(kind, seriesByPhase);
    var xMax = Math.max.apply(null, data.phases.map(function (p) { return Math.max(1, p.seconds.length - 1); }));
    data.phases.forEach(function (phase, index) { draw(columns[index], kind, seriesByPhase[index], yDomain, xMax, index); });
  });
  document.body.setAttribute('data-drawn', 'true');
})();
`;
