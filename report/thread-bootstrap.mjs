// Entry point of the report's spec-cost worker thread (see cost-pool.ts). Node 20 cannot load
// .ts by itself, and a Worker does not inherit the parent's tsx hooks: register them for this
// thread, then load the TypeScript module named in workerData.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { main } = await import(workerData.threadModule);
main();
