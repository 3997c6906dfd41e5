import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Looking for secrets (API keys, tokens) where they must never be: every file under an arlo home,
// every git object decompressed, workflow histories with their payloads decoded, and logs.

/** Every regular file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else if (st.isFile()) files.push(path);
    }
  };
  walk(dir);
  return files;
}

/** Every object of `<home>/history` (blobs, trees, commits, tags) decompressed by git, concatenated. */
export function gitObjects(home: string): Buffer {
  return execFileSync('git', ['-C', join(home, 'history'), 'cat-file', '--batch-all-objects', '--batch'], {
    maxBuffer: 512 * 1024 * 1024,
  });
}

/** Every string in a value (e.g. a fetched workflow history), with payload bytes decoded as UTF-8. */
export function decodedText(value: unknown): string {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const visit = (v: unknown) => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') out.push(v);
    else if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'));
    else if (typeof v === 'object') {
      if (seen.has(v)) return;
      seen.add(v);
      for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) visit(child);
    }
  };
  visit(value);
  return out.join('\n');
}

/**
 * Text of JSON (e.g. `temporal workflow show --output json`) with every base64-looking string
 * also decoded, so payloads the CLI prints encoded are searched too.
 */
export function jsonTextWithBase64(json: string): string {
  const parts = [json];
  const visit = (v: unknown) => {
    if (typeof v === 'string') {
      if (v.length >= 8 && /^[A-Za-z0-9+/]+={0,2}$/.test(v)) parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (v && typeof v === 'object') {
      for (const child of Object.values(v as Record<string, unknown>)) visit(child);
    }
  };
  for (const line of json.split('\n')) {
    try {
      visit(JSON.parse(line));
    } catch {
      /* not one JSON value per line */
    }
  }
  try {
    visit(JSON.parse(json));
  } catch {
    /* several JSON documents */
  }
  return parts.join('\n');
}

export interface SecretFinding {
  where: string;
  secret: string;
}

/** The secrets that occur in `haystack` (as text or bytes), labelled with `where`. */
export function findSecrets(where: string, haystack: string | Buffer, secrets: string[]): SecretFinding[] {
  return secrets.filter((s) => haystack.includes(s)).map((secret) => ({ where, secret }));
}

/** Every file under `home` and every git object of its history, searched for `secrets`. */
export function scanHome(home: string, secrets: string[]): { files: number; objectBytes: number; findings: SecretFinding[] } {
  const findings: SecretFinding[] = [];
  const files = filesUnder(home);
  for (const f of files) findings.push(...findSecrets(f, readFileSync(f), secrets));
  let objectBytes = 0;
  if (existsSync(join(home, 'history', '.git'))) {
    const objects = gitObjects(home);
    objectBytes = objects.length;
    findings.push(...findSecrets(`${home}/history (git objects)`, objects, secrets));
  }
  return { files: files.length, objectBytes, findings };
}
