import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { collectReportData, type ReportCampaign } from './collect.ts';
import type { ReportData } from './data.ts';
import { renderReportHtml } from './html.ts';

// The HTML report of a campaign: collect (git) → data (pure) → html (pure, self-contained).

export type { ReportData, EditEffect, LineageNode, ScatterPoint } from './data.ts';
export { buildReportData } from './data.ts';
export { collectReportData, type ReportCampaign } from './collect.ts';
export { renderReportHtml, renderLineage, escapeHtml, scriptJson } from './html.ts';
export { specCost, type SpecCost } from './cost.ts';

/** Path of Chart.js's UMD build (not in the package's exports map, so found next to its main file). */
export function chartJsPath(): string {
  const main = createRequire(import.meta.url).resolve('chart.js');
  return join(dirname(main), 'chart.umd.js');
}

export async function generateReport(c: ReportCampaign, now = new Date()): Promise<{ html: string; data: ReportData }> {
  const [data, chartJs] = await Promise.all([collectReportData(c, now), readFile(chartJsPath(), 'utf8')]);
  return { html: renderReportHtml(data, chartJs), data };
}
