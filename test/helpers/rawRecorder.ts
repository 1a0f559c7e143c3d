import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REPO } from './paths.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/servers/raw-recorder.ts', import.meta.url));

export interface RawCall {
  /** The frame as the server read it, byte for byte. */
  frame: string;
  name: string;
  arguments: Record<string, unknown>;
}

/** The raw-recorder fixture writing to `logFile`, and the tools/call frames it has received so far. */
export function rawRecorderServer(logFile: string) {
  return {
    server: { command: process.execPath, args: ['--import', 'tsx', SCRIPT, logFile], cwd: REPO },
    received(): RawCall[] {
      if (!existsSync(logFile)) return [];
      return readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((frame) => {
          const { params } = JSON.parse(frame) as {
            params: { name: string; arguments?: Record<string, unknown> };
          };
          return { frame, name: params.name, arguments: params.arguments ?? {} };
        });
    },
  };
}
