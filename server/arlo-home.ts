import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The arlo home folder: `ARLO_HOME`, else `./.arlo` (relative to the current directory). Created if missing. */
export function arloHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = resolve(env.ARLO_HOME || '.arlo');
  mkdirSync(home, { recursive: true });
  return home;
}

/** Where data sets live: `ARLO_DATA_DIR`, else `<arloHome>/data`. Not created. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.ARLO_DATA_DIR ? resolve(env.ARLO_DATA_DIR) : join(arloHome(env), 'data');
}
