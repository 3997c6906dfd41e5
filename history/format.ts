import type { CampaignRecord, ExperimentRecord, RecordedRung, ResultLine } from './types.ts';

// Pure text formats of the history repository: commit messages, JSON files, curve.csv, results.jsonl.

export const TRAILER = {
  campaign: 'Arlo-Campaign',
  experiment: 'Arlo-Experiment',
  workflow: 'Arlo-Workflow',
  status: 'Arlo-Status',
  metric: 'Arlo-Metric',
  specHash: 'Arlo-Spec-Hash',
} as const;

export const SUBJECT_HYPOTHESIS_MAX = 60;

/** Collapse all whitespace (newlines included) to single spaces. */
export function oneLine(text: string): string {
  return String(text ?? '').replace(/\s+/g, ' ').trim();
}

/** One line, at most `max` characters, with an ellipsis when cut. */
export function shorten(text: string, max: number): string {
  const line = oneLine(text);
  if (line.length <= max) return line;
  const cut = line.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space >= max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** Metric for the subject line: 4 decimals, or "failed" when there is none. */
export function formatMetric(metric: number | null): string {
  return metric === null ? 'failed' : metric.toFixed(4);
}

/** Body text that cannot be confused with git's trailer block or patch divider. */
function bodyText(text: string): string {
  return String(text ?? '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.replace(/\s+$/, '').replace(/^---/, ' ---'))
    .join('\n')
    .trim();
}

export function experimentSubject(rec: ExperimentRecord): string {
  return `exp ${rec.n}: ${rec.status} ${oneLine(rec.metricName)}=${formatMetric(rec.metric)} — ${shorten(
    rec.hypothesis,
    SUBJECT_HYPOTHESIS_MAX,
  )}`;
}

export function experimentMessage(rec: ExperimentRecord): string {
  const paragraphs = [experimentSubject(rec), bodyText(rec.hypothesis) || '(no hypothesis)', `Decision: ${bodyText(rec.decision.reason)}`];
  if (rec.error) paragraphs.push(`Error: ${oneLine(rec.error.class)}: ${bodyText(rec.error.message)}`);
  const trailers = [
    `${TRAILER.campaign}: ${rec.campaignId}`,
    `${TRAILER.experiment}: ${rec.n}`,
    `${TRAILER.workflow}: ${oneLine(rec.workflowId)}`,
    `${TRAILER.status}: ${rec.status}`,
    `${TRAILER.metric}: ${oneLine(rec.metricName)}=${rec.metric === null ? 'null' : String(rec.metric)}`,
    `${TRAILER.specHash}: ${oneLine(rec.specHash)}`,
  ];
  paragraphs.push(trailers.join('\n'));
  return `${paragraphs.join('\n\n')}\n`;
}

export function campaignMessage(rec: CampaignRecord): string {
  return `campaign ${rec.campaignId}: created\n\n${TRAILER.campaign}: ${rec.campaignId}\n`;
}

export function jsonFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function campaignJson(rec: CampaignRecord): string {
  return jsonFile({ campaignId: rec.campaignId, createdAt: rec.createdAt, config: rec.config ?? null });
}

/** metrics.json: everything about the outcome that is not the proposal, the spec or the curve. */
export function metricsJson(rec: ExperimentRecord): string {
  return jsonFile({
    campaignId: rec.campaignId,
    n: rec.n,
    workflowId: rec.workflowId,
    status: rec.status,
    hypothesis: rec.hypothesis,
    metricName: rec.metricName,
    metric: rec.metric,
    metrics: rec.metrics,
    decision: rec.decision,
    ...(rec.evaluation ? { evaluation: rec.evaluation } : {}),
    error: rec.error ?? null,
    durationMs: rec.durationMs,
    specHash: rec.specHash,
    recordedAt: rec.recordedAt,
  });
}

// ---------------------------------------------------------------------------------------------
// results.jsonl

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Short edit descriptions from a proposal: `editDescriptions`, else `edits` (strings or objects). */
export function editsFromProposal(proposal: unknown): string[] {
  if (!isRecord(proposal)) return [];
  const descriptions = proposal.editDescriptions;
  if (Array.isArray(descriptions) && descriptions.every((d) => typeof d === 'string')) {
    return descriptions.map((d) => shorten(d, 120));
  }
  const edits = proposal.edits;
  if (!Array.isArray(edits)) return [];
  return edits.map((e) => {
    if (typeof e === 'string') return shorten(e, 120);
    if (isRecord(e)) {
      for (const key of ['description', 'summary', 'desc', 'text']) {
        if (typeof e[key] === 'string') return shorten(e[key] as string, 120);
      }
    }
    return shorten(JSON.stringify(e) ?? String(e), 120);
  });
}

/** LLM usage recorded in a proposal (`llm.usage`), if any. */
export function llmUsageFromProposal(proposal: unknown): { tokens?: number; usd?: number } {
  if (!isRecord(proposal) || !isRecord(proposal.llm) || !isRecord(proposal.llm.usage)) return {};
  const { totalTokens, usd } = proposal.llm.usage;
  return {
    ...(typeof totalTokens === 'number' && Number.isFinite(totalTokens) ? { tokens: totalTokens } : {}),
    ...(typeof usd === 'number' && Number.isFinite(usd) ? { usd } : {}),
  };
}

export function parentFromProposal(proposal: unknown): number | null | undefined {
  if (!isRecord(proposal) || !('parent' in proposal)) return undefined;
  const p = proposal.parent;
  return p === null || (typeof p === 'number' && Number.isInteger(p)) ? p : undefined;
}

/**
 * The results.jsonl line of an experiment. The commit sha is NOT stored (it is unknowable before
 * the commit that contains this line exists); readers take it from the Arlo-Experiment trailers.
 */
export function resultLine(rec: ExperimentRecord): string {
  const line: Omit<ResultLine, 'commit'> = {
    n: rec.n,
    status: rec.status,
    hypothesis: rec.hypothesis,
    specHash: rec.specHash,
    metric: rec.metric,
    metricName: rec.metricName,
    bestMetric: rec.decision.bestMetric,
    championAfter: rec.decision.championAfter,
    durationMs: rec.durationMs,
    parent: parentFromProposal(rec.proposal),
    edits: editsFromProposal(rec.proposal),
    error: rec.error ? `${rec.error.class}: ${rec.error.message}` : null,
    ...llmUsageFromProposal(rec.proposal),
    ...evaluationFields(rec),
    recordedAt: rec.recordedAt,
  };
  return JSON.stringify(line);
}

/** "2/3 (6 epochs, 0.25 of the data)": a fidelity rung as records and commands show it. */
export function rungLabel(r: RecordedRung): string {
  const parts = [r.epochs !== undefined ? `${r.epochs} epochs` : null, r.dataFraction !== undefined ? `${r.dataFraction} of the data` : null];
  return `${r.rung}/${r.of} (${parts.filter(Boolean).join(', ')})`;
}

/** results.jsonl fields of a multi-seed / multi-fidelity measurement (none for older records). */
function evaluationFields(rec: ExperimentRecord): Pick<ResultLine, 'spread' | 'seedMetrics' | 'rung' | 'compute'> {
  const ev = rec.evaluation;
  if (!ev) return {};
  return {
    spread: ev.spread,
    seedMetrics: ev.seedMetrics,
    ...(ev.rung ? { rung: `${ev.rung.rung}/${ev.rung.of}` } : {}),
    compute: ev.compute,
  };
}

// ---------------------------------------------------------------------------------------------
// curve.csv

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Header = union of the rows' keys (epoch first, then first-seen order); missing cells are empty. */
export function curveToCsv(curve: Array<Record<string, number>>): string {
  if (!Array.isArray(curve) || curve.length === 0) return '';
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const row of curve) {
    for (const k of Object.keys(row ?? {})) {
      if (!seen.has(k)) {
        seen.add(k);
        keys.push(k);
      }
    }
  }
  const epochAt = keys.indexOf('epoch');
  if (epochAt > 0) keys.unshift(...keys.splice(epochAt, 1));
  const lines = [keys.map(csvField).join(',')];
  for (const row of curve) {
    lines.push(
      keys
        .map((k) => {
          const v = row?.[k];
          return typeof v === 'number' ? String(v) : '';
        })
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else value += line[i++];
      }
      fields.push(value);
      i++; // skip the comma
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      fields.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}

export function parseCurveCsv(csv: string): Array<Record<string, number>> {
  const lines = csv.split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) return [];
  const keys = splitCsvLine(lines[0]!);
  return lines.slice(1).map((line) => {
    const cells = splitCsvLine(line);
    const row: Record<string, number> = {};
    keys.forEach((k, i) => {
      const cell = cells[i];
      if (cell !== undefined && cell !== '') row[k] = Number(cell);
    });
    return row;
  });
}
