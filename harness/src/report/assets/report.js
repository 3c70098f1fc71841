// secretbench run report: draws the page from the JSON in #report-data. No libraries, no
// network; every chart is SVG made here. The schema is docs/report.md.
'use strict';
(function () {
  const began = performance.now();
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const report = data.report;
  const history = data.history || [];
  const app = document.getElementById('app');
  const SVG = 'http://www.w3.org/2000/svg';

  // ---- small helpers -------------------------------------------------------------------
  function put(el, attrs, kids) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === undefined || kid === null || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }
  const h = (tag, attrs, ...kids) => put(document.createElement(tag), attrs, kids);
  const s = (tag, attrs, ...kids) => put(document.createElementNS(SVG, tag), attrs, kids);
  const tip = (text) => s('title', {}, text);
  const ms = (iso) => Date.parse(iso);
  const median = (xs) => {
    if (!xs.length) return null;
    const v = [...xs].sort((a, b) => a - b);
    const m = v.length >> 1;
    return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  };
  function fmtMs(x) {
    if (x === null || x === undefined) return '–';
    if (x === 0) return '0 s';
    if (x < 1000) return `${Math.round(x)} ms`;
    if (x < 60000) return `${(x / 1000).toFixed(1)} s`;
    return `${Math.floor(x / 60000)} min ${Math.round((x % 60000) / 1000)} s`;
  }
  const fmtAt = (iso) => new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const rel = (x, t0) => `+${((x - t0) / 1000).toFixed(3)} s`;
  function niceStep(raw) {
    const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }
  const VERDICT = {
    passed: 'pass', failed: 'fail', stillReproduces: 'repro', noLongerReproduces: 'fixed', inconclusive: 'unknown', skipped: 'skip',
  };
  const COLORS = { aws: '#d97706', azure: '#2563eb', vault: '#7c3aed' };
  const color = (p) => COLORS[p] || '#57606a';
  function seenText(v) {
    if (!v) return '–';
    if (v.kind === 'absent') return 'absent';
    if (v.kind === 'text') return v.text;
    return `sha256 ${v.sha256}… ${v.bytes} B${v.mode ? `, mode ${v.mode}` : ''}`;
  }
  const verdictLabel = {};
  for (const c of report.cases) verdictLabel[c.verdict] = c.verdictLabel;

  // ---- header --------------------------------------------------------------------------
  const run = report.run;
  const sum = report.summary;
  app.append(h('header', {},
    h('h1', {}, 'secretbench run'),
    h('p', { class: 'meta' },
      `${fmtAt(run.startedAt)} · backend ${run.backend} · driver ${run.driver || '?'} · `,
      Object.entries(run.providers).map(([p, v]) => `${p} provider ${v || '?'}`).join(' · '),
      ` · rotation poll interval ${fmtMs(run.rotationIntervalMs)} · ${report.generator}`),
    h('div', { class: 'badges', id: 'totals' },
      h('span', { class: 'badge pass' }, `${sum.passed} passed`),
      h('span', { class: 'badge fail' }, `${sum.failed} failed`),
      h('span', { class: 'badge repro' }, `${sum.stillReproduces} still reproduce`),
      h('span', { class: 'badge fixed' }, `${sum.noLongerReproduces} no longer reproduce`),
      // Reports written before inconclusive verdicts existed have no count.
      h('span', { class: 'badge unknown' }, `${sum.inconclusive || 0} inconclusive`),
      h('span', { class: 'badge skip' }, `${sum.skipped} skipped`),
      h('span', { class: 'meta' }, `in ${fmtMs(sum.durationMs)}`))));

  // ---- filters -------------------------------------------------------------------------
  const uniq = (f) => [...new Set(report.cases.map(f))].sort();
  const filters = {};
  function select(key, label, values, name) {
    const el = h('select', { id: `filter-${key}`, onchange: applyFilters },
      h('option', { value: '' }, 'all'),
      values.map((v) => h('option', { value: v }, name ? name(v) : v)));
    filters[key] = el;
    return h('label', {}, `${label} `, el);
  }
  const count = h('span', { class: 'count', id: 'filter-count' });
  app.append(h('div', { class: 'filters' },
    select('provider', 'Provider', uniq((c) => c.provider)),
    select('verdict', 'Verdict', uniq((c) => c.verdict), (v) => verdictLabel[v] || v),
    select('scenario', 'Scenario', uniq((c) => c.scenario)),
    count));

  function matches(el) {
    return Object.entries(filters).every(([k, sel]) => !sel.value || el.dataset[k] === sel.value);
  }
  function applyFilters() {
    let shown = 0;
    for (const row of document.querySelectorAll('#summary tbody tr')) {
      row.hidden = !matches(row);
      if (!row.hidden) shown++;
    }
    for (const sec of document.querySelectorAll('section.case')) sec.hidden = !matches(sec);
    for (const g of document.querySelectorAll('#rotation-chart g.episode')) {
      g.style.opacity = matches(g) ? '1' : '0.15';
    }
    count.textContent = `showing ${shown} of ${report.cases.length} cases`;
  }
  const tagged = (c) => ({ 'data-provider': c.provider, 'data-verdict': c.verdict, 'data-scenario': c.scenario });

  // ---- summary table -------------------------------------------------------------------
  function note(c) {
    if (c.verdict === 'failed') return `step ${c.step} failed: ${c.message || ''}`;
    if (c.verdict === 'stillReproduces') return `step ${c.step} fails as the bug says`;
    if (c.verdict === 'skipped') return c.message || '';
    if (c.verdict === 'inconclusive') return c.message || `trigger step ${c.step} never held`;
    return (c.notes || [])[0] || '';
  }
  function openCase(id) {
    const sec = document.getElementById(`case-${id}`);
    if (!sec) return;
    sec.querySelector('details').open = true;
    sec.scrollIntoView({ block: 'start' });
  }
  const short = (t, n) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);
  app.append(h('h2', {}, 'Cases'),
    h('table', { id: 'summary' },
      h('thead', {}, h('tr', {}, ['Scenario', 'Provider', 'Result', 'Time', 'File changed after write', 'Note', 'Artifacts']
        .map((t) => h('th', {}, t)))),
      h('tbody', {}, report.cases.map((c) => {
        const file = (c.rotations || []).map((r) => r.file && r.file.afterWriteMs).filter((x) => x != null);
        return h('tr', { ...tagged(c), 'data-case': c.id, onclick: (e) => { if (e.target.tagName !== 'A') openCase(c.id); } },
          h('td', {}, c.scenario),
          h('td', { class: `prov ${c.provider}` }, c.provider),
          h('td', {}, h('span', { class: `badge ${VERDICT[c.verdict]}` }, c.verdictLabel)),
          h('td', { class: 'num' }, c.verdict === 'skipped' ? '–' : fmtMs(c.durationMs)),
          h('td', { class: 'num' }, file.length ? file.map(fmtMs).join(', ') : ''),
          h('td', { class: 'note' }, short(note(c), 160)),
          h('td', {}, c.artifacts ? h('a', { href: encodeURI(c.artifacts) }, 'artifacts') : ''));
      }))));

  // ---- rotation latency: this run ------------------------------------------------------
  // key in a rotation, legend label, short label, marker shape
  const MARKS = [
    ['read', 'provider read', 'read', 'circle'],
    ['file', 'file changed', 'file', 'square'],
    ['secret', 'Secret changed', 'Secret', 'diamond'],
  ];
  function shape(kind, x, y, r, fill, stroke) {
    if (kind === 'circle') return s('circle', { cx: x, cy: y, r, fill, stroke });
    if (kind === 'square') return s('rect', { x: x - r, y: y - r, width: 2 * r, height: 2 * r, fill, stroke });
    return s('path', { d: `M${x} ${y - r - 1}L${x + r + 1} ${y}L${x} ${y + r + 1}L${x - r - 1} ${y}Z`, fill, stroke });
  }
  function legend() {
    return h('div', { class: 'legend' },
      h('span', {}, s('svg', { width: 14, height: 14 }, s('line', { x1: 7, y1: 1, x2: 7, y2: 13, stroke: '#1f2328', 'stroke-width': 2 })), ' backend write (0)'),
      MARKS.map(([, label, , kind]) => h('span', {}, s('svg', { width: 14, height: 14 }, shape(kind, 7, 7, 4, '#57606a')), ` ${label}`)),
      h('span', {}, s('svg', { width: 22, height: 14 }, s('rect', { x: 1, y: 5, width: 20, height: 4, fill: '#8c959f', opacity: 0.35 })), ' change happened in this range (polled)'),
      Object.keys(COLORS).map((p) => h('span', { class: `prov ${p}` }, p)));
  }
  function rotationChart() {
    const eps = [];
    for (const c of report.cases) (c.rotations || []).forEach((r, i) => eps.push({ c, r, i }));
    if (!eps.length) {
      return h('p', { class: 'empty', id: 'rotation-chart' },
        'No backend write in this run was followed by a change of a watched file or Secret.');
    }
    eps.sort((a, b) => a.c.provider.localeCompare(b.c.provider) || a.c.scenario.localeCompare(b.c.scenario));
    let max = 1000;
    for (const { r } of eps) for (const [k] of MARKS) if (r[k]) max = Math.max(max, r[k].afterWriteMs);
    const step = niceStep(max / 6);
    max = Math.ceil(max / step) * step;
    const L = 240, R = 330, W = 1180, CW = W - L - R, top = 22, rowH = 26;
    const H = top + eps.length * rowH + 8;
    const x = (v) => L + (v / max) * CW;
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'rotation latency per case' });
    const axis = s('g', { class: 'axis' });
    for (let v = 0; v <= max + 1e-6; v += step) {
      axis.append(s('line', { x1: x(v), x2: x(v), y1: top - 4, y2: H - 4 }),
        s('text', { x: x(v), y: top - 8, 'text-anchor': 'middle' }, fmtMs(v)));
    }
    svg.append(axis);
    eps.forEach(({ c, r, i }, n) => {
      const y = top + n * rowH + rowH / 2;
      const col = color(c.provider);
      const multi = (c.rotations || []).length > 1 ? ` #${i + 1}` : '';
      const g = s('g', { class: 'episode', ...tagged(c), 'data-case': c.id, style: 'cursor:pointer' });
      g.addEventListener('click', () => openCase(c.id));
      const end = Math.max(0, ...MARKS.map(([k]) => (r[k] ? r[k].afterWriteMs : 0)));
      g.append(
        s('text', { x: L - 8, y: y + 4, 'text-anchor': 'end' }, `${c.scenario}${multi} · `,
          s('tspan', { fill: col, 'font-weight': 600 }, c.provider)),
        s('line', { x1: x(0), x2: x(end), y1: y, y2: y, stroke: col, 'stroke-opacity': 0.45, 'stroke-width': 2 }),
        s('line', { x1: x(0), x2: x(0), y1: y - 7, y2: y + 7, stroke: '#1f2328', 'stroke-width': 2 }, tip(`backend write: ${r.write} at ${fmtAt(r.writeAt)}`)));
      for (const [k, label, , kind] of MARKS) {
        const m = r[k];
        if (!m) continue;
        if (m.notBeforeMs != null) {
          // Below the line, so a range that starts at the write stays visible.
          g.append(s('rect', { x: x(m.notBeforeMs), y: y + (k === 'secret' ? 8 : 5), width: Math.max(1, x(m.afterWriteMs) - x(m.notBeforeMs)), height: 2.5, fill: col, opacity: 0.5 }));
        }
        const mk = shape(kind, x(m.afterWriteMs), y, 5, col, '#fff');
        mk.append(tip(`${label}: ${fmtMs(m.afterWriteMs)} after the write (${m.what})${m.notBeforeMs != null ? `; still old ${fmtMs(m.notBeforeMs)} after it` : ''}`));
        mk.setAttribute('class', `mark ${k}`);
        g.append(mk);
      }
      g.append(s('text', { x: W - R + 10, y: y + 4 },
        MARKS.filter(([k]) => r[k]).map(([k, , name]) => `${name} ${fmtMs(r[k].afterWriteMs)}`).join(' · ')));
      svg.append(g);
    });
    return h('div', { class: 'chart', id: 'rotation-chart' }, svg);
  }
  function rotationStats() {
    const by = {};
    for (const c of report.cases) for (const r of c.rotations || []) (by[c.provider] = by[c.provider] || []).push(r);
    const provs = Object.keys(by).sort();
    if (!provs.length) return null;
    const col = (rs, k) => rs.map((r) => r[k] && r[k].afterWriteMs).filter((v) => v != null);
    const cell = (v) => {
      if (!v.length) return h('td', { class: 'num' }, '–');
      return h('td', { class: 'num' }, `${fmtMs(median(v))} (${fmtMs(Math.min(...v))}–${fmtMs(Math.max(...v))})`);
    };
    return h('table', { class: 'stats', id: 'rotation-stats' },
      h('thead', {}, h('tr', {}, ['Provider', 'Rotations', 'Provider read: median (min–max)', 'File changed', 'Secret changed'].map((t) => h('th', {}, t)))),
      h('tbody', {}, provs.map((p) => h('tr', {},
        h('td', { class: `prov ${p}` }, p), h('td', { class: 'num' }, by[p].length),
        cell(col(by[p], 'read')), cell(col(by[p], 'file')), cell(col(by[p], 'secret'))))));
  }

  // ---- rotation latency: across runs ---------------------------------------------------
  function historyChart() {
    if (!history.length) {
      return h('p', { class: 'hint' },
        'Pass earlier runs with --report-history artifacts/run-*/report.json to see how rotation latency moves across runs.');
    }
    const runs = [...history, {
      startedAt: run.startedAt, driver: run.driver, source: 'this run',
      points: report.cases.flatMap((c) => (c.rotations || []).map((r) => ({
        scenario: c.scenario, provider: c.provider, readMs: r.read && r.read.afterWriteMs,
        fileMs: r.file && r.file.afterWriteMs, secretMs: r.secret && r.secret.afterWriteMs,
      }))),
    }];
    let max = 1000;
    for (const r of runs) for (const p of r.points) if (p.fileMs != null) max = Math.max(max, p.fileMs);
    const step = niceStep(max / 5);
    max = Math.ceil(max / step) * step;
    const L = 70, W = 1180, H = 260, top = 16, bottom = 54, CW = W - L - 30;
    const x = (i) => L + (runs.length === 1 ? CW / 2 : (i / (runs.length - 1)) * CW);
    const y = (v) => top + (1 - v / max) * (H - top - bottom);
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'file-change latency across runs' });
    const axis = s('g', { class: 'axis' });
    for (let v = 0; v <= max + 1e-6; v += step) {
      axis.append(s('line', { x1: L, x2: W - 20, y1: y(v), y2: y(v) }),
        s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtMs(v)));
    }
    runs.forEach((r, i) => axis.append(
      s('text', { x: x(i), y: H - bottom + 16, 'text-anchor': 'middle' }, fmtAt(r.startedAt).slice(0, 16)),
      s('text', { x: x(i), y: H - bottom + 30, 'text-anchor': 'middle' }, r.source === 'this run' ? 'this run' : `driver ${r.driver}`)));
    svg.append(axis);
    for (const p of Object.keys(COLORS)) {
      const meds = [];
      runs.forEach((r, i) => {
        const v = r.points.filter((q) => q.provider === p && q.fileMs != null).map((q) => q.fileMs);
        for (const f of v) {
          svg.append(s('circle', { class: 'history-point', cx: x(i), cy: y(f), r: 3.5, fill: color(p), opacity: 0.55 },
            tip(`${p}: file changed ${fmtMs(f)} after the write (${r.source})`)));
        }
        if (v.length) meds.push([x(i), y(median(v))]);
      });
      if (meds.length > 1) {
        svg.append(s('polyline', { points: meds.map((m) => m.join(',')).join(' '), fill: 'none', stroke: color(p), 'stroke-width': 2 }));
      }
    }
    return h('div', { class: 'chart', id: 'history-chart' }, svg,
      h('p', { class: 'hint' }, 'Dots: each rotation\'s file-change latency; lines: the median per provider and run.'));
  }

  put(app, {}, [h('h2', {}, 'Rotation latency'),
    h('p', { class: 'hint' },
      'For each backend write that a watched file or synced Secret later showed: when the provider first read a secret, ' +
      'when the mounted file and the Secret were first seen changed. Files and Secrets are polled, so a change happened ' +
      'between the last look at the old value (shaded) and the mark.'),
    legend(), rotationChart(), rotationStats(),
    h('h2', {}, 'Rotation latency across runs'), historyChart()]);

  // ---- per case ------------------------------------------------------------------------
  const OP_COLORS = {
    backend: '#1f2328', apply: '#0969da', files: '#1a7f37', assert: '#8250df', wait: '#bf8700', exec: '#57606a',
    journal: '#6e7781', event: '#bc4c00', delete: '#cf222e', absent: '#cf222e', snapshot: '#116329', scale: '#0550ae',
  };
  const SPAN_COLORS = { setup: '#afb8c1', step: '#54aeff', cleanup: '#d4a72c', teardown: '#afb8c1' };
  const statusColor = (st) => (st >= 500 ? '#cf222e' : st >= 400 ? '#d4a72c' : '#1a7f37');

  function subjectLabel(subj) {
    const [kind, ...rest] = subj.split(' ');
    const name = rest.join(' ');
    const tail = name.length > 26 ? `…${name.slice(-25)}` : name;
    return `${kind} ${tail}`;
  }

  function timelineSvg(c) {
    const tl = c.timeline;
    const t0 = ms(tl.startedAt);
    const t1 = Math.max(ms(tl.endedAt), t0 + 1000);
    const services = [...new Set(tl.journal.map((j) => j.service))].sort();
    const subjects = [...new Set(tl.observations.map((o) => o.subject))];
    const lanes = [['steps', 'steps'], ['ops', 'operations'],
      ...services.map((sv) => [`j:${sv}`, `journal ${sv}`]),
      ['events', 'events'],
      ...subjects.map((sb) => [`o:${sb}`, subjectLabel(sb)])];
    // Rotation labels stack in up to four rows above the lanes.
    const L = 190, W = 1180, CW = W - L - 12, laneH = 20, top = (c.rotations || []).length ? 56 : 12;
    const H = top + lanes.length * laneH + 26;
    const lane = {};
    lanes.forEach(([k], i) => { lane[k] = top + i * laneH; });
    const x = (v) => L + ((Math.min(Math.max(v, t0), t1) - t0) / (t1 - t0)) * CW;
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `timeline of ${c.id}` });
    lanes.forEach(([k, label], i) => {
      if (i % 2 === 0) svg.append(s('rect', { class: 'stripe', x: 0, y: lane[k], width: W, height: laneH }));
      svg.append(s('text', { class: 'lane-label', x: 6, y: lane[k] + 14 }, label, tip(k.startsWith('o:') ? k.slice(2) : label)));
    });
    // time axis
    const span = (t1 - t0) / 1000;
    const step = niceStep(span / 10);
    const axis = s('g', { class: 'axis' });
    for (let v = 0; v <= span + 1e-6; v += step) {
      const xx = L + (v / span) * CW;
      axis.append(s('line', { class: 'grid', x1: xx, x2: xx, y1: top, y2: H - 22 }),
        s('text', { x: xx, y: H - 8, 'text-anchor': 'middle' }, `${+v.toFixed(3)} s`));
    }
    svg.append(axis);
    // spans
    for (const sp of tl.spans) {
      const isOp = sp.kind === 'op';
      const y = lane[isOp ? 'ops' : 'steps'] + 3;
      const x0 = x(ms(sp.startedAt));
      const w = Math.max(2, x(ms(sp.endedAt)) - x0);
      const fill = isOp ? (OP_COLORS[sp.name] || '#8c959f') : (SPAN_COLORS[sp.kind] || '#afb8c1');
      const label = isOp ? sp.name : sp.name;
      const g = s('g', {},
        s('rect', { class: `bar${sp.ok ? '' : ' failed'}`, x: x0, y, width: w, height: laneH - 6, rx: 2, fill, 'fill-opacity': isOp ? 0.75 : 0.6 }),
        tip(`${sp.kind} ${sp.name}${sp.detail ? `: ${sp.detail}` : ''}\n${rel(ms(sp.startedAt), t0)} → ${rel(ms(sp.endedAt), t0)} (${fmtMs(ms(sp.endedAt) - ms(sp.startedAt))})${sp.ok ? '' : `\nfailed: ${sp.error || ''}`}`));
      if (w > label.length * 6 + 6) g.append(s('text', { x: x0 + 3, y: y + 11, fill: '#fff', style: 'fill:#fff;font-size:10px' }, label));
      svg.append(g);
    }
    // journal
    for (const j of tl.journal) {
      const end = ms(j.at);
      const x0 = x(end - j.latencyMs);
      const w = Math.max(2, x(end) - x0);
      svg.append(s('rect', { class: 'journal-entry', x: x0, y: lane[`j:${j.service}`] + 3, width: w, height: laneH - 6, fill: statusColor(j.status) },
        tip(`${rel(end, t0)} ${j.service} ${j.operation} → ${j.status}${j.error ? ` ${j.error}` : ''} (${j.latencyMs.toFixed(1)} ms)` +
          `${Object.keys(j.keys || {}).length ? `\n${Object.entries(j.keys).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`)));
    }
    // events
    for (const e of tl.events) {
      const y = lane.events + laneH / 2;
      const at = ms(e.at);
      const fill = e.type === 'Warning' ? '#bc4c00' : '#0969da';
      if (e.lastAt) svg.append(s('line', { x1: x(at), x2: x(ms(e.lastAt)), y1: y, y2: y, stroke: fill, 'stroke-width': 2, opacity: 0.5 }));
      const d = shape('diamond', x(at), y, 5, fill, '#fff');
      d.setAttribute('class', 'kube-event');
      d.append(tip(`${rel(at, t0)} ${e.type} ${e.reason} on ${e.object}${e.count > 1 ? ` (×${e.count}, last ${rel(ms(e.lastAt || e.at), t0)})` : ''}\n${e.message}${e.source ? `\n— ${e.source}` : ''}`));
      svg.append(d);
    }
    // observations
    for (const o of tl.observations) {
      const y = lane[`o:${o.subject}`] + laneH / 2;
      const at = ms(o.at);
      const col = color(c.provider);
      if (o.previousSeenAt && o.change !== 'firstSeen') {
        svg.append(s('rect', { x: x(ms(o.previousSeenAt)), y: y - 2, width: Math.max(1, x(at) - x(ms(o.previousSeenAt))), height: 4, fill: col, opacity: 0.25 }));
      }
      const fill = o.change === 'firstSeen' ? '#fff' : o.change === 'disappeared' ? '#8c959f' : col;
      svg.append(s('circle', { class: 'observation', cx: x(at), cy: y, r: 4.5, fill, stroke: col, 'stroke-width': 1.5 },
        tip(`${rel(at, t0)} ${o.subject}: ${o.change} → ${seenText(o.value)}` +
          `${o.previous ? `\nwas ${seenText(o.previous)}, last seen ${rel(ms(o.previousSeenAt), t0)}` : ''}`)));
    }
    // rotation marks across every lane
    const labelsAt = [];
    for (const r of c.rotations || []) {
      const w = ms(r.writeAt);
      const marks = [['write', w, '#1f2328', `backend write: ${r.write}`]];
      for (const [k, label, name] of MARKS) if (r[k]) marks.push([`${name} +${fmtMs(r[k].afterWriteMs)}`, ms(r[k].at), color(c.provider), `${label}: ${r[k].what}`]);
      for (const [label, at, col, what] of marks) {
        const xx = x(at);
        // Labels that would overlap go one row down.
        const row = Math.min(3, labelsAt.filter((p) => Math.abs(p - xx) < 100).length);
        labelsAt.push(xx);
        svg.append(s('g', { class: 'rotation-mark' },
          s('line', { x1: xx, x2: xx, y1: 16 + row * 12, y2: H - 22, stroke: col, 'stroke-dasharray': '4 3', 'stroke-width': 1.2 }),
          // Near the right edge the label goes left of its line.
          s('text', { class: 'mark-label', x: xx > W - 110 ? xx - 3 : xx + 3, y: 12 + row * 12, 'text-anchor': xx > W - 110 ? 'end' : 'start', fill: col, style: `fill:${col}` }, label),
          tip(`${what} at ${fmtAt(new Date(at).toISOString())}`)));
      }
    }
    return svg;
  }

  function entriesTable(c) {
    const tl = c.timeline;
    const t0 = ms(tl.startedAt);
    const rows = [];
    for (const sp of tl.spans) rows.push([ms(sp.startedAt), sp.kind === 'op' ? 'operation' : sp.kind, `${sp.name}${sp.detail ? `: ${sp.detail}` : ''}`, `${fmtMs(ms(sp.endedAt) - ms(sp.startedAt))}${sp.ok ? '' : ` — failed: ${sp.error || ''}`}`]);
    for (const j of tl.journal) rows.push([ms(j.at), `journal ${j.service}`, `${j.operation} → ${j.status}${j.error ? ` ${j.error}` : ''}`, `${j.latencyMs.toFixed(1)} ms ${Object.entries(j.keys || {}).map(([k, v]) => `${k}=${v}`).join(' ')}`]);
    for (const e of tl.events) rows.push([ms(e.at), 'event', `${e.type} ${e.reason} on ${e.object}${e.count > 1 ? ` ×${e.count}` : ''}`, e.message]);
    for (const o of tl.observations) rows.push([ms(o.at), 'observed', `${o.subject}: ${o.change}`, `${seenText(o.value)}${o.previous ? ` (was ${seenText(o.previous)})` : ''}`]);
    rows.sort((a, b) => a[0] - b[0]);
    return h('table', { class: 'entries' },
      h('thead', {}, h('tr', {}, ['Time', 'Kind', 'What', 'Detail'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows.map(([at, kind, what, detail]) => h('tr', {},
        h('td', { class: 'num mono' }, rel(at, t0)), h('td', {}, kind), h('td', { class: 'what' }, what), h('td', { class: 'what' }, detail)))));
  }

  function mismatch(m) {
    let lo = 0;
    let ln = 0;
    return h('div', { class: 'mismatch' },
      h('h4', {}, `snapshot ${m.name}`),
      h('p', { class: 'meta mono' }, `stored ${m.stored} · new ${m.new}`),
      h('table', { class: 'sbs' },
        h('thead', {}, h('tr', {}, h('th', { class: 'ln' }), h('th', {}, 'stored'), h('th', { class: 'ln' }), h('th', {}, 'this run'))),
        h('tbody', {}, m.rows.map((r) => h('tr', { class: r.kind },
          h('td', { class: 'ln' }, r.old != null ? ++lo : ''), h('td', { class: 'old' }, r.old != null ? r.old : ''),
          h('td', { class: 'ln' }, r.new != null ? ++ln : ''), h('td', { class: 'new' }, r.new != null ? r.new : ''))))));
  }

  function caseSection(c) {
    const v = VERDICT[c.verdict];
    const rotations = c.rotations || [];
    const det = h('details', { open: c.verdict === 'failed' || rotations.length > 0 },
      h('summary', {},
        h('span', { class: `badge ${v}` }, c.verdictLabel),
        h('strong', {}, c.scenario), h('span', { class: `prov ${c.provider}` }, c.provider),
        h('span', { class: 'right' }, c.verdict === 'skipped' ? 'skipped' : fmtMs(c.durationMs),
          c.timeline ? ` · namespace ${c.timeline.namespace}` : '',
          c.artifacts ? [' · ', h('a', { href: encodeURI(c.artifacts) }, 'artifacts')] : '')));
    const body = h('div', { class: 'case-body' });
    if (c.message) body.append(h('pre', { class: 'message' }, c.step ? `step ${c.step}: ${c.message}` : c.message));
    if ((c.notes || []).length) body.append(h('ul', { class: 'meta' }, c.notes.map((n) => h('li', {}, n))));
    rotations.forEach((r, i) => body.append(h('p', { class: 'rot-line' },
      h('strong', {}, `Rotation${rotations.length > 1 ? ` #${i + 1}` : ''}: `),
      `${r.write} at ${fmtAt(r.writeAt)} → `,
      MARKS.map(([k, label]) => `${label} ${r[k] ? `after ${fmtMs(r[k].afterWriteMs)} (${r[k].what})` : 'not seen'}`).join(' → '))));
    if (c.timeline) {
      body.append(h('div', { class: 'timeline' }, timelineSvg(c)));
      const n = c.timeline.spans.length + c.timeline.journal.length + c.timeline.events.length + c.timeline.observations.length;
      const entries = h('details', { class: 'entries' }, h('summary', {}, `All ${n} entries`));
      entries.addEventListener('toggle', () => {
        if (entries.open && !entries.dataset.drawn) {
          entries.dataset.drawn = '1';
          entries.append(entriesTable(c));
        }
      });
      body.append(entries);
      if ((c.timeline.snapshotMismatches || []).length) {
        put(body, {}, [h('h4', {}, 'Snapshot mismatches'), c.timeline.snapshotMismatches.map(mismatch)]);
      }
    } else {
      body.append(h('p', { class: 'empty' }, 'Not run, so no timeline.'));
    }
    det.append(body);
    return h('section', { class: `case ${v}`, id: `case-${c.id}`, ...tagged(c) }, det);
  }

  put(app, {}, [h('h2', {}, 'Timelines'),
    h('div', { class: 'legend' },
      'Bars: setup, steps and operations (red outline: failed). Journal: green 2xx, amber 4xx, red 5xx. ',
      'Events: blue Normal, orange Warning. Observed values: hollow first look, filled a change. Hover for details.'),
    report.cases.map(caseSection)]);

  applyFilters();
  if (location.hash.startsWith('#case-')) openCase(decodeURIComponent(location.hash.slice(6)));
  document.body.dataset.renderMs = String(Math.round(performance.now() - began));
  document.body.dataset.rendered = 'true';
}());
