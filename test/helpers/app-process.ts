/**
 * App processes for the multi-process tests: a fixture script under `test/fixtures/` run in its
 * own Node process (TypeScript through tsx), which prints `listening <port>` once it serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** One running app process. */
export interface AppProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  child: ChildProcess;
}

/**
 * Start `script` (a path from the project root) with `env` added to this process's environment;
 * resolves once it listens.
 */
export async function startApp(script: string, env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8');
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      output += chunk;
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/** Stop an app process (SIGTERM) and wait until it has exited. */
export async function stopApp(app: AppProcess | undefined): Promise<void> {
  if (app === undefined || app.child.exitCode !== null) return;
  app.child.kill('SIGTERM');
  await once(app.child, 'exit');
}
