import { arloHome } from '../../server/arlo-home.ts';
import {
  embeddedServerStatus,
  runServerForeground,
  startEmbeddedServer,
  stopEmbeddedServer,
  embeddedPorts,
  isListening,
} from '../../server/embedded-server.ts';
import { UserError } from '../../server/user-error.ts';

/**
 * `arlo server [run|start|stop|status]`: the embedded Temporal dev server, with its db in
 * $ARLO_HOME/temporal.db. `run` (the default) stays in the foreground; `start` leaves it running
 * in the background, as every other command does when nothing listens.
 */
export async function serverCommand(action: string | undefined): Promise<void> {
  const home = arloHome();
  switch (action ?? 'run') {
    case 'run': {
      const code = await runServerForeground({ home });
      if (code !== 0) process.exitCode = code;
      return;
    }
    case 'start': {
      const { port, uiPort } = embeddedPorts();
      if (await isListening(`127.0.0.1:${port}`)) {
        console.log(`a Temporal server already listens at 127.0.0.1:${port}`);
        return;
      }
      const server = await startEmbeddedServer({ home, port, uiPort, foreground: false });
      console.log(`Temporal dev server started in the background (pid ${server.pid ?? '?'})`);
      console.log(`  gRPC    ${server.address}`);
      if (server.uiUrl) console.log(`  Web UI  ${server.uiUrl}`);
      console.log(`  db      ${server.dbPath}\n  log     ${server.logPath}`);
      return;
    }
    case 'stop': {
      const stopped = await stopEmbeddedServer(home);
      console.log(stopped ? 'embedded Temporal server stopped' : 'no embedded Temporal server was running for this ARLO_HOME');
      return;
    }
    case 'status': {
      const s = await embeddedServerStatus(home);
      console.log(
        `${s.listening ? 'listening' : 'not listening'} at ${s.address}${s.pid ? ` (pid ${s.pid})` : ''}\n` +
          `  Web UI  ${s.uiUrl}\n  db      ${s.dbPath}\n  log     ${s.logPath}`,
      );
      return;
    }
    default:
      throw new UserError(`unknown server action "${action}"`, { hint: 'use one of: run (default), start, stop, status' });
  }
}
