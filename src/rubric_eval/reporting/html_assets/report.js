// The HTML report's page script. Data comes from the JSON blocks only; every piece of text reaches the page
// through textContent / createTextNode / attribute setters, never as markup.
(function () {
  'use strict';

  const T0 = performance.now();
  const D = JSON.parse(document.getElementById('report-data').textContent);
  const R = D.report;
  const A = D.answers;
  const NA = A.model.length;
  const MODELS = R.models;
  const UNSCORED = -1;
  const NOT_GRADED = -2;
  const PAGE = 50;

  // -- helpers ------------------------------------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    applyProps(node, props);
    appendAll(node, children);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    appendAll(node, children);
    return node;
  }

  function applyProps(node, props) {
    if (!props) return;
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else if (k === 'data') for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
      else if (k === 'bg') node.style.backgroundColor = v;
      else if (k === 'width') node.style.width = v;
      else node.setAttribute(k, String(v));
    }
  }

  function appendAll(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) appendAll(node, child);
      else node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
    }
  }

  // Fixed decimals like Python's format(): ties (exactly representable halves) round to even.
  function fmt(x, digits) {
    const d = digits === undefined ? 2 : digits;
    if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
    const t = x * Math.pow(2, d + 1);
    if (Number.isInteger(t) && Math.abs(t % 2) === 1) {
      const scale = Math.pow(10, d);
      const lower = Math.floor(x * scale);
      return ((lower % 2 === 0 ? lower : lower + 1) / scale).toFixed(d);
    }
    return x.toFixed(d);
  }

  function fmtP(p) {
    if (p === null || p === undefined) return 'n/a';
    return p < 0.001 ? '< 0.001' : fmt(p, 3);
  }

  function ci(low, high) {
    return low === null || low === undefined ? 'n/a' : '[' + fmt(low) + ', ' + fmt(high) + ']';
  }

  function clip(text, n) {
    const one = text.replace(/\s+/g, ' ').trim();
    return one.length > n ? one.slice(0, n - 1) + '\u2026' : one;
  }

  // Clickable rows and headers work from the keyboard too (Tab, then Enter or Space).
  function activate(node, fn) {
    node.tabIndex = 0;
    node.addEventListener('click', fn);
    node.addEventListener('keydown', e => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); fn(); } });
  }

  function option(value, label, selected) {
    const o = el('option', { value: value, text: label });
    if (selected) o.selected = true;
    return o;
  }

  function heatColor(score) {
    if (score === null || score === undefined) return '#eef0f4';
    const t = Math.max(0, Math.min(1, (score - 1) / 9));
    const hue = Math.round(t * 120);
    return 'hsl(' + hue + ', 60%, 86%)';
  }

  const PALETTE = ['#2357c6', '#d9480f', '#2b8a3e', '#ae3ec9', '#e67700', '#0c8599', '#c2255c', '#5f3dc4',
    '#495057', '#74b816'];

  // -- derived data -------------------------------------------------------------------------------

  const texts = new Map();
  function answerText(a) {
    const k = A.model[a];
    if (!texts.has(k)) texts.set(k, JSON.parse(document.getElementById('texts-' + k).textContent));
    const row = texts.get(k)[a - D.model_start[k]];
    return { output: row[0], feedback: row[1] };
  }

  function rubricOf(a) {
    const r = D.instructions[A.instruction[a]].rubric;
    return r < 0 ? null : D.rubrics[r];
  }

  // Level index -> one of 4 colour buckets (0 = best), whatever the rubric's number of levels.
  function bucket(level, nLevels) {
    if (level === UNSCORED) return 'u';
    if (level === NOT_GRADED) return 'n';
    return nLevels <= 1 ? 0 : Math.round(level / (nLevels - 1) * 3);
  }

  const LEGEND_LEVELS = (function () {
    const counts = new Map();
    for (const r of D.rubrics) {
      const key = JSON.stringify(r.levels);
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    let best = null; let n = -1;
    for (const [k, c] of counts) if (c > n) { best = k; n = c; }
    return best ? JSON.parse(best) : ['best', 'second', 'third', 'worst'];
  })();

  function legend() {
    const items = [];
    if (LEGEND_LEVELS.length === 4) LEGEND_LEVELS.forEach((l, i) => items.push([l, 'lv' + i]));
    else ['best', 'upper', 'lower', 'worst'].forEach((l, i) => items.push([l + ' levels', 'lv' + i]));
    items.push(['unscored', 'lvu'], ['not graded', 'lvn']);
    return el('div', { class: 'legend' }, items.map(([label, cls]) => el('span', null, el('i', { class: cls }), label)));
  }

  // A stacked bar of level counts: counts = {0: n, 1: n, 2: n, 3: n, u: n, n: n}.
  function levelBar(counts, width) {
    const keys = [0, 1, 2, 3, 'u', 'n'];
    const total = keys.reduce((s, k) => s + (counts[k] || 0), 0);
    const names = { u: 'unscored', n: 'not graded' };
    const title = keys.filter(k => counts[k]).map(k => (names[k] || (LEGEND_LEVELS.length === 4 ? LEGEND_LEVELS[k] : 'level bucket ' + k)) + ': ' + counts[k]).join(', ');
    const bar = el('span', { class: 'bar', title: total ? title + ' (of ' + total + ')' : 'nothing graded', width: width });
    if (total) for (const k of keys) if (counts[k]) bar.appendChild(el('span', { class: 'lv' + k, width: (100 * counts[k] / total) + '%' }));
    return bar;
  }

  // Previous / "page i of n · label" / next; `s.page` is the state's page, `redraw` draws it again.
  function pager(s, pages, label, redraw, id) {
    const prev = el('button', { id: id ? id + '-prev' : null, text: '\u2190 previous', on: { click: () => { if (s.page > 0) { s.page--; redraw(); } } } });
    const next = el('button', { id: id ? id + '-next' : null, text: 'next \u2192', on: { click: () => { if (s.page < pages - 1) { s.page++; redraw(); } } } });
    prev.disabled = s.page === 0;
    next.disabled = s.page >= pages - 1;
    return el('div', { class: 'pager' }, prev, el('span', { id: id ? id + '-info' : null, text: 'page ' + (s.page + 1) + ' of ' + pages + ' \u00b7 ' + label }), next);
  }

  function answerLevelCounts(a) {
    const r = rubricOf(a);
    const counts = {};
    for (const lv of A.levels[a]) {
      const b = bucket(lv, r ? r.levels.length : 4);
      counts[b] = (counts[b] || 0) + 1;
    }
    return counts;
  }

  function nUnscored(a) {
    return A.levels[a].filter(lv => lv === UNSCORED).length;
  }

  const INSTR_ANSWERS = D.instructions.map(() => []);
  for (let a = 0; a < NA; a++) INSTR_ANSWERS[A.instruction[a]].push(a);
  const INSTR_LOWER = D.instructions.map(i => (i.id === null ? '' : i.id + ' ') + i.text.toLowerCase());

  function modelOrder() {
    // Leaderboard order for the models of this report, then any others.
    const byName = new Map(MODELS.map((m, k) => [m.model, k]));
    const order = [];
    for (const row of R.leaderboard) if (byName.has(row.model) && !order.includes(byName.get(row.model))) order.push(byName.get(row.model));
    MODELS.forEach((_, k) => { if (!order.includes(k)) order.push(k); });
    return order;
  }
  const ORDER = modelOrder();

  // Leaderboard rows may carry a run status (complete, partial, ...): shown, never hidden.
  function isFlagged(row) {
    return Boolean(row.flagged) || (Boolean(row.status) && row.status !== 'complete');
  }

  function statusText(row) {
    return row.status_text || row.status || '';
  }

  function instrLabel(i) {
    const ins = D.instructions[i];
    return (ins.id === null ? '' : '#' + ins.id + ' ') + clip(ins.text, 90);
  }

  // -- trust: judging, rubric diagnostics, audit, meta-evaluation ----------------------------------

  function est(e) {
    return !e || e.value === null || e.value === undefined ? 'n/a' : fmt(e.value) + (e.ci_low === null || e.ci_low === undefined ? '' : ' ' + ci(e.ci_low, e.ci_high));
  }

  function pct(x) {
    return x === null || x === undefined ? 'n/a' : Math.round(x * 100) + '%';
  }

  function simpleTable(id, head, rows) {
    return el('div', { class: 'scroll' }, el('table', { id }, el('thead', null, el('tr', null, head.map(h => el('th', { text: h })))),
      el('tbody', null, rows.map(r => el('tr', null, r.map(v => el('td', { text: v })))))));
  }

  function agreementRows(pairs) {
    return pairs.filter(p => p[1]).map(([name, a]) => [name, a.n_items + ' (' + a.n_instructions + ' instr.)', est(a.exact), est(a.within_one),
      est(a.kappa_quadratic), est(a.alpha_ordinal), est(a.macro_f1), est(a.score_pearson), est(a.score_spearman)]);
  }

  const AGREEMENT_HEAD = ['Comparison', 'Items', 'Exact', 'Within one level', 'Kappa (quadratic)', 'Alpha (ordinal)', 'Macro-F1', 'Score Pearson', 'Score Spearman'];

  function renderTrust(root) {
    root.appendChild(el('h2', { text: 'Can these numbers be trusted?' }));
    root.appendChild(el('p', { class: 'muted', text: 'What each number means and the thresholds in use: docs/trusting_judges.md. CIs are 95%.' }));
    const judged = ORDER.filter(k => MODELS[k].judging);
    if (judged.length) {
      root.appendChild(el('h3', { text: 'How the judging was done' }));
      const rows = judged.map(k => {
        const j = MODELS[k].judging, n = j.noise, e = j.escalation;
        return [MODELS[k].model, j.aggregate || '',
          n ? fmt(n.sem) + ' = ' + fmt(n.sem_instructions) + ' (instructions) + ' + fmt(n.sem_judge) + ' (judge)' : 'n/a',
          n ? pct(n.judge_share) + (n.judge_share_ci_low === null ? '' : ' [' + pct(n.judge_share_ci_low) + ', ' + pct(n.judge_share_ci_high) + ']') : 'n/a',
          n ? pct(n.identical_levels) : 'n/a',
          j.panel.filter(p => p.agreement).map(p => p.evaluator_a + ' vs ' + p.evaluator_b + ': exact ' + est(p.agreement.exact) + ', kappa ' + est(p.agreement.kappa_quadratic)).join('; ') || 'n/a',
          e ? e.n_escalated + ' of ' + e.n_answers + ' escalated; ' + e.calls_saved + ' calls saved' + (e.cost_saved_usd === null ? '' : ', $' + fmt(e.cost_saved_usd, 4)) : 'n/a'];
      });
      root.appendChild(simpleTable('trust-judging', ['Model', 'Combined by', 'SEM split', 'Judge share of variance', 'Identical repeats', 'Panel agreement', 'Escalation'], rows));
    }
    const d = R.rubric_diagnostics;
    if (d) {
      root.appendChild(el('h3', { text: 'Rubric diagnostics' }));
      const total = Object.values(d.level_usage).reduce((x, y) => x + y, 0) || 1;
      root.appendChild(el('ul', { id: 'trust-diagnostics' },
        el('li', { text: 'Levels given: ' + Object.entries(d.level_usage).map(([lv, n]) => lv + ' ' + pct(n / total)).join(', ') + (d.unused_levels.length ? '; never used: ' + d.unused_levels.join(', ') : '') }),
        el('li', { text: d.n_constant_rows + ' of ' + d.n_rows + ' rubric rows gave every model the same level.' }),
        el('li', { text: d.n_redundant_pairs + ' pairs of rows gave every model identical levels (possibly redundant).' }),
        el('li', { text: d.n_ranking_sensitive_rows + ' rows change the model ranking when their weight is 0 or doubled.' })));
      root.appendChild(simpleTable('trust-separation', ['Instruction', 'Criterion', 'Levels used', 'Between-model variance', 'Separation'],
        d.least_separating.map(r => [r.instruction, r.criterion, r.levels_used.join(', '), fmt(r.between_variance), fmt(r.separation)])));
    }
    const a = R.audit;
    if (a) {
      root.appendChild(el('h3', { text: 'Judge audit: ' + a.evaluator }));
      root.appendChild(simpleTable('trust-audit', ['Check', 'Answers', 'Score change', 'p', 'Levels changed', 'Verdict'],
        a.checks.map(c => [c.check + ': ' + c.description, String(c.n), c.mean_delta === null ? 'n/a' : fmt(c.mean_delta) + ' ' + ci(c.ci_low, c.ci_high),
          fmtP(c.p_value), pct(c.changed_levels), c.verdict + ': ' + c.reason])));
    }
    const m = R.meta_evaluation;
    if (m) {
      root.appendChild(el('h3', { text: 'Judge meta-evaluation' }));
      const pairs = m.judges.map(j => [j.evaluator, j.agreement]);
      if (m.human_ceiling) pairs.push(['human vs human (ceiling)', m.human_ceiling]);
      for (const p of m.judge_pairs) pairs.push([p.evaluator_a + ' vs ' + p.evaluator_b, p.agreement]);
      root.appendChild(simpleTable('trust-agreement', AGREEMENT_HEAD, agreementRows(pairs)));
      if (m.rankings.length) {
        root.appendChild(simpleTable('trust-rankings', ['Judge', 'Models', 'Pearson', 'Spearman', 'Kendall tau-b'],
          m.rankings.map(r => [r.evaluator, String(r.n_models), est(r.pearson), est(r.spearman), est(r.kendall)])));
      }
    }
  }

  // -- page skeleton ------------------------------------------------------------------------------

  const view = document.getElementById('view');
  const TABS = [
    ['overview', 'Overview', renderOverview],
    ['instructions', 'Instructions', renderInstructions],
    ['compare', 'Compare two models', renderCompare],
    ['worst', 'Worst instructions', renderWorst],
    ['criteria', 'Levels per criterion', renderCriteria],
    ['unscored', 'Unscored', renderUnscored],
    ['more', 'Runs & diagnostics', renderMore],
  ];
  // The trust sections (docs/trusting_judges.md) get a tab when the report has any of them.
  if (R.rubric_diagnostics || R.audit || R.meta_evaluation || MODELS.some(m => m.judging)) TABS.push(['trust', 'Trust', renderTrust]);
  const state = {
    tab: 'overview',
    table: { model: -1, category: -1, min: '', max: '', q: '', unscoredOnly: false, sort: 'score', dir: -1, page: 0 },
    detail: null,
    compare: { instruction: 0, a: ORDER[0] === undefined ? 0 : ORDER[0], b: ORDER[1] === undefined ? 0 : ORDER[1] },
    worst: { model: -1, k: 5 },
    criteria: { category: -1, q: '', sort: 'mean', dir: 1, page: 0 },
    unscored: { model: -1, page: 0 },
    chartModels: new Set(ORDER.slice(0, 6)),
  };

  function header() {
    const meta = document.getElementById('meta');
    meta.textContent = 'Dataset ' + R.dataset + ' \u00b7 judge ' + R.evaluators.join(', ') + ' \u00b7 ' + MODELS.length +
      ' model(s) \u00b7 ' + D.instructions.length + ' instructions \u00b7 ' + NA + ' answers \u00b7 rubric-eval ' + R.version +
      ' \u00b7 generated ' + R.generated_at;
    const notes = document.getElementById('notes');
    for (const note of R.notes) notes.appendChild(el('div', { class: 'note', text: note }));
    // Runs that are not complete (partial, interrupted, budget-stopped, failed) are flagged at the top.
    const flagged = new Set();
    for (const m of MODELS) {
      if (m.status && m.status !== 'complete' && !flagged.has(m.model)) {
        flagged.add(m.model);
        notes.appendChild(el('div', { class: 'note flag', text: m.model + ': ' + m.status + ' (n = ' + m.score.n + ' scored instructions, ' + m.score.n_unscored + ' unscored)' }));
      }
    }
    for (const row of R.leaderboard) {
      if (isFlagged(row) && !flagged.has(row.model)) {
        flagged.add(row.model);
        notes.appendChild(el('div', { class: 'note flag', text: row.model + ' (leaderboard): ' + statusText(row) + '; not ranked' }));
      }
    }
    const nav = document.getElementById('tabs');
    for (const [id, label] of TABS) {
      nav.appendChild(el('button', { id: 'tab-' + id, role: 'tab', 'aria-selected': 'false', text: label, on: { click: () => show(id) } }));
    }
  }

  function show(tab) {
    state.tab = tab;
    for (const [id] of TABS) document.getElementById('tab-' + id).setAttribute('aria-selected', String(id === tab));
    view.replaceChildren();
    const entry = TABS.find(t => t[0] === tab);
    entry[2](view);
  }

  // -- overview -----------------------------------------------------------------------------------

  function ciSvg(low, high, mean) {
    const w = 140, h = 14;
    const x = v => 4 + (v - 1) / 9 * (w - 8);
    const s = svg('svg', { width: w, height: h, viewBox: '0 0 ' + w + ' ' + h, role: 'img' });
    s.appendChild(svg('line', { x1: x(1), x2: x(10), y1: h / 2, y2: h / 2, stroke: '#d9dee7' }));
    if (low !== null && low !== undefined) s.appendChild(svg('line', { x1: x(low), x2: x(high), y1: h / 2, y2: h / 2, stroke: '#2357c6', 'stroke-width': 3 }));
    if (mean !== null && mean !== undefined) s.appendChild(svg('circle', { cx: x(mean), cy: h / 2, r: 3.5, fill: '#1d2330' }));
    s.appendChild(svg('title', null, 'mean ' + fmt(mean) + ', 95% CI ' + ci(low, high) + ' (scale 1-10)'));
    return s;
  }

  function renderOverview(root) {
    root.appendChild(el('h2', { text: 'Leaderboard' }));
    root.appendChild(el('p', { class: 'muted', text: 'Dataset ' + R.dataset + ', judge ' + R.evaluators.join(', ') +
      (R.leaderboard_path ? ' (from ' + R.leaderboard_path + ')' : '') +
      '. Score: mean instruction score on 1-10 over n scored instructions, \u00b1 SEM; 95% percentile bootstrap CI. ' +
      '"Above next": two-sided paired sign-flip test against the next row, alpha = ' + R.alpha + '.' }));
    const head = ['Rank', 'Model', 'Score', 'SEM', '95% CI', '', 'n', 'Unscored', 'p vs next', 'Above next?', 'Cost', 'Date'];
    const table = el('table', { id: 'leaderboard' }, el('thead', null, el('tr', null, head.map((h, i) => el('th', { class: [0, 2, 3, 6, 7, 8, 10].includes(i) ? 'num' : '', text: h })))));
    const body = el('tbody');
    for (const row of R.leaderboard) {
      const above = row.above_next === null || row.above_next === undefined ? (row.n_paired_with_next === null ? '\u2014' : 'n/a') : (row.above_next ? 'yes' : 'no');
      body.appendChild(el('tr', { data: { model: row.model } },
        el('td', { class: 'num', text: row.rank }),
        el('td', { class: 'model', text: row.model }, isFlagged(row) ? el('span', { class: 'cell-sub flag-text', text: statusText(row) }) : null),
        el('td', { class: 'num score', text: fmt(row.score) }),
        el('td', { class: 'num sem', text: fmt(row.sem) }),
        el('td', { class: 'num ci', text: ci(row.ci_low, row.ci_high) }),
        el('td', null, ciSvg(row.ci_low, row.ci_high, row.score)),
        el('td', { class: 'num n', text: row.n }),
        el('td', { class: 'num unscored', text: row.n_unscored }),
        el('td', { class: 'num', text: fmtP(row.p_value_vs_next), title: row.n_paired_with_next === null || row.n_paired_with_next === undefined ? '' : row.n_paired_with_next + ' paired instructions' }),
        el('td', { text: above }),
        el('td', { class: 'num', text: row.cost_usd === null || row.cost_usd === undefined ? 'n/a' : '$' + fmt(row.cost_usd, 4) }),
        el('td', { text: row.date })));
    }
    table.appendChild(body);
    root.appendChild(el('div', { class: 'scroll' }, table));

    root.appendChild(el('h2', { text: 'Model \u00d7 category' }));
    root.appendChild(el('p', { class: 'muted', text: 'Each cell: mean \u00b1 SEM over the category\u2019s scored instructions; n scored, u unscored.' }));
    root.appendChild(el('div', { class: 'scroll' }, matrix()));

    root.appendChild(el('h2', { text: 'Scores per category' }));
    root.appendChild(categoryChartSection());

    root.appendChild(el('h2', { text: 'Level distribution per model' }));
    root.appendChild(el('p', { class: 'muted', text: 'Share of graded criteria at each level, over all of the model\u2019s answers.' }));
    root.appendChild(legend());
    root.appendChild(levelsPerModel());

    root.appendChild(el('h2', { text: 'Details per model' }));
    root.appendChild(el('div', { class: 'scroll' }, modelDetails()));
  }

  function matrix() {
    const table = el('table', { id: 'matrix', class: 'matrix' });
    table.appendChild(el('thead', null, el('tr', null, el('th', { text: 'Model' }), el('th', { class: 'num', text: 'All' }), D.categories.map(c => el('th', { class: 'num', text: c })))));
    const body = el('tbody');
    for (const k of ORDER) {
      const m = MODELS[k];
      const byCat = new Map(m.categories.map(c => [c.category, c]));
      const tr = el('tr', { data: { model: m.model } }, el('td', { text: m.model }), cell(m.score.mean, m.score.sem, m.score.n, m.score.n_unscored));
      for (const c of D.categories) {
        const cs = byCat.get(c);
        tr.appendChild(cs ? cell(cs.mean, cs.sem, cs.n, cs.n_unscored) : el('td', { class: 'num muted', text: '\u2014' }));
      }
      body.appendChild(tr);
    }
    table.appendChild(body);
    return table;

    function cell(mean, sem, n, u) {
      return el('td', { class: 'num', bg: heatColor(mean), title: 'mean ' + fmt(mean) + ', SEM ' + fmt(sem) + ', n ' + n + ', unscored ' + u },
        fmt(mean) + (sem === null || sem === undefined ? '' : ' \u00b1 ' + fmt(sem)),
        el('span', { class: 'cell-sub', text: 'n ' + n + ' \u00b7 u ' + u }));
    }
  }

  function categoryChartSection() {
    const box = el('div');
    const picks = el('div', { class: 'controls' });
    const chart = el('div', { class: 'scroll' });
    for (const k of ORDER) {
      const cb = el('input', { type: 'checkbox' });
      cb.checked = state.chartModels.has(k);
      cb.addEventListener('change', () => {
        if (cb.checked) state.chartModels.add(k); else state.chartModels.delete(k);
        chart.replaceChildren(categoryChart());
      });
      picks.appendChild(el('label', { class: 'pick' }, cb, el('span', { text: MODELS[k].model })));
    }
    box.appendChild(el('p', { class: 'muted', text: 'Mean \u00b1 SEM per category (bars: \u00b1 1 SEM; hover for n and unscored). Pick the models to plot:' }));
    box.appendChild(picks);
    chart.appendChild(categoryChart());
    box.appendChild(chart);
    return box;
  }

  function categoryChart() {
    const chosen = ORDER.filter(k => state.chartModels.has(k));
    const rowH = Math.max(18, 8 * chosen.length + 10);
    const left = 180, plotW = 520, top = 24;
    const h = top + rowH * D.categories.length + 10;
    const x = v => left + (v - 1) / 9 * plotW;
    const s = svg('svg', { id: 'category-chart', width: left + plotW + 20, height: h, role: 'img' });
    for (let v = 1; v <= 10; v++) {
      s.appendChild(svg('line', { x1: x(v), x2: x(v), y1: top - 4, y2: h - 10, stroke: '#eef0f4' }));
      s.appendChild(svg('text', { x: x(v), y: top - 8, 'text-anchor': 'middle' }, String(v)));
    }
    D.categories.forEach((c, ci_) => {
      const y0 = top + ci_ * rowH;
      s.appendChild(svg('text', { x: left - 8, y: y0 + rowH / 2 + 4, 'text-anchor': 'end' }, clip(c, 28)));
      s.appendChild(svg('line', { x1: left, x2: left + plotW, y1: y0 + rowH, y2: y0 + rowH, stroke: '#d9dee7' }));
      chosen.forEach((k, j) => {
        const cs = MODELS[k].categories.find(q => q.category === c);
        if (!cs || cs.mean === null) return;
        const y = y0 + 8 + j * 8;
        const color = PALETTE[ORDER.indexOf(k) % PALETTE.length];
        const g = svg('g', null);
        if (cs.sem !== null) g.appendChild(svg('line', { x1: x(Math.max(1, cs.mean - cs.sem)), x2: x(Math.min(10, cs.mean + cs.sem)), y1: y, y2: y, stroke: color, 'stroke-width': 2 }));
        g.appendChild(svg('circle', { cx: x(cs.mean), cy: y, r: 3, fill: color }));
        g.appendChild(svg('title', null, MODELS[k].model + ' \u00b7 ' + c + ': ' + fmt(cs.mean) + ' \u00b1 ' + fmt(cs.sem) + ' (n ' + cs.n + ', unscored ' + cs.n_unscored + ')'));
        s.appendChild(g);
      });
    });
    const wrap = el('div');
    wrap.appendChild(el('div', { class: 'legend' }, chosen.map(k => el('span', null, el('i', { bg: PALETTE[ORDER.indexOf(k) % PALETTE.length] }), MODELS[k].model))));
    wrap.appendChild(s);
    return wrap;
  }

  function levelsPerModel() {
    const counts = MODELS.map(() => ({}));
    for (let a = 0; a < NA; a++) {
      const r = rubricOf(a);
      const c = counts[A.model[a]];
      for (const lv of A.levels[a]) {
        const b = bucket(lv, r ? r.levels.length : 4);
        c[b] = (c[b] || 0) + 1;
      }
    }
    const names = LEGEND_LEVELS.length === 4 ? LEGEND_LEVELS : ['best', 'upper', 'lower', 'worst'];
    const table = el('table', { id: 'levels-per-model' }, el('thead', null, el('tr', null, el('th', { text: 'Model' }), el('th', { text: 'Distribution' }),
      names.map(n => el('th', { class: 'num', text: n })), el('th', { class: 'num', text: 'unscored' }), el('th', { class: 'num', text: 'not graded' }), el('th', { class: 'num', text: 'criteria' }))));
    const body = el('tbody');
    for (const k of ORDER) {
      const c = counts[k];
      const total = [0, 1, 2, 3, 'u', 'n'].reduce((s, b) => s + (c[b] || 0), 0);
      body.appendChild(el('tr', null, el('td', { text: MODELS[k].model }), el('td', null, levelBar(c, '220px')),
        [0, 1, 2, 3, 'u', 'n'].map(b => el('td', { class: 'num', text: (c[b] || 0) + (total ? ' (' + Math.round(100 * (c[b] || 0) / total) + '%)' : '') })),
        el('td', { class: 'num', text: total })));
    }
    table.appendChild(body);
    return table;
  }

  function modelDetails() {
    const head = ['Model', 'Status', 'Judge', 'Instructions', 'Scored', 'Unscored', 'Criteria scored', 'Criteria unscored', 'Failed judge calls', 'Judge cost', 'Summary'];
    const table = el('table', { id: 'model-details' }, el('thead', null, el('tr', null, head.map(h => el('th', { text: h })))));
    const body = el('tbody');
    for (const k of ORDER) {
      const m = MODELS[k];
      const g = m.grading;
      const summary = m.summary.status === 'ok' && m.summary.overall
        ? el('div', null, el('strong', { text: 'Pro: ' }), m.summary.overall.pros.join('; ') || '(none)', el('br'), el('strong', { text: 'Con: ' }), m.summary.overall.cons.join('; ') || '(none)')
        : el('span', { class: 'muted', text: m.summary.reason || m.summary.status });
      body.appendChild(el('tr', null, el('td', { text: m.model }), el('td', { class: m.status && m.status !== 'complete' ? 'flag-text' : '', text: m.status || '\u2014' }), el('td', { text: m.evaluator }), el('td', { class: 'num', text: m.n_instructions }),
        el('td', { class: 'num', text: m.score.n }), el('td', { class: 'num', text: m.score.n_unscored }), el('td', { class: 'num', text: g.n_scored }),
        el('td', { class: 'num', text: g.n_unscored }), el('td', { class: 'num', text: g.n_failed_calls }),
        el('td', { class: 'num', text: '$' + fmt(m.evaluation_cost_usd, 4) + (m.n_unpriced_calls ? ' + ' + m.n_unpriced_calls + ' unpriced' : '') }),
        el('td', { class: 'feedback' }, summary)));
    }
    table.appendChild(body);
    return table;
  }

  // -- instructions table + drill-down ------------------------------------------------------------

  function filteredAnswers() {
    const t = state.table;
    const q = t.q.trim().toLowerCase();
    const min = t.min === '' ? null : Number(t.min);
    const max = t.max === '' ? null : Number(t.max);
    const out = [];
    for (let a = 0; a < NA; a++) {
      if (t.model >= 0 && A.model[a] !== t.model) continue;
      const i = A.instruction[a];
      if (t.category >= 0 && D.instructions[i].category !== t.category) continue;
      const s = A.score[a];
      if (min !== null && (s === null || s < min)) continue;
      if (max !== null && (s === null || s > max)) continue;
      if (t.unscoredOnly && !A.levels[a].includes(UNSCORED)) continue;
      if (q && !INSTR_LOWER[i].includes(q)) continue;
      out.push(a);
    }
    const key = {
      id: a => D.instructions[A.instruction[a]].id || '',
      instruction: a => D.instructions[A.instruction[a]].text,
      category: a => D.categories[D.instructions[A.instruction[a]].category],
      model: a => MODELS[A.model[a]].model,
      score: a => A.score[a],
      unscored: a => nUnscored(a),
    }[t.sort];
    const dir = t.dir;
    out.sort((x, y) => {
      const kx = key(x), ky = key(y);
      if (kx === ky) return x - y;
      if (kx === null) return 1;  // unscored last either way
      if (ky === null) return -1;
      return (kx < ky ? -1 : 1) * dir;
    });
    return out;
  }

  function renderInstructions(root) {
    const detail = el('div', { id: 'detail' });
    root.appendChild(detail);
    if (state.detail !== null) renderDetail(detail, state.detail);
    root.appendChild(el('h2', { text: 'Answers per instruction' }));
    const t = state.table;
    const tableBox = el('div', { id: 'answers-box' });
    const redraw = () => { t.page = 0; drawTable(tableBox, detail); };
    const modelSel = el('select', { id: 'filter-model' }, option(-1, 'all models', t.model === -1), ORDER.map(k => option(k, MODELS[k].model, t.model === k)));
    modelSel.addEventListener('change', () => { t.model = Number(modelSel.value); redraw(); });
    const catSel = el('select', { id: 'filter-category' }, option(-1, 'all categories', t.category === -1), D.categories.map((c, i) => option(i, c, t.category === i)));
    catSel.addEventListener('change', () => { t.category = Number(catSel.value); redraw(); });
    const minIn = el('input', { id: 'filter-min', type: 'number', min: 1, max: 10, step: 0.1, value: t.min });
    minIn.addEventListener('input', () => { t.min = minIn.value; redraw(); });
    const maxIn = el('input', { id: 'filter-max', type: 'number', min: 1, max: 10, step: 0.1, value: t.max });
    maxIn.addEventListener('input', () => { t.max = maxIn.value; redraw(); });
    const qIn = el('input', { id: 'filter-text', type: 'search', placeholder: 'id or words', value: t.q });
    qIn.addEventListener('input', () => { t.q = qIn.value; redraw(); });
    const unIn = el('input', { id: 'filter-unscored', type: 'checkbox' });
    unIn.checked = t.unscoredOnly;
    unIn.addEventListener('change', () => { t.unscoredOnly = unIn.checked; redraw(); });
    root.appendChild(el('div', { class: 'controls' },
      el('label', null, 'Model', modelSel), el('label', null, 'Category', catSel),
      el('label', null, 'Score \u2265', minIn), el('label', null, 'Score \u2264', maxIn),
      el('label', null, 'Instruction contains', qIn), el('label', null, 'With unscored criteria', unIn)));
    root.appendChild(tableBox);
    drawTable(tableBox, detail);
  }

  function drawTable(box, detail) {
    const t = state.table;
    const rows = filteredAnswers();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    t.page = Math.min(t.page, pages - 1);
    const cols = [['id', 'Id', ''], ['instruction', 'Instruction', ''], ['category', 'Category', ''], ['model', 'Model', ''], ['score', 'Score', 'num'], [null, 'Levels', ''], ['unscored', 'Unscored criteria', 'num']];
    const headRow = el('tr');
    for (const [key, label, cls] of cols) {
      const th = el('th', { text: label, class: (cls + (key ? ' sortable' : '') + (key === t.sort ? (t.dir > 0 ? ' sorted-asc' : ' sorted-desc') : '')).trim(), data: key ? { sort: key } : undefined });
      if (key) activate(th, () => { if (t.sort === key) t.dir = -t.dir; else { t.sort = key; t.dir = key === 'score' ? -1 : 1; } drawTable(box, detail); });
      headRow.appendChild(th);
    }
    const body = el('tbody');
    for (const a of rows.slice(t.page * PAGE, (t.page + 1) * PAGE)) {
      const ins = D.instructions[A.instruction[a]];
      const tr = el('tr', { class: 'clickable', data: { answer: a } },
        el('td', { text: ins.id === null ? '' : ins.id }),
        el('td', { class: 'truncate', text: clip(ins.text, 110), title: clip(ins.text, 400) }),
        el('td', { text: D.categories[ins.category] }),
        el('td', { class: 'model', text: MODELS[A.model[a]].model }),
        el('td', { class: 'num score', text: A.score[a] === null ? 'unscored' : fmt(A.score[a]) }),
        el('td', null, levelBar(answerLevelCounts(a))),
        el('td', { class: 'num', text: nUnscored(a) }));
      activate(tr, () => { state.detail = a; renderDetail(detail, a); detail.scrollIntoView(); });
      body.appendChild(tr);
    }
    box.replaceChildren(legend(), pager(t, pages, rows.length + ' answers (of ' + NA + ')', () => drawTable(box, detail), 'page'), el('div', { class: 'scroll' }, el('table', { id: 'answers' }, el('thead', null, headRow), body)));
  }

  function rubricTable(a, b) {
    // Rubric of answer a's instruction, a's chosen levels highlighted (and b's, when comparing).
    const r = rubricOf(a);
    if (!r) return el('p', { class: 'muted', text: 'This record has no rubric.' });
    const ta = answerText(a);
    const reasons = unscoredReasons();
    const others = INSTR_ANSWERS[A.instruction[a]];
    const head = el('tr', null, el('th', { text: 'Criterion' }), el('th', { class: 'num', text: 'Weight' }), r.levels.map(l => el('th', { text: l })),
      b === undefined ? [el('th', { text: 'Judge\u2019s feedback' }), el('th', { text: 'All models (' + others.length + ')' })] : el('th', { text: 'Levels' }));
    const body = el('tbody');
    r.criteria.forEach((name, c) => {
      const la = A.levels[a][c];
      const lb = b === undefined ? null : A.levels[b][c];
      const tr = el('tr', { data: { criterion: c } }, el('td', { text: name }), el('td', { class: 'num', text: fmt(r.weights[c], 1) }));
      r.levels.forEach((_, l) => {
        let cls = '';
        if (la === l) cls = 'chosen';
        if (lb === l) cls = cls ? 'chosen chosen-b' : 'chosen-b';
        tr.appendChild(el('td', { class: cls, text: r.descriptions[c][l] }));
      });
      const label = (lv, ans) => lv >= 0 ? r.levels[lv] : lv === UNSCORED ? 'unscored: ' + (reasons.get(ans + ':' + c) || 'no reason recorded') : 'not graded';
      if (b === undefined) {
        tr.appendChild(el('td', { class: 'feedback' }, el('strong', { class: la === UNSCORED ? 'unscored-tag' : '', text: label(la, a) + '. ' }), ta.feedback[c] || ''));
        const counts = {};
        for (const o of others) { const k = bucket(A.levels[o][c], r.levels.length); counts[k] = (counts[k] || 0) + 1; }
        tr.appendChild(el('td', null, levelBar(counts, '120px')));
      } else {
        tr.appendChild(el('td', { class: 'feedback' }, el('div', null, el('strong', { text: 'A: ' }), label(la, a)), el('div', null, el('strong', { text: 'B: ' }), label(lb, b))));
      }
      body.appendChild(tr);
    });
    return el('div', { class: 'scroll' }, el('table', { class: 'rubric' }, el('thead', null, head), body));
  }

  let reasonMap = null;
  function unscoredReasons() {
    if (!reasonMap) {
      reasonMap = new Map();
      const U = D.unscored;
      for (let j = 0; j < U.answer.length; j++) reasonMap.set(U.answer[j] + ':' + U.criterion[j], D.reasons[U.reason[j]]);
    }
    return reasonMap;
  }

  function scoreText(a) {
    const lv = A.levels[a];
    const scored = lv.filter(x => x >= 0).length;
    return (A.score[a] === null ? 'unscored' : fmt(A.score[a])) + ' (' + scored + ' of ' + lv.length + ' criteria scored)';
  }

  function renderDetail(box, a) {
    history.replaceState(null, '', '#answer-' + a);
    const i = A.instruction[a];
    const ins = D.instructions[i];
    const t = answerText(a);
    const compareSel = el('select', { id: 'compare-with' }, option(-1, 'compare with\u2026', true),
      ORDER.filter(k => k !== A.model[a] && INSTR_ANSWERS[i].some(o => A.model[o] === k)).map(k => option(k, MODELS[k].model, false)));
    compareSel.addEventListener('change', () => {
      state.compare = { instruction: i, a: A.model[a], b: Number(compareSel.value) };
      show('compare');
    });
    const others = el('table', { class: 'others' }, el('thead', null, el('tr', null, el('th', { text: 'Model' }), el('th', { class: 'num', text: 'Score' }), el('th', { text: 'Levels' }))));
    const ob = el('tbody');
    for (const o of INSTR_ANSWERS[i].slice().sort((x, y) => (A.score[y] ?? -1) - (A.score[x] ?? -1))) {
      const tr = el('tr', { class: 'clickable' + (o === a ? ' current' : ''), data: { answer: o } }, el('td', { text: MODELS[A.model[o]].model + (o === a ? ' (shown)' : '') }),
        el('td', { class: 'num', text: A.score[o] === null ? 'unscored' : fmt(A.score[o]) }), el('td', null, levelBar(answerLevelCounts(o), '120px')));
      activate(tr, () => { state.detail = o; renderDetail(box, o); });
      ob.appendChild(tr);
    }
    others.appendChild(ob);
    box.replaceChildren(el('div', { class: 'panel', id: 'answer-detail', data: { answer: a } },
      el('h2', null, 'Instruction ' + (ins.id === null ? '' : '#' + ins.id + ' ') + '\u00b7 ' + D.categories[ins.category] + ' \u00b7 ', el('span', { class: 'model', text: MODELS[A.model[a]].model })),
      el('p', null, el('strong', { text: 'Score: ' }), el('span', { class: 'detail-score', text: scoreText(a) }), ' \u00b7 ', el('button', { class: 'link', text: 'close', on: { click: () => { state.detail = null; box.replaceChildren(); history.replaceState(null, '', location.pathname); } } }), ' \u00b7 ', compareSel),
      el('h3', { text: 'Instruction' }), el('div', { class: 'text instruction-text', text: ins.text }),
      el('h3', { text: 'Rubric (chosen level highlighted) and the judge\u2019s feedback' }), legend(), rubricTable(a),
      el('h3', { text: 'Answer' }), el('div', { class: 'text answer-text', text: t.output === null ? '(no output)' : t.output }),
      el('h3', { text: 'All models on this instruction' }), others));
  }

  // -- compare ------------------------------------------------------------------------------------

  function answerOf(i, k) {
    return INSTR_ANSWERS[i].find(o => A.model[o] === k);
  }

  function renderCompare(root) {
    const c = state.compare;
    const insSel = el('select', { id: 'compare-instruction' }, D.instructions.map((_, i) => option(i, instrLabel(i), i === c.instruction)));
    const aSel = el('select', { id: 'compare-a' }, ORDER.map(k => option(k, MODELS[k].model, k === c.a)));
    const bSel = el('select', { id: 'compare-b' }, ORDER.map(k => option(k, MODELS[k].model, k === c.b)));
    const out = el('div', { id: 'compare-view' });
    const redraw = () => { c.instruction = Number(insSel.value); c.a = Number(aSel.value); c.b = Number(bSel.value); drawCompare(out); };
    for (const s of [insSel, aSel, bSel]) s.addEventListener('change', redraw);
    root.appendChild(el('h2', { text: 'Two models side by side on one instruction' }));
    root.appendChild(el('div', { class: 'controls' }, el('label', null, 'Instruction', insSel), el('label', null, 'Model A', aSel), el('label', null, 'Model B', bSel)));
    root.appendChild(out);
    drawCompare(out);
  }

  function drawCompare(out) {
    const c = state.compare;
    const ins = D.instructions[c.instruction];
    const a = answerOf(c.instruction, c.a);
    const b = answerOf(c.instruction, c.b);
    const parts = [el('h3', { text: 'Instruction' }), el('div', { class: 'text instruction-text', text: ins.text })];
    if (a === undefined || b === undefined) {
      parts.push(el('p', { class: 'note', text: (a === undefined ? MODELS[c.a].model : MODELS[c.b].model) + ' has no answer to this instruction in this report.' }));
      out.replaceChildren(...parts);
      return;
    }
    parts.push(el('h3', { text: 'Rubric: A\u2019s level solid, B\u2019s dashed' }), rubricTable(a, b));
    const col = (ans, tag) => {
      const t = answerText(ans);
      const r = rubricOf(ans);
      return el('div', { class: 'compare-col', data: { answer: ans } },
        el('h3', null, tag + ': ', el('span', { class: 'model', text: MODELS[A.model[ans]].model })),
        el('p', null, el('strong', { text: 'Score: ' }), el('span', { class: 'detail-score', text: scoreText(ans) })),
        el('h3', { text: 'Judge\u2019s feedback' }),
        el('ul', { class: 'feedback' }, (r ? r.criteria : []).map((name, ci_) => el('li', null, el('strong', { text: name + ': ' }),
          A.levels[ans][ci_] === UNSCORED ? el('span', { class: 'unscored-tag', text: 'unscored: ' + (unscoredReasons().get(ans + ':' + ci_) || 'no reason recorded') + '. ' }) : null,
          t.feedback[ci_] || ''))),
        el('h3', { text: 'Answer' }), el('div', { class: 'text answer-text', text: t.output === null ? '(no output)' : t.output }));
    };
    parts.push(el('div', { class: 'side' }, col(a, 'A'), col(b, 'B')));
    out.replaceChildren(...parts);
  }

  // -- worst instructions -------------------------------------------------------------------------

  function renderWorst(root) {
    const w = state.worst;
    const sel = el('select', { id: 'worst-model' }, option(-1, 'all models', w.model === -1), ORDER.map(k => option(k, MODELS[k].model, w.model === k)));
    const kIn = el('input', { id: 'worst-k', type: 'number', min: 1, max: 100, value: w.k });
    const out = el('div');
    const draw = () => {
      w.model = Number(sel.value); w.k = Math.max(1, Number(kIn.value) || 5);
      out.replaceChildren(...(w.model >= 0 ? [w.model] : ORDER).map(worstFor));
    };
    sel.addEventListener('change', draw); kIn.addEventListener('change', draw);
    root.appendChild(el('h2', { text: 'Each model\u2019s worst instructions' }));
    root.appendChild(el('p', { class: 'muted', text: 'Lowest instruction scores first; unscored instructions are counted, not ranked.' }));
    root.appendChild(el('div', { class: 'controls' }, el('label', null, 'Model', sel), el('label', null, 'How many', kIn)));
    root.appendChild(out);
    draw();
  }

  function worstFor(k) {
    const start = D.model_start[k];
    const end = k + 1 < D.model_start.length ? D.model_start[k + 1] : NA;
    const scored = [];
    let unscored = 0;
    for (let a = start; a < end; a++) if (A.score[a] === null) unscored++; else scored.push(a);
    scored.sort((x, y) => A.score[x] - A.score[y] || x - y);
    const body = el('tbody');
    for (const a of scored.slice(0, state.worst.k)) {
      const ins = D.instructions[A.instruction[a]];
      const tr = el('tr', { class: 'clickable', data: { answer: a } }, el('td', { class: 'num', text: fmt(A.score[a]) }), el('td', { text: ins.id === null ? '' : ins.id }),
        el('td', { text: D.categories[ins.category] }), el('td', { class: 'truncate', text: clip(ins.text, 110) }), el('td', null, levelBar(answerLevelCounts(a), '120px')));
      activate(tr, () => openAnswer(a));
      body.appendChild(tr);
    }
    const m = MODELS[k];
    return el('div', { class: 'worst', data: { model: m.model } },
      el('h3', null, m.model + ' \u00b7 mean ' + fmt(m.score.mean) + ' \u00b1 ' + fmt(m.score.sem) + ' (n ' + m.score.n + ', unscored ' + m.score.n_unscored + ')' + (unscored ? ' \u00b7 ' + unscored + ' unscored instructions' : '')),
      el('table', null, el('thead', null, el('tr', null, ['Score', 'Id', 'Category', 'Instruction', 'Levels'].map(h => el('th', { text: h })))), body));
  }

  function openAnswer(a) {
    state.detail = a;
    show('instructions');
    document.getElementById('detail').scrollIntoView();
  }

  // -- levels per criterion -----------------------------------------------------------------------

  let criteriaRows = null;
  function allCriteria() {
    if (criteriaRows) return criteriaRows;
    criteriaRows = [];
    D.instructions.forEach((ins, i) => {
      if (ins.rubric < 0) return;
      const r = D.rubrics[ins.rubric];
      const n = r.levels.length;
      r.criteria.forEach((name, c) => {
        const counts = {};
        let sum = 0, scored = 0;
        for (const a of INSTR_ANSWERS[i]) {
          const lv = A.levels[a][c];
          const b = bucket(lv, n);
          counts[b] = (counts[b] || 0) + 1;
          if (lv >= 0) { sum += 10 - lv * 9 / (n - 1); scored++; }
        }
        criteriaRows.push({ i: i, c: c, name: name, counts: counts, mean: scored ? sum / scored : null, n: scored, u: counts.u || 0 });
      });
    });
    return criteriaRows;
  }

  function renderCriteria(root) {
    const s = state.criteria;
    root.appendChild(el('h2', { text: 'Level distribution per criterion' }));
    root.appendChild(el('p', { class: 'muted', text: 'Each rubric criterion, with the levels all models\u2019 answers got on it. Mean: the level\u2019s score (best 10, worst 1) averaged over the models scored on it.' }));
    const catSel = el('select', { id: 'criteria-category' }, option(-1, 'all categories', s.category === -1), D.categories.map((c, i) => option(i, c, s.category === i)));
    const qIn = el('input', { id: 'criteria-text', type: 'search', placeholder: 'criterion or instruction', value: s.q });
    const box = el('div');
    catSel.addEventListener('change', () => { s.category = Number(catSel.value); s.page = 0; draw(); });
    qIn.addEventListener('input', () => { s.q = qIn.value; s.page = 0; draw(); });
    root.appendChild(el('div', { class: 'controls' }, el('label', null, 'Category', catSel), el('label', null, 'Contains', qIn)));
    root.appendChild(legend());
    root.appendChild(box);
    draw();

    function draw() {
      const q = s.q.trim().toLowerCase();
      const rows = allCriteria().filter(r => (s.category < 0 || D.instructions[r.i].category === s.category) && (!q || r.name.toLowerCase().includes(q) || INSTR_LOWER[r.i].includes(q)));
      const key = { mean: r => r.mean, name: r => r.name.toLowerCase(), u: r => r.u }[s.sort];
      rows.sort((x, y) => {
        const kx = key(x), ky = key(y);
        if (kx === ky) return 0;
        if (kx === null) return 1;
        if (ky === null) return -1;
        return (kx < ky ? -1 : 1) * s.dir;
      });
      const pages = Math.max(1, Math.ceil(rows.length / PAGE));
      s.page = Math.min(s.page, pages - 1);
      const th = (k, label, cls) => {
        const cell = el('th', { class: (cls || '') + (k ? ' sortable' : '') + (k === s.sort ? (s.dir > 0 ? ' sorted-asc' : ' sorted-desc') : ''), text: label });
        if (k) activate(cell, () => { if (s.sort === k) s.dir = -s.dir; else { s.sort = k; s.dir = 1; } draw(); });
        return cell;
      };
      const body = el('tbody');
      for (const r of rows.slice(s.page * PAGE, (s.page + 1) * PAGE)) {
        const tr = el('tr', { class: 'clickable' }, el('td', { text: r.name }), el('td', { class: 'truncate', text: instrLabel(r.i) }),
          el('td', null, levelBar(r.counts, '200px')), el('td', { class: 'num', text: fmt(r.mean) }), el('td', { class: 'num', text: r.n }), el('td', { class: 'num', text: r.u }));
        activate(tr, () => openAnswer(INSTR_ANSWERS[r.i][0]));
        body.appendChild(tr);
      }
      box.replaceChildren(
        pager(s, pages, rows.length + ' criteria', draw),
        el('div', { class: 'scroll' }, el('table', { id: 'criteria' }, el('thead', null, el('tr', null, th('name', 'Criterion'), th(null, 'Instruction'), th(null, 'Levels (all models)'), th('mean', 'Mean', 'num'), th(null, 'n scored', 'num'), th('u', 'Unscored', 'num'))), body)));
    }
  }

  // -- unscored -----------------------------------------------------------------------------------

  function renderUnscored(root) {
    const U = D.unscored;
    const s = state.unscored;
    root.appendChild(el('h2', { text: 'Unscored criteria and why' }));
    root.appendChild(el('p', { class: 'muted', text: 'An unscored criterion is left out of its instruction\u2019s score (never counted as 0); an instruction with no scored criterion is left out of the mean and counted as unscored.' }));
    const perModel = el('table', { id: 'unscored-per-model' }, el('thead', null, el('tr', null, ['Model', 'Unscored instructions', 'Unscored criteria', 'Criteria', 'Failed judge calls', 'Invented criteria (dropped)', 'Unknown levels'].map(h => el('th', { text: h })))));
    const pb = el('tbody');
    for (const k of ORDER) {
      const m = MODELS[k]; const g = m.grading;
      pb.appendChild(el('tr', null, el('td', { text: m.model }), [m.score.n_unscored, g.n_unscored, g.n_criteria, g.n_failed_calls, g.n_invented_criteria, g.n_unknown_levels].map(v => el('td', { class: 'num', text: v }))));
    }
    perModel.appendChild(pb);
    root.appendChild(el('div', { class: 'scroll' }, perModel));
    const byReason = new Map();
    for (const r of U.reason) byReason.set(r, (byReason.get(r) || 0) + 1);
    root.appendChild(el('h3', { text: 'Reasons' }));
    root.appendChild(el('table', { id: 'unscored-reasons' }, el('thead', null, el('tr', null, el('th', { text: 'Reason' }), el('th', { class: 'num', text: 'Criteria' }))),
      el('tbody', null, [...byReason.entries()].sort((x, y) => y[1] - x[1]).map(([r, n]) => el('tr', null, el('td', { text: D.reasons[r] }), el('td', { class: 'num', text: n }))))));
    const sel = el('select', { id: 'unscored-model' }, option(-1, 'all models', s.model === -1), ORDER.map(k => option(k, MODELS[k].model, s.model === k)));
    const box = el('div');
    sel.addEventListener('change', () => { s.model = Number(sel.value); s.page = 0; draw(); });
    root.appendChild(el('h3', { text: 'Every unscored criterion' }));
    root.appendChild(el('div', { class: 'controls' }, el('label', null, 'Model', sel)));
    root.appendChild(box);
    draw();

    function draw() {
      const idx = [];
      for (let j = 0; j < U.answer.length; j++) if (s.model < 0 || A.model[U.answer[j]] === s.model) idx.push(j);
      const pages = Math.max(1, Math.ceil(idx.length / PAGE));
      s.page = Math.min(s.page, pages - 1);
      const body = el('tbody');
      for (const j of idx.slice(s.page * PAGE, (s.page + 1) * PAGE)) {
        const a = U.answer[j];
        const r = rubricOf(a);
        const tr = el('tr', { class: 'clickable', data: { answer: a } }, el('td', { text: MODELS[A.model[a]].model }), el('td', { class: 'truncate', text: instrLabel(A.instruction[a]) }),
          el('td', { text: r ? r.criteria[U.criterion[j]] : '' }), el('td', { text: D.reasons[U.reason[j]] }));
        activate(tr, () => openAnswer(a));
        body.appendChild(tr);
      }
      box.replaceChildren(
        pager(s, pages, idx.length + ' unscored criteria', draw),
        el('div', { class: 'scroll' }, el('table', { id: 'unscored-list' }, el('thead', null, el('tr', null, ['Model', 'Instruction', 'Criterion', 'Reason'].map(h => el('th', { text: h })))), body)));
    }
  }

  // -- runs & diagnostics: every other part of the JSON report, as tables -------------------------

  // Fields with a view of their own elsewhere in the page.
  const SHOWN_REPORT = new Set(['title', 'dataset', 'evaluators', 'summarizer', 'version', 'generated_at', 'models', 'leaderboard', 'leaderboard_path', 'alpha', 'notes']);
  const SHOWN_MODEL = new Set(['categories', 'summary', 'answers']);
  const MAX_ROWS = 200;

  function isScalar(v) {
    return v === null || typeof v !== 'object';
  }

  function scalarText(v) {
    if (v === null || v === undefined) return 'n/a';
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : fmt(v, 4);
    return String(v);
  }

  function label(key) {
    return String(key).replace(/_/g, ' ');
  }

  // A JSON value as nested tables; text always through textContent.
  function valueView(v, depth) {
    if (isScalar(v)) return document.createTextNode(scalarText(v));
    if (depth > 6) return document.createTextNode(clip(JSON.stringify(v), 200));
    if (Array.isArray(v)) {
      if (!v.length) return el('span', { class: 'muted', text: '(none)' });
      if (v.every(isScalar)) return document.createTextNode(v.map(scalarText).join(', '));
      const flat = v.every(x => x && typeof x === 'object' && !Array.isArray(x));
      if (flat) {
        const cols = [];
        for (const row of v) for (const k of Object.keys(row)) if (!cols.includes(k)) cols.push(k);
        const body = el('tbody', null, v.slice(0, MAX_ROWS).map(row => el('tr', null, cols.map(k => el('td', { class: typeof row[k] === 'number' ? 'num' : '' }, valueView(row[k] === undefined ? null : row[k], depth + 1))))));
        return el('div', { class: 'scroll' }, el('table', { class: 'json' }, el('thead', null, el('tr', null, cols.map(k => el('th', { text: label(k) })))), body),
          v.length > MAX_ROWS ? el('p', { class: 'muted', text: (v.length - MAX_ROWS) + ' more rows in the JSON report' }) : null);
      }
      return el('ol', null, v.slice(0, MAX_ROWS).map(x => el('li', null, valueView(x, depth + 1))));
    }
    const keys = Object.keys(v);
    if (!keys.length) return el('span', { class: 'muted', text: '(empty)' });
    return el('table', { class: 'json' }, el('tbody', null, keys.map(k => el('tr', null, el('th', { text: label(k) }), el('td', null, valueView(v[k], depth + 1))))));
  }

  function renderMore(root) {
    root.appendChild(el('h2', { text: 'Runs and diagnostics' }));
    root.appendChild(el('p', { class: 'muted', text: 'Everything else in the JSON report: how each model\u2019s run was made and graded, and the report-wide diagnostics.' }));
    for (const [key, value] of Object.entries(R)) {
      if (SHOWN_REPORT.has(key) || value === null || value === undefined) continue;
      root.appendChild(el('section', { class: 'report-section', data: { key: key } }, el('h3', { text: label(key) }), valueView(value, 0)));
    }
    for (const k of ORDER) {
      const m = MODELS[k];
      const rest = {};
      for (const [key, value] of Object.entries(m)) if (!SHOWN_MODEL.has(key)) rest[key] = value;
      const box = el('details', { class: 'panel model-section', data: { model: m.model } }, el('summary', null, el('strong', { text: m.model }), ' \u00b7 ' + (m.status || 'run details')));
      box.appendChild(valueView(rest, 0));
      root.appendChild(box);
    }
  }

  // -- start --------------------------------------------------------------------------------------

  header();
  // A link to one answer (the address after opening it) opens that answer.
  const linked = /^#answer-(\d+)$/.exec(location.hash);
  if (linked && Number(linked[1]) < NA) { state.detail = Number(linked[1]); show('instructions'); } else show('overview');
  document.documentElement.dataset.readyMs = String(Math.round(performance.now()));
  document.documentElement.dataset.scriptMs = String(Math.round(performance.now() - T0));
  document.documentElement.dataset.ready = '1';
  // After the first layout and paint: what "interactive" means to a reader (benchmarks/html_report.py).
  requestAnimationFrame(() => setTimeout(() => { document.documentElement.dataset.paintedMs = String(Math.round(performance.now())); }, 0));
})();
