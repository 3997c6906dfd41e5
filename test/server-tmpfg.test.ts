import { spawn } from 'node:child_process';
import { it, expect } from 'vitest';
it('fg loop', async () => {
  let fails = 0;
  for (let i = 0; i < 8; i++) {
    const port = 21000 + i * 7;
    const child = spawn(process.execPath, ['--import', 'tsx', '/tmp/fgtest/fg.mts'], { cwd: '/work/main', env: { ...process.env, ARLO_HOME: `/tmp/fgtest/v${i}`, ARLO_TEMPORAL_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', sent = false;
    child.stdout!.on('data', (d) => { out += d; if (!sent && out.includes('Press Ctrl-C')) { sent = true; child.kill('SIGINT'); } });
    child.stderr!.on('data', (d) => { err += d; });
    const [code, sig] = await new Promise<any[]>((r) => child.on('exit', (c, s) => r([c, s])));
    console.log(i, code, sig, JSON.stringify(Object.keys(process.env).filter(k => /NODE|VITEST/.test(k))));
    if (code !== 0) { fails++; console.log(err); }
  }
  expect(fails).toBe(0);
}, 120000);
