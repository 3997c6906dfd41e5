import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { findTemporalBinary } from '../../server/temporal-binary.ts';

// The real command-line tools as child processes: `node bin/arlo.js ...` and the project's
// Temporal CLI. Neither throws on a non-zero exit: tests check the code and the output.

const ARLO_BIN = join(import.meta.dirname, '..', '..', 'bin', 'arlo.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment for `arlo` against the server at `address` with arlo home `home`. */
export function arloEnv(address: string, home: string): NodeJS.ProcessEnv {
  return { ...process.env, TEMPORAL_ADDRESS: address, ARLO_HOME: home, NO_COLOR: '1' };
}

/** `node bin/arlo.js <args>` in `env` (see arloEnv). */
export function runArlo(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return run(process.execPath, [ARLO_BIN, ...args], env, 120_000);
}

/** `temporal <args> --address <address>` with the CLI arlo uses. */
export function runTemporal(address: string, ...args: string[]): Promise<CliResult> {
  return run(findTemporalBinary(), [...args, '--address', address], process.env, 60_000);
}
