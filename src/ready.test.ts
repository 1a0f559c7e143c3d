import { describe, expect, it } from 'vitest';
import { readyLine } from './ready.js';

const base = {
  mcpUrl: 'http://127.0.0.1:8787/mcp',
  approvalPage: 'http://127.0.0.1:8787/approvals',
  approvers: ['alice', 'group:developers', 'group:on call'],
  configFile: '/home/me/gatehouse/mcp.config.json',
  cwd: '/home/me/gatehouse',
};

describe('readyLine', () => {
  it('gives the MCP URL, the approval page and, with nobody to sign in, the command that adds an approver', () => {
    const { message, fields } = readyLine({ ...base, canSignIn: false });
    const command =
      "gatehouse approvers add reviewer --group developers --group 'on call' --config mcp.config.json";
    expect(message).toBe(
      'Gatehouse ready: connect an MCP client to http://127.0.0.1:8787/mcp (Streamable HTTP); ' +
        'approve gated calls at http://127.0.0.1:8787/approvals; ' +
        `no approver can sign in yet: add one with \`${command}\`, then restart`,
    );
    expect(fields).toEqual({ url: base.mcpUrl, approvalPage: base.approvalPage, addApprover: command });
  });

  it('says nothing about approvers when one can sign in', () => {
    const { message, fields } = readyLine({ ...base, canSignIn: true });
    expect(message).not.toContain('approvers add');
    expect(fields).not.toHaveProperty('addApprover');
  });

  it('names a config outside the working folder by its absolute path', () => {
    const { fields } = readyLine({ ...base, canSignIn: false, cwd: '/srv', approvers: [] });
    expect(fields.addApprover).toBe(
      'gatehouse approvers add reviewer --config /home/me/gatehouse/mcp.config.json',
    );
  });

  it('on stdio without a listener: ready, and no page to point at', () => {
    const { message, fields } = readyLine({
      approvers: [],
      canSignIn: false,
      configFile: '/c.json',
    });
    expect(message).toBe('Gatehouse ready on stdio');
    expect(fields).toEqual({});
  });
});
