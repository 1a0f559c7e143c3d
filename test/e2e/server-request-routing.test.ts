import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  type CallToolResult,
  type CreateMessageRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseConfig, scratchDir } from '../helpers/config.js';
import { startEverythingHttp, type HttpDownstream } from '../helpers/downstreams.js';
import { startHttpGatehouse, type HttpGatehouse } from '../helpers/gatehouse.js';

/**
 * Two client sessions calling the same HTTP downstream tool at once, each call asking its client for
 * a sampling. The sampling requests carry nothing that says whose they are; the stream they arrive on
 * does, so each must reach the session whose call it serves (and neither may be refused as ambiguous,
 * which is all Gatehouse can do over stdio).
 */

const scratch = scratchDir('server-request-routing');
let downstream: HttpDownstream;
let gatehouse: HttpGatehouse;

beforeAll(async () => {
  downstream = await startEverythingHttp('streamableHttp');
  const config = gatehouseConfig({ everything: { url: downstream.url } });
  gatehouse = await startHttpGatehouse(scratch.write('config.json', config));
});
afterAll(async () => {
  await gatehouse?.stop();
  await downstream?.stop();
  scratch.remove();
});

/** Resolves once `count` parties arrived, so both calls are surely in flight when either answers. */
function barrier(count: number) {
  let arrive!: () => void;
  const all = new Promise<void>((resolve) => {
    let arrived = 0;
    arrive = () => {
      if (++arrived === count) resolve();
    };
  });
  // A routing bug would leave one party waiting forever; end the wait so the assertions report it.
  const bounded = Promise.race([all, new Promise<void>((resolve) => setTimeout(resolve, 15_000).unref())]);
  return { arrive, all: bounded };
}

async function samplingClient(model: string, meeting: ReturnType<typeof barrier>) {
  const asked: CreateMessageRequest[] = [];
  const client = new Client({ name: `client-${model}`, version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    asked.push(request);
    meeting.arrive();
    await meeting.all;
    return { model, role: 'assistant', content: { type: 'text', text: `answer from ${model}` } };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(gatehouse.mcpUrl)));
  return { client, asked };
}

describe('server-initiated requests over a Streamable HTTP downstream', () => {
  it('each reaches the session whose call it serves, with two sessions in flight on one server', async () => {
    const meeting = barrier(2);
    const a = await samplingClient('model-a', meeting);
    const b = await samplingClient('model-b', meeting);
    try {
      const call = (c: Client, prompt: string) =>
        c.callTool({
          name: 'everything__trigger-sampling-request',
          arguments: { prompt, maxTokens: 5 },
        }) as Promise<CallToolResult>;
      const [fromA, fromB] = await Promise.all([call(a.client, 'from A'), call(b.client, 'from B')]);

      expect(a.asked).toHaveLength(1);
      expect(b.asked).toHaveLength(1);
      expect(JSON.stringify(a.asked[0]!.params.messages)).toContain('from A');
      expect(JSON.stringify(b.asked[0]!.params.messages)).toContain('from B');
      expect(fromA.isError).toBeFalsy();
      expect(fromB.isError).toBeFalsy();
      expect(JSON.stringify(fromA.content)).toContain('answer from model-a');
      expect(JSON.stringify(fromB.content)).toContain('answer from model-b');
    } finally {
      await a.client.close();
      await b.client.close();
    }
  });
});
