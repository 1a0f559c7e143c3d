import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import type { ToolVisibility } from '../decision/index.js';
import type { DownstreamPool } from '../downstream/pool.js';
import { visibleTools } from './session.js';

/** tools/list as clients see it, over a pool of three tools with the task support their server declares. */
function listed(visibility: ToolVisibility): Tool[] {
  const tool = (name: string, execution?: Tool['execution']): Tool => ({
    name,
    inputSchema: { type: 'object' },
    ...(execution ? { execution } : {}),
  });
  const entries = [
    tool('plain'),
    tool('no-tasks', { taskSupport: 'forbidden' }),
    tool('tasks-only', { taskSupport: 'required' }),
  ];
  const pool = {
    tools: {
      byExposedName: new Map(
        entries.map((item) => [
          `srv__${item.name}`,
          { server: 'srv', name: item.name, exposedName: `srv__${item.name}`, item },
        ]),
      ),
    },
  } as unknown as DownstreamPool;
  const decisionPoint = {
    decide: () => Promise.reject(new Error('not called')),
    visibility: () => visibility,
  };
  return visibleTools({ pool, decisionPoint: () => decisionPoint, maxWaitSeconds: 45 }).filter((t) =>
    t.name.startsWith('srv__'),
  );
}

describe('visibleTools: task support', () => {
  it('a tool that may need approval offers tasks whatever its server declares, but keeps `required`', () => {
    expect(
      Object.fromEntries(listed('may-need-approval').map((t) => [t.name, t.execution?.taskSupport])),
    ).toEqual({
      srv__plain: 'optional',
      'srv__no-tasks': 'optional',
      'srv__tasks-only': 'required',
    });
  });

  it('any other tool says what its server said', () => {
    expect(Object.fromEntries(listed('visible').map((t) => [t.name, t.execution?.taskSupport]))).toEqual({
      srv__plain: undefined,
      'srv__no-tasks': 'forbidden',
      'srv__tasks-only': 'required',
    });
  });
});
