import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Spec } from '../arch/spec.ts';
import { getTemplate } from '../experiments/index.ts';
import { parseCurveCsv } from '../history/format.ts';
import { forEachBlob, listExperimentBlobs, readBlobsById, readChampionTags, readResultLines } from '../history/read.ts';
import type { HistoryRepo } from '../history/types.ts';
import { specCost, type SpecCost } from './cost.ts';
import { buildReportData, type Direction, type ReportData } from './data.ts';

// Reads what a report needs from a campaign's history in a fixed number of git calls, whatever
// the number of experiments: results.jsonl, one tree listing, and one batch read of the
// proposals, the two curves shown and the specs whose size is not cached yet.

export interface ReportCampaign {
  repo: HistoryRepo;
  campaignId: string;
  createdAt: string | null;
  template: string | null;
  agent: string | null;
  seed: number | null;
  metricName: string;
  direction: Direction;
}

const CACHE_VERSION = 1;

/**
 * Model sizes by spec.json blob id, kept in the history's git directory. Blob ids are content
 * addresses, so an entry never goes stale; a lost or corrupt cache only costs time.
 */
function cachePath(repo: HistoryRepo): string {
  return join(repo.gitDir, 'arlo-cache', `spec-costs-v${CACHE_VERSION}.json`);
}

async function loadCostCache(repo: HistoryRepo): Promise<Map<string, SpecCost | null>> {
  try {
    const parsed = JSON.parse(await readFile(cachePath(repo), 'utf8')) as { costs?: Record<string, [number, number, number] | null> };
    const map = new Map<string, SpecCost | null>();
    for (const [sha, v] of Object.entries(parsed.costs ?? {})) {
      map.set(sha, Array.isArray(v) ? { params: v[0], macs: v[1], epochs: v[2] } : null);
    }
    return map;
  } catch {
    return new Map();
  }
}

async function saveCostCache(repo: HistoryRepo, costs: ReadonlyMap<string, SpecCost | null>): Promise<void> {
  const path = cachePath(repo);
  const out: Record<string, [number, number, number] | null> = {};
  for (const [sha, c] of costs) out[sha] = c ? [c.params, c.macs, c.epochs] : null;
  try {
    await mkdir(join(repo.gitDir, 'arlo-cache'), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ version: CACHE_VERSION, costs: out }));
    await rename(tmp, path); // atomic: concurrent reports each write a complete file
  } catch {
    /* a read-only history still gets its report */
  }
}

function costOfText(text: string): SpecCost | null {
  try {
    return specCost(JSON.parse(text) as Spec);
  } catch {
    return null;
  }
}

function editOpsOf(proposal: unknown): string[] {
  const edits = (proposal as { edits?: unknown } | null)?.edits;
  if (!Array.isArray(edits)) return [];
  return edits
    .map((e) => (e && typeof e === 'object' && typeof (e as { op?: unknown }).op === 'string' ? (e as { op: string }).op : null))
    .filter((op): op is string => op !== null);
}

function trainSamplesOf(template: string | null): number | null {
  if (!template) return null;
  try {
    const data = getTemplate(template).data as { kind?: string; trainSamples?: unknown } | undefined;
    return typeof data?.trainSamples === 'number' ? data.trainSamples : null;
  } catch {
    return null;
  }
}

/** Everything the report shows, as data. */
export async function collectReportData(c: ReportCampaign, now = new Date()): Promise<ReportData> {
  const { repo, campaignId } = c;
  const [lines, blobs, tags, cache] = await Promise.all([
    readResultLines(repo, campaignId),
    listExperimentBlobs(repo, campaignId, { names: ['proposal.json', 'spec.json', 'curve.csv'] }),
    readChampionTags(repo, campaignId),
    loadCostCache(repo),
  ]);

  // Baseline = first kept experiment; champion = best kept one (the data module re-derives both).
  let baselineN: number | null = null;
  let championN: number | null = null;
  let championMetric: number | null = null;
  for (const l of lines) {
    if (l.status !== 'kept' || l.metric === null) continue;
    if (baselineN === null) baselineN = l.n;
    if (championMetric === null || (c.direction === 'max' ? l.metric > championMetric : l.metric < championMetric)) {
      championN = l.n;
      championMetric = l.metric;
    }
  }

  const want: string[] = [];
  const missingSpecs: string[] = [];
  for (const b of blobs) {
    if (b.name === 'proposal.json') want.push(b.sha);
    else if (b.name === 'spec.json' && !cache.has(b.sha)) missingSpecs.push(b.sha);
    else if (b.name === 'curve.csv' && (b.n === baselineN || b.n === championN)) want.push(b.sha);
  }
  // Specs are the bulk of the bytes (tens of KB each on big models): stream them through the
  // cost model while git reads them, and remember the result by blob id.
  const [contents] = await Promise.all([
    readBlobsById(repo, want),
    forEachBlob(repo, missingSpecs, (sha, text) => cache.set(sha, costOfText(text))),
  ]);
  if (missingSpecs.length > 0) await saveCostCache(repo, cache);

  const editOps = new Map<number, string[]>();
  const costs = new Map<number, SpecCost | null>();
  const curves: { baseline: Array<Record<string, number>> | null; champion: Array<Record<string, number>> | null } = {
    baseline: null,
    champion: null,
  };
  for (const b of blobs) {
    if (b.name === 'spec.json') costs.set(b.n, cache.get(b.sha) ?? null);
    else if (b.name === 'proposal.json') {
      const text = contents.get(b.sha);
      try {
        if (text) editOps.set(b.n, editOpsOf(JSON.parse(text)));
      } catch {
        /* an unreadable proposal only loses its edit kinds */
      }
    } else if (b.name === 'curve.csv') {
      const text = contents.get(b.sha);
      if (text === undefined) continue;
      if (b.n === baselineN) curves.baseline = parseCurveCsv(text);
      if (b.n === championN) curves.champion = parseCurveCsv(text);
    }
  }

  return buildReportData({
    campaignId,
    createdAt: c.createdAt,
    template: c.template,
    agent: c.agent,
    seed: c.seed,
    metricName: c.metricName,
    direction: c.direction,
    lines,
    editOps,
    costs,
    trainSamples: trainSamplesOf(c.template),
    curves,
    tags,
    generatedAt: now.toISOString(),
  });
}
