// Entry point of a training worker thread (see run-in-thread.ts).
//
// Node 20 cannot load .ts by itself. Whether the parent runs under `node --import tsx`, the `tsx`
// CLI or vitest, the parent starts this plain-JS file with tsx loader flags removed from execArgv,
// and here tsx's ESM hooks are registered for this thread before thread.ts is imported.
// Started from the compiled build (`npm run build`), the thread module is dist/training/thread.js
// and needs no tsx.
import { workerData } from 'node:worker_threads';

if (workerData.threadModule.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
const { main } = await import(workerData.threadModule);
await main();
