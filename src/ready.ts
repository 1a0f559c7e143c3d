import path from 'node:path';

/**
 * What the first screen says once Gatehouse serves: where clients connect, where approvers decide, and,
 * when nobody can sign in to decide, the exact command that adds an approver for the rules in force.
 */

export interface ReadyFacts {
  /** The MCP endpoint (HTTP front only). */
  mcpUrl?: string;
  /** The approval page, when the listener runs. */
  approvalPage?: string;
  /** The approvers the approve rules for the configured tools name (`group:developers`, `alice`). */
  approvers: readonly string[];
  /** Whether an approver can sign in now (a local account or OIDC). */
  canSignIn: boolean;
  configFile: string;
  cwd?: string;
}

/** The id the suggested command gives the new approver: not the caller, who cannot approve their own calls. */
export const SUGGESTED_APPROVER = 'reviewer';

export function readyLine(facts: ReadyFacts): { message: string; fields: Record<string, unknown> } {
  const addApprover =
    facts.canSignIn || !facts.approvalPage
      ? undefined
      : addApproverCommand(facts, facts.cwd ?? process.cwd());
  const parts = [
    facts.mcpUrl
      ? `Gatehouse ready: connect an MCP client to ${facts.mcpUrl} (Streamable HTTP)`
      : 'Gatehouse ready on stdio',
    ...(facts.approvalPage ? [`approve gated calls at ${facts.approvalPage}`] : []),
    ...(addApprover ? [`no approver can sign in yet: add one with \`${addApprover}\`, then restart`] : []),
  ];
  return {
    message: parts.join('; '),
    fields: {
      ...(facts.mcpUrl ? { url: facts.mcpUrl } : {}),
      ...(facts.approvalPage ? { approvalPage: facts.approvalPage } : {}),
      ...(addApprover ? { addApprover } : {}),
    },
  };
}

function addApproverCommand(facts: ReadyFacts, cwd: string): string {
  const relative = path.relative(cwd, facts.configFile);
  const shown =
    relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : facts.configFile;
  const groups = facts.approvers
    .filter((a) => a.startsWith('group:'))
    .map((a) => ` --group ${shellWord(a.slice('group:'.length))}`)
    .join('');
  return `gatehouse approvers add ${SUGGESTED_APPROVER}${groups} --config ${shellWord(shown)}`;
}

/** A word the shell takes as it is: plain ones bare, others in single quotes. */
function shellWord(word: string): string {
  return /^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
