import { describe, expect, it } from 'vitest';
import { complete, declaresTasks, isModernRequest, readEnvelope, withoutEnvelope } from './wire.js';

const meta = (extra: Record<string, unknown> = {}) => ({
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  ...extra,
});

describe('isModernRequest', () => {
  it('is server/discover, or a request whose _meta claims a version', () => {
    expect(isModernRequest({ jsonrpc: '2.0', id: 1, method: 'server/discover' })).toBe(true);
    expect(isModernRequest({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta() } })).toBe(
      true,
    );
    expect(isModernRequest({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })).toBe(false);
    expect(
      isModernRequest({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: 'x' } }),
    ).toBe(false);
    // A notification is never a modern request: it has no id.
    expect(isModernRequest({ jsonrpc: '2.0', method: 'tools/list', params: { _meta: meta() } })).toBe(false);
  });
});

describe('readEnvelope', () => {
  it('reads version, capabilities, client and log level', () => {
    const envelope = readEnvelope('tools/list', {
      _meta: meta({
        'io.modelcontextprotocol/clientInfo': { name: 'c', version: '1' },
        'io.modelcontextprotocol/logLevel': 'info',
        'io.modelcontextprotocol/clientCapabilities': { extensions: { 'io.modelcontextprotocol/tasks': {} } },
      }),
    });
    expect(envelope).toEqual({
      protocolVersion: '2026-07-28',
      capabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } },
      client: { name: 'c', version: '1' },
      logLevel: 'info',
    });
    expect(declaresTasks(envelope)).toBe(true);
    expect(declaresTasks(readEnvelope('tools/list', { _meta: meta() }))).toBe(false);
  });

  it('refuses a missing version or capabilities with Invalid params, naming the key', () => {
    expect(() => readEnvelope('tools/list', {})).toThrow(/protocolVersion/);
    expect(() =>
      readEnvelope('tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } }),
    ).toThrow(/clientCapabilities/);
    try {
      readEnvelope('tools/list', {});
    } catch (error) {
      expect((error as { code: number }).code).toBe(-32602);
    }
  });

  it('refuses a version it does not serve with -32022, naming what it supports', () => {
    try {
      readEnvelope('tools/list', {
        _meta: meta({ 'io.modelcontextprotocol/protocolVersion': '2025-11-25' }),
      });
      expect.unreachable();
    } catch (error) {
      const { code, data } = error as { code: number; data: { supported: string[]; requested: string } };
      expect(code).toBe(-32022);
      expect(data.requested).toBe('2025-11-25');
      expect(data.supported[0]).toBe('2026-07-28');
    }
  });
});

describe('withoutEnvelope', () => {
  it('keeps every _meta key but the envelope’s', () => {
    const params = {
      name: 't',
      _meta: meta({ progressToken: 'p', 'io.modelcontextprotocol/logLevel': 'debug', traceparent: 'x' }),
    };
    expect(withoutEnvelope(params)).toEqual({ name: 't', _meta: { progressToken: 'p', traceparent: 'x' } });
    expect(withoutEnvelope({ name: 't', _meta: meta() })).toEqual({ name: 't' });
    expect(withoutEnvelope({ name: 't' })).toEqual({ name: 't' });
  });
});

describe('complete', () => {
  it('adds resultType and serverInfo, keeping the result’s own _meta and kind', () => {
    const result = complete({ content: [], _meta: { 'gatehouse/approval': 1 } });
    expect(result.resultType).toBe('complete');
    expect(result._meta).toMatchObject({
      'gatehouse/approval': 1,
      'io.modelcontextprotocol/serverInfo': { name: 'gatehouse' },
    });
    expect(complete({ resultType: 'task' }).resultType).toBe('task');
  });
});
