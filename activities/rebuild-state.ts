import { computeLessons } from '../agents/llm/lessons.ts';
import type { ResultLine } from '../history/types.ts';
import { emptyCampaignState } from '../workflows/campaign-book.ts';
import type { CampaignState, ChampionRef, ExperimentLine } from '../workflows/types.ts';

// A campaign's state is derivable from what its history branch records. This is how a new
// campaign starts (no lines) and how a failed one resumes: recorded experiments are never re-run,
// and numbers proposed but never recorded are run again.

const RECENT_LINES = 20;

export function rebuildState(lines: ResultLine[]): CampaignState {
  const state = emptyCampaignState();
  if (lines.length === 0) return state;

  let maxN = 0;
  const seen = new Set<number>();
  for (const line of lines) {
    seen.add(line.n);
    maxN = Math.max(maxN, line.n);
    state.done++;
    state.elapsedMsBefore += line.durationMs;
    if (line.status === 'kept' && line.metric !== null) {
      const ref: ChampionRef = {
        n: line.n,
        metric: line.metric,
        specHash: line.specHash,
        hypothesis: line.hypothesis,
        // A resumed campaign tests challengers against the same per-seed values.
        ...(line.seedMetrics ? { seedMetrics: line.seedMetrics, spread: line.spread ?? null } : {}),
      };
      state.champion = ref;
      state.baseline ??= ref;
      state.kept++;
    }
    if (line.tokens !== undefined || line.usd !== undefined) {
      // The LLM ledger survives a resume as far as git knows it: totals (what budgets count).
      const ledger = state.ledger ?? { calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, usd: null };
      state.ledger = {
        ...ledger,
        totalTokens: ledger.totalTokens + (line.tokens ?? 0),
        usd: line.usd === undefined ? ledger.usd : (ledger.usd ?? 0) + line.usd,
      };
    }
    if (typeof line.compute === 'number') state.computeUsed = (state.computeUsed ?? 0) + line.compute;
    if (line.status === 'failed') {
      state.failed++;
      state.consecutiveFailures++;
    } else {
      state.consecutiveFailures = 0;
    }
  }
  state.nextN = maxN + 1;
  for (let n = 1; n < maxN; n++) if (!seen.has(n)) state.redo.push(n);
  state.recent = lines.slice(-RECENT_LINES).map(toExperimentLine);
  // The research memory spans runs: a resumed campaign knows its lessons before its next record.
  state.lessons = computeLessons(lines);
  return state;
}

function toExperimentLine(line: ResultLine): ExperimentLine {
  return {
    n: line.n,
    hypothesis: line.hypothesis,
    status: line.status,
    metric: line.metric,
    bestMetric: line.bestMetric,
    durationMs: line.durationMs,
    edits: line.edits ?? [],
    error: line.error ?? null,
    ...(line.spread !== undefined ? { spread: line.spread } : {}),
    ...(line.rung !== undefined ? { rung: line.rung } : {}),
  };
}
