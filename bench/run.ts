/** `npm run bench`: every benchmark, printed as the markdown tables the README carries. */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { benchProxy, proxyTable } from './proxy.js';

async function run(): Promise<void> {
  // Gatehouse is measured as `npm start` runs it: from dist/.
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`);
  console.log('## Proxy overhead (tool call through Gatehouse vs direct)\n');
  console.log(proxyTable(await benchProxy()));
  try {
    // Optional until the policy engine's benchmark lands; a variable path keeps tsc from requiring it.
    const decisionModule = './decision.js';
    const { benchDecision } = (await import(decisionModule)) as { benchDecision?: () => Promise<string> };
    if (benchDecision) console.log(`\n## Policy decision\n\n${await benchDecision()}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
  }
}

run().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
