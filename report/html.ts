import type { LineageNode, ReportData } from './data.ts';

// The campaign report as ONE self-contained HTML file: the data as embedded JSON, Chart.js
// inlined (its UMD build), and a Content-Security-Policy that forbids every network request,
// so the file opens the same from a laptop, a CI artefact or an e-mail attachment.

export function escapeHtml(text: unknown): string {
  return String(text ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON that is safe inside a <script> element (no "</script>", no HTML comment openers). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Library source that is safe inside a <script> element. */
function scriptSource(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1');
}

function fmt(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

function signed(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
}

function gainClass(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x) || x === 0) return '';
  return x > 0 ? 'pos' : 'neg';
}

function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${Math.round(x * 100)}%`;
}

function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 90) return `${s.toFixed(1)} s`;
  const m = s / 60;
  if (m < 90) return `${m.toFixed(1)} min`;
  return `${(m / 60).toFixed(1)} h`;
}

function count(x: number): string {
  return x.toLocaleString('en-US');
}

function lineageItem(node: LineageNode): string {
  const via =
    node.via.length > 0
      ? ` <span class="via">via ${node.via
          .slice()
          .reverse()
          .map((n) => `#${n}`)
          .join(' → ')} (not kept)</span>`
      : '';
  const badge = node.champion ? ' <span class="badge">champion</span>' : '';
  const gain = node.gain === null ? '' : ` <span class="gain ${gainClass(node.gain)}">${signed(node.gain)}</span>`;
  const edits = node.edits.length > 0 ? escapeHtml(node.edits.join('; ')) : node.parent === null ? 'baseline' : '(no edits)';
  return (
    `<li class="${node.champion ? 'champ' : ''}" title="${escapeHtml(node.hypothesis)}">` +
    `<span class="n">#${node.n}</span> <span class="metric">${fmt(node.metric)}</span>${gain}${badge} ` +
    `<span class="edits">${edits}</span>${via}</li>`
  );
}

/**
 * Nested lists of kept experiments. A chain (one kept child after another) stays at one
 * indentation level; only forks indent, so a long lineage stays readable.
 */
export function renderLineage(nodes: readonly LineageNode[]): string {
  if (nodes.length === 0) return '<p class="note">No experiment was kept yet.</p>';
  const children = new Map<number, LineageNode[]>();
  const roots: LineageNode[] = [];
  for (const node of nodes) {
    if (node.parent === null) roots.push(node);
    else {
      const list = children.get(node.parent) ?? [];
      list.push(node);
      children.set(node.parent, list);
    }
  }
  const chain = (start: LineageNode): string => {
    let html = '';
    let current: LineageNode | undefined = start;
    while (current) {
      html += lineageItem(current);
      const kids: LineageNode[] = children.get(current.n) ?? [];
      if (kids.length === 1) {
        current = kids[0];
        continue;
      }
      if (kids.length > 1) html += `<li class="fork"><ul>${kids.map(chain).join('')}</ul></li>`;
      current = undefined;
    }
    return html;
  };
  return `<ul class="tree" id="lineage">${roots.map(chain).join('')}</ul>`;
}

const STYLE = `
:root { --fg:#1d2329; --muted:#5f6b76; --line:#d9dee3; --bg:#fff; --panel:#f6f8fa; --kept:#2e7d32; --disc:#8d99a6; --fail:#c62828; --best:#1565c0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.sub, .note, footer { color: var(--muted); }
.note { font-size: 12.5px; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--panel); padding: 1px 4px; border-radius: 3px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 10px; margin: 16px 0 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 22px; font-weight: 600; margin-top: 2px; }
.card .detail { color: var(--muted); font-size: 12.5px; }
.champion-box { background: #eef6ee; border: 1px solid #cfe3cf; border-radius: 6px; padding: 10px 14px; }
.chart { position: relative; height: 340px; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
td.text { white-space: normal; overflow-wrap: anywhere; width: 45%; }
ul.tree li { overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; background: var(--panel); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.pos { color: var(--kept); } .neg { color: var(--fail); }
.status-kept { color: var(--kept); font-weight: 600; } .status-discarded { color: var(--disc); } .status-failed { color: var(--fail); }
.controls { margin-bottom: 6px; font-size: 13px; } .controls label { margin-right: 14px; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 18px; }
ul.tree { padding-left: 0; }
ul.tree li { position: relative; padding: 2px 0 2px 14px; border-left: 2px solid var(--line); }
ul.tree li.fork { border-left: 2px solid var(--line); padding-left: 0; }
ul.tree li.champ { background: #eef6ee; }
ul.tree .n { font-weight: 600; } ul.tree .metric { font-variant-numeric: tabular-nums; }
ul.tree .edits { color: var(--fg); } ul.tree .via { color: var(--muted); font-size: 12px; }
.badge { background: var(--kept); color: #fff; border-radius: 8px; padding: 0 7px; font-size: 11px; }
.scroll { max-height: 560px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
footer { margin-top: 40px; font-size: 12px; }
`;

/** The page's own script: draws the three charts from the embedded data. */
const DRAW = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var css = getComputedStyle(document.documentElement);
  var col = function (name) { return css.getPropertyValue(name).trim(); };
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  var better = data.direction === 'max' ? 'higher is better' : 'lower is better';
  var f4 = function (x) { return typeof x === 'number' ? x.toFixed(4) : String(x); };
  var many = data.metrics.length > 1500;

  new Chart(document.getElementById('chart-best'), {
    type: 'line',
    data: { datasets: [
      { label: 'best so far (champion)', data: data.bestSoFar, stepped: true, borderColor: col('--best'), backgroundColor: col('--best'), pointRadius: 0, borderWidth: 2, parsing: false },
      { type: 'scatter', label: 'each experiment', data: data.metrics, parsing: false, pointRadius: many ? 1 : 2.5, borderWidth: 0, backgroundColor: 'rgba(95,107,118,0.35)' }
    ] },
    options: {
      responsive: true, maintainAspectRatio: false, normalized: true,
      interaction: { mode: 'nearest', intersect: false },
      scales: { x: { type: 'linear', title: { display: true, text: 'experiment' } }, y: { title: { display: true, text: data.metricName + ' (' + better + ')' } } },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ' #' + c.raw.x + ': ' + f4(c.raw.y); } } } }
    }
  });

  var point = function (key) { return function (p) { return { x: p[key], y: p.y, n: p.n }; }; };
  var xs = data.scatter.kept.concat(data.scatter.discarded);
  var logScale = function (key) {
    var lo = Infinity, hi = 0;
    for (var i = 0; i < xs.length; i++) { var x = xs[i][key]; if (x > 0) { if (x < lo) lo = x; if (x > hi) hi = x; } }
    return hi > 0 && hi / lo > 20;
  };
  var costChart = new Chart(document.getElementById('chart-cost'), {
    type: 'scatter',
    data: { datasets: [
      { label: 'kept', data: data.scatter.kept.map(point('p')), backgroundColor: col('--kept'), pointRadius: 3.5, parsing: false },
      { label: 'discarded', data: data.scatter.discarded.map(point('p')), backgroundColor: 'rgba(141,153,166,0.45)', pointRadius: many ? 1.5 : 3, parsing: false }
    ] },
    options: {
      responsive: true, maintainAspectRatio: false, normalized: true,
      scales: { x: { type: logScale('p') ? 'logarithmic' : 'linear', title: { display: true, text: 'parameters' } }, y: { title: { display: true, text: data.metricName + ' (' + better + ')' } } },
      plugins: { tooltip: { callbacks: { label: function (c) { return '#' + c.raw.n + ' (' + c.dataset.label + '): ' + f4(c.raw.y) + ' at ' + c.raw.x.toLocaleString('en-US'); } } } }
    }
  });
  var radios = document.querySelectorAll('input[name="cost-axis"]');
  for (var i = 0; i < radios.length; i++) {
    radios[i].addEventListener('change', function (e) {
      var key = e.target.value;
      costChart.data.datasets[0].data = data.scatter.kept.map(point(key));
      costChart.data.datasets[1].data = data.scatter.discarded.map(point(key));
      costChart.options.scales.x.type = logScale(key) ? 'logarithmic' : 'linear';
      costChart.options.scales.x.title.text = key === 'p' ? 'parameters' : data.scatter.costLabel;
      costChart.update();
    });
  }

  var curveSets = [];
  var addCurve = function (which, label, color) {
    var c = data.curves[which];
    if (!c || !data.curves.key) return;
    var rows = c.rows;
    var x = function (r, i) { return typeof r.epoch === 'number' ? r.epoch : i + 1; };
    curveSets.push({ label: label + ' #' + c.n + ' ' + data.curves.key, data: rows.map(function (r, i) { return { x: x(r, i), y: r[data.curves.key] }; }), borderColor: color, backgroundColor: color, yAxisID: 'y', parsing: false, tension: 0.2 });
    if (data.curves.lossKey) {
      curveSets.push({ label: label + ' #' + c.n + ' ' + data.curves.lossKey, data: rows.map(function (r, i) { return { x: x(r, i), y: r[data.curves.lossKey] }; }), borderColor: color, backgroundColor: color, borderDash: [5, 4], yAxisID: 'y1', parsing: false, tension: 0.2 });
    }
  };
  addCurve('baseline', 'baseline', col('--disc'));
  if (!data.curves.champion || !data.curves.baseline || data.curves.champion.n !== data.curves.baseline.n) addCurve('champion', 'champion', col('--kept'));
  new Chart(document.getElementById('chart-curves'), {
    type: 'line',
    data: { datasets: curveSets },
    options: {
      responsive: true, maintainAspectRatio: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'epoch' }, ticks: { precision: 0 } },
        y: { position: 'left', title: { display: true, text: data.curves.key || '' } },
        y1: { position: 'right', display: !!data.curves.lossKey, grid: { drawOnChartArea: false }, title: { display: true, text: (data.curves.lossKey || '') + ' (dashed)' } }
      }
    }
  });
  window.arloReport = { ready: true, campaignId: data.campaignId };
})();
`;

function editEffectsTable(data: ReportData): string {
  if (data.editEffects.length === 0) return '<p class="note">No edits recorded yet.</p>';
  const rows = data.editEffects
    .map(
      (e) =>
        `<tr><td><code>${escapeHtml(e.op)}</code></td><td class="num">${count(e.count)}</td><td class="num">${count(e.kept)}</td>` +
        `<td class="num">${pct(e.keepRate)}</td><td class="num ${gainClass(e.meanGain)}">${signed(e.meanGain)}</td>` +
        `<td class="num">${pct(e.winRate)}</td><td class="num">${count(e.failed)}</td></tr>`,
    )
    .join('');
  return (
    `<table id="edit-effects"><thead><tr><th>edit type</th><th class="num">experiments</th><th class="num">kept</th>` +
    `<th class="num">keep rate</th><th class="num">mean gain vs parent</th><th class="num">beat parent</th><th class="num">failed</th></tr></thead>` +
    `<tbody>${rows}</tbody></table>`
  );
}

function topTable(data: ReportData): string {
  if (data.top.length === 0) return '<p class="note">No experiment has a metric yet.</p>';
  const rows = data.top
    .map(
      (t) =>
        `<tr><td class="num">#${t.n}</td><td class="num">${fmt(t.metric)}</td><td class="status-${t.status}">${t.status}</td>` +
        `<td class="text">${escapeHtml(t.edits.join('; ') || '—')}</td><td class="text">${escapeHtml(t.hypothesis)}</td></tr>`,
    )
    .join('');
  return `<table id="top"><thead><tr><th class="num">n</th><th class="num">${escapeHtml(data.metricName)}</th><th>decision</th><th>edits</th><th>hypothesis</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function summary(data: ReportData): string {
  const c = data.counts;
  const card = (label: string, value: string, detail = '') =>
    `<div class="card"><div class="label">${label}</div><div class="value">${value}</div><div class="detail">${detail}</div></div>`;
  const champ = data.champion;
  const cards = [
    card('experiments', count(c.total), `${count(c.kept)} kept · ${count(c.discarded)} discarded · ${count(c.failed)} failed`),
    card('baseline', data.baseline ? fmt(data.baseline.metric) : '—', data.baseline ? `#${data.baseline.n}` : 'none yet'),
    card(
      'champion',
      champ ? fmt(champ.metric) : '—',
      champ ? `#${champ.n}, <span class="${gainClass(data.gain)}">${signed(data.gain)}</span> vs baseline` : 'none yet',
    ),
    card('improvements', count(data.improvements), 'times the champion changed'),
    card('training time', duration(data.trainingMs), 'summed over experiments'),
    card('LLM tokens', data.tokens === null ? '—' : count(data.tokens), data.tokens === null ? 'no model calls recorded' : 'spent proposing'),
  ].join('');
  const champBox = champ
    ? `<div class="champion-box"><strong>Champion #${champ.n}</strong> (${escapeHtml(data.metricName)} ${fmt(champ.metric)}): ` +
      `${escapeHtml(champ.hypothesis)}<br><span class="note">edits: ${escapeHtml(champ.edits.join('; ') || '—')}` +
      `${champ.tag ? ` · tag <code>${escapeHtml(champ.tag)}</code>` : ''}${champ.commit ? ` · commit <code>${champ.commit.slice(0, 12)}</code>` : ''}` +
      ` · reproduce with <code>arlo rerun ${escapeHtml(data.campaignId)} ${champ.n}</code></span></div>`
    : '';
  return `<section id="summary"><div class="cards">${cards}</div>${champBox}</section>`;
}

/** The whole report page. `chartJs` is the source of Chart.js's UMD build. */
export function renderReportHtml(data: ReportData, chartJs: string): string {
  const better = data.direction === 'max' ? 'higher is better' : 'lower is better';
  const meta = [
    data.template ? `template <strong>${escapeHtml(data.template)}</strong>` : null,
    data.agent ? `agent <strong>${escapeHtml(data.agent)}</strong>` : null,
    data.seed !== null ? `seed ${data.seed}` : null,
    `metric <strong>${escapeHtml(data.metricName)}</strong> (${better})`,
    data.createdAt ? `started ${escapeHtml(data.createdAt.replace('T', ' ').slice(0, 19))} UTC` : null,
    data.lastRecordedAt ? `last experiment ${escapeHtml(data.lastRecordedAt.replace('T', ' ').slice(0, 19))} UTC` : null,
  ]
    .filter(Boolean)
    .join(' · ');
  const missing = data.scatter.missingCost > 0 ? ` ${count(data.scatter.missingCost)} experiments without a readable spec are left out.` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="arlo report">
<title>arlo report: ${escapeHtml(data.campaignId)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>Campaign ${escapeHtml(data.campaignId)}</h1>
<p class="sub">${meta}</p>
${summary(data)}
<section><h2>Best so far</h2>
<div class="chart"><canvas id="chart-best" aria-label="best so far"></canvas></div>
<p class="note">The champion's ${escapeHtml(data.metricName)} after each experiment (line), and every experiment's own result (dots).</p></section>
<div class="grid2">
<section><h2>${escapeHtml(data.metricName)} vs model size</h2>
<div class="controls"><label><input type="radio" name="cost-axis" value="p" checked> parameters</label><label><input type="radio" name="cost-axis" value="f"> ${escapeHtml(data.scatter.costLabel)}</label></div>
<div class="chart"><canvas id="chart-cost" aria-label="metric vs model size"></canvas></div>
<p class="note">Coloured by decision; failed experiments have no metric (${count(data.counts.failed)} not shown).${missing}</p></section>
<section><h2>Training curves: baseline vs champion</h2>
<div class="controls">&nbsp;</div>
<div class="chart"><canvas id="chart-curves" aria-label="training curves"></canvas></div>
<p class="note">Per epoch, from each experiment's curve.csv; the dashed lines (right axis) are the loss.</p></section>
</div>
<section><h2>Effect of each edit type</h2>
${editEffectsTable(data)}
<p class="note">Gain = the experiment's ${escapeHtml(data.metricName)} minus its parent's, signed so that positive is better; an experiment that makes several kinds of edit counts for each. Keep rate = kept / experiments.</p></section>
<section><h2>Lineage of kept experiments</h2>
<p class="note">Each kept experiment under the kept experiment it descends from (through discarded parents where evolution bred from them), with its gain over that ancestor. Chains stay at one level; forks indent.</p>
<div class="scroll">${renderLineage(data.lineage)}</div></section>
<section><h2>Top experiments</h2>
${topTable(data)}</section>
<footer>Generated by arlo at ${escapeHtml(data.generatedAt)} from branch <code>campaign/${escapeHtml(data.campaignId)}</code>.
Every experiment: <code>arlo history ${escapeHtml(data.campaignId)}</code>; one in detail: <code>arlo show ${escapeHtml(data.campaignId)} &lt;n&gt;</code>; the lab notebook: <code>git log campaign/${escapeHtml(data.campaignId)}</code>.
This file is self-contained (charts by Chart.js, inlined) and makes no network requests.</footer>
</main>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${scriptSource(chartJs)}</script>
<script>${DRAW}</script>
</body>
</html>
`;
}
