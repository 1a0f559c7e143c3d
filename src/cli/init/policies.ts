/**
 * The starter policy set `gatehouse init` writes: reads allowed, writes and deletes approved by a
 * person, and every other tool approved too. Generic on purpose: it classifies a tool by the MCP
 * annotations its server declares and by the verb its name starts with, so it works for whatever
 * servers were imported, and `policies/tests/starter.yaml` shows each rule at work.
 */

/** The group of the approver account init creates; the approve rules name it. */
export const APPROVER_GROUP = 'approvers';

const READ_VERBS = ['get', 'list', 'read', 'search', 'find', 'describe', 'show', 'view', 'lookup'];
const WRITE_VERBS = [
  'write',
  'create',
  'update',
  'edit',
  'set',
  'put',
  'post',
  'add',
  'append',
  'insert',
  'upload',
  'move',
  'rename',
  'copy',
  'send',
  'push',
  'merge',
  'patch',
  'modify',
  'replace',
  'save',
  'commit',
  'publish',
  'deploy',
  'run',
  'exec',
  'execute',
];
const DELETE_VERBS = [
  'delete',
  'remove',
  'drop',
  'destroy',
  'purge',
  'erase',
  'truncate',
  'kill',
  'clear',
  'reset',
  'revoke',
  'uninstall',
];

/**
 * One glob for tool names that start with one of `verbs` as a word: `get`, `get_issue`, `get-issue`,
 * `getIssue`; not `getaway`.
 */
const startsWith = (verbs: readonly string[]) => `{${verbs.join(',')}}{,_*,-*,[A-Z]*}`;

export const READ_TOOLS = startsWith(READ_VERBS);
export const WRITE_TOOLS = startsWith(WRITE_VERBS);
export const DELETE_TOOLS = startsWith(DELETE_VERBS);

const HEADER = [
  '# Written by `gatehouse init`: a starter set for the servers it imported. Edit freely; check a',
  '# change with `gatehouse policy check --config ../mcp.config.json` and',
  '# `gatehouse policy test --policies . tests`.',
];

/** The policy files, by name within the policies folder (tests/ holds test cases, not policies). */
export function starterPolicies(): Record<string, string> {
  const approve = (reason: string) => [
    `    effect: approve`,
    `    reason: ${reason}`,
    `    approvers: [group:${APPROVER_GROUP}]`,
  ];
  return {
    'defaults.yaml': lines(
      ...HEADER,
      '#',
      '# How a call is decided:',
      '#   - reads run: the server declares the tool read-only (readOnlyHint), or its name starts',
      '#     with a read verb (get, list, read, search, ...): reads.yaml;',
      '#   - writes and deletes wait for a person to approve them: changes.yaml;',
      '#   - any other tool waits for approval too (unclassified-needs-approval), rather than being',
      '#     denied: you keep every tool you had and none runs unseen. A tool you approve again and',
      '#     again is one to give an allow rule.',
      '# An approve rule wins over an allow rule: a tool named like a write needs approval even if its',
      '# server calls it read-only. `default: deny` is the backstop for a call no rule matches; with',
      '# the rules as written there is none, and it applies again as soon as you narrow them.',
      'default: deny',
      'mode: enforce',
      'rules: []',
    ),
    'reads.yaml': lines(
      ...HEADER,
      'rules:',
      '  - id: reads-by-annotation',
      '    description: The server declares the tool read-only (the MCP readOnlyHint annotation).',
      '    when: tool.annotations.readOnlyHint',
      '    effect: allow',
      '  - id: reads-by-name',
      '    description: The tool name starts with a read verb (getIssue, list_files, read-page).',
      '    match:',
      `      tools: "${READ_TOOLS}"`,
      '    effect: allow',
    ),
    'changes.yaml': lines(
      ...HEADER,
      'rules:',
      '  - id: writes-need-approval',
      '    description: The tool name starts with a verb that changes something.',
      '    match:',
      `      tools: "${WRITE_TOOLS}"`,
      ...approve('it changes something; a person approves it first'),
      '  - id: deletes-need-approval',
      '    description: The tool name starts with a verb that deletes or undoes something.',
      '    match:',
      `      tools: "${DELETE_TOOLS}"`,
      ...approve('it deletes something; a person approves it first'),
      '  - id: unclassified-needs-approval',
      '    description: Neither declared read-only nor named as a read, a write or a delete.',
      '    when: >-',
      '      !tool.annotations.readOnlyHint',
      `      && !glob("${READ_TOOLS}", tool.name)`,
      `      && !glob("${WRITE_TOOLS}", tool.name)`,
      `      && !glob("${DELETE_TOOLS}", tool.name)`,
      ...approve('Gatehouse cannot tell what this tool does; a person approves it first'),
    ),
  };
}

/** Test cases for the starter set, one per way a call is decided. */
export function starterPolicyTests(): string {
  const call = (tool: string, readOnly?: boolean) =>
    `    call: { server: demo, tool: ${tool}${readOnly === undefined ? '' : `, definition: { annotations: { readOnlyHint: ${readOnly} } }`} }`;
  const approved = (rule: string) =>
    `    expect: { effect: approve, rule: ${rule}, approvers: ["group:${APPROVER_GROUP}"], visibility: may-need-approval }`;
  return lines(
    '# Written by `gatehouse init`: `gatehouse policy test --policies policies policies/tests`',
    'cases:',
    '  - name: a tool its server declares read-only runs',
    call('directory_tree', true),
    '    expect: { effect: allow, rule: reads-by-annotation, visibility: visible }',
    '  - name: a tool named as a read runs',
    call('getIssue'),
    '    expect: { effect: allow, rule: reads-by-name }',
    '  - name: a hyphenated read too',
    call('list-repos', false),
    '    expect: { effect: allow, rule: reads-by-name }',
    '  - name: a write waits for approval',
    call('write_file', false),
    approved('writes-need-approval'),
    '  - name: a write waits for approval even if its server calls it read-only',
    call('create_entities', true),
    approved('writes-need-approval'),
    '  - name: a delete waits for approval',
    call('delete_entities'),
    approved('deletes-need-approval'),
    '  - name: a tool that says nothing about itself waits for approval',
    call('gzip-file-as-resource'),
    approved('unclassified-needs-approval'),
    '  - name: a read verb must be a whole word',
    call('getaway'),
    approved('unclassified-needs-approval'),
  );
}

const lines = (...rows: string[]) => `${rows.join('\n')}\n`;
