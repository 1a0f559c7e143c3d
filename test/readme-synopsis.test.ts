import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/index.js';
import { policyTest } from '../src/cli/policy.js';
import { REPO } from './helpers/paths.js';

/**
 * The README's Command line synopsis against the CLI itself: every command it lists exists, and every
 * option it gives a command is one that command takes. And the commands the quick start runs that
 * need no running Gatehouse, run as written.
 */

const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Command line'));
const start = section.indexOf('```\n') + 4;
const synopsis = section.slice(start, section.indexOf('\n```', start)).split('\n');
const io = { out: () => undefined, err: () => undefined };
const program = await buildProgram(io);

function find(parent: Command, name: string): Command | undefined {
  return parent.commands.find((c) => c.name() === name);
}

/** `gatehouse approvals list|show ID|approve ID …`: the commands a synopsis line names, with its options. */
function commandsOf(line: string): { path: string[]; options: string[] }[] {
  const words = line
    .replace(/\(.*?\)\s*$/, '')
    .split(/\s+/)
    .slice(1);
  const options = [...line.matchAll(/(?<![\w-])(--?[a-z][\w-]*)/g)].map((m) => m[1]!);
  const group = words[0]!;
  if (group.startsWith('-')) return [];
  const sub = words[1];
  const names = sub && /^[a-z][\w-]*(\|[a-z][\w-]*)*$/.test(sub) ? sub.split('|') : [undefined];
  // `approvals list|show ID|approve ID …` separates its subcommands with | after arguments too.
  const more = [...line.matchAll(/\|([a-z][\w-]*) /g)].map((m) => m[1]!);
  return [...new Set([...names, ...(names[0] && group === 'approvals' ? more : [])])].map((name) => ({
    path: name ? [group, name] : [group],
    options,
  }));
}

describe("the README's command synopsis", () => {
  it.each(synopsis.filter((l) => l.startsWith('gatehouse ')))('%s', (line) => {
    const named = commandsOf(line);
    const known = named.flatMap(({ path: names }) => {
      let command: Command | undefined = program;
      for (const name of names) command = command && find(command, name);
      expect(command, names.join(' ')).toBeDefined();
      return command!.options.flatMap((o) => [o.long, o.short]).filter(Boolean);
    });
    // A line naming several subcommands gives some options to one of them only.
    for (const option of named[0]?.options ?? []) expect(known, option).toContain(option);
  });

  it('covers every command the CLI has', () => {
    const listed = synopsis.flatMap((l) => commandsOf(l).map((c) => c.path.join(' ')));
    const all = program.commands.flatMap((c) =>
      c.commands.length ? c.commands.map((s) => `${c.name()} ${s.name()}`) : [c.name()],
    );
    expect(all.filter((c) => !listed.includes(c))).toEqual([]);
  });
});

describe('quick start commands that need no running Gatehouse', () => {
  it('`gatehouse policy test --verbose --policies policies policies/tests` lists every case', async () => {
    expect(readme).toContain('`gatehouse policy test --verbose --policies policies policies/tests`');
    const out: string[] = [];
    const code = await policyTest(
      { policies: 'policies', cases: ['policies/tests'], verbose: true },
      { out: (t) => void out.push(t), err: () => undefined },
    );
    expect(code).toBe(0);
    const passed = Number(/^(\d+) passed, 0 failed$/.exec(out.at(-1)!)![1]);
    expect(passed).toBeGreaterThan(40);
    expect(out.filter((l) => l.startsWith('PASS '))).toHaveLength(passed);
  });
});
