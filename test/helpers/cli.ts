/** A real `costgate start` child process on a config file, resolved once it prints where it listens. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/costgate.js', import.meta.url));

export interface CliGateway {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** stdout and stderr interleaved as they arrived. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Provider keys and COSTGATE_* of the test's own environment never reach the child unless `env` names them. */
export async function startCliGateway(cfgPath: string, dir: string, env: NodeJS.ProcessEnv = {}): Promise<CliGateway> {
  const clean = { ...process.env };
  for (const k of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'COSTGATE_CONFIG', 'COSTGATE_BATCH_CRASH_AT']) delete clean[k];
  Object.assign(clean, env);
  const child = spawn(process.execPath, [BIN, 'start', '--config', cfgPath], { cwd: dir, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let all = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => ((out += c), (all += c)));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => ((err += c), (all += c)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${all}`)), 20_000);
    const check = () => {
      const m = /costgate listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code}) before listening:\n${all}`));
    });
  });
  return { child, url, stdout: () => out, stderr: () => err, output: () => all, exited };
}
