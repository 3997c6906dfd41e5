import { parentPort } from 'node:worker_threads';
import type { Spec } from '../arch/spec.ts';
import { specCost } from './cost.ts';

// Runs in the worker thread of cost-pool.ts: parses spec.json texts and answers with their costs.

export type CostRequest = { type: 'specs'; items: Array<[sha: string, text: string]> } | { type: 'end' };
export type CostReply = { type: 'costs'; items: Array<[sha: string, cost: [number, number, number] | null]> };

export function main(): void {
  const port = parentPort;
  if (!port) throw new Error('report/cost-thread.ts must run in a worker thread');
  port.on('message', (m: CostRequest) => {
    if (m.type === 'end') {
      port.close();
      return;
    }
    const items: CostReply['items'] = m.items.map(([sha, text]) => {
      try {
        const c = specCost(JSON.parse(text) as Spec);
        return [sha, c ? [c.params, c.macs, c.epochs] : null];
      } catch {
        return [sha, null];
      }
    });
    port.postMessage({ type: 'costs', items } satisfies CostReply);
  });
}
