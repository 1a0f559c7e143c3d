import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../log.js';
import { ChannelDeliveryError } from '../channel.js';
import type { ConnectorTarget } from './connector.js';
import { createMemberIds } from './members.js';

const target: ConnectorTarget = { serviceUrl: 'https://smba.example', conversationId: '19:a@thread.tacv2' };
const other: ConnectorTarget = { ...target, conversationId: '19:b@thread.tacv2' };
const signal = new AbortController().signal;

/** A Connector whose members are `roster` (object id → Teams id, or an error to throw); it counts lookups. */
function connectorWith(roster: Record<string, string | Error>) {
  const asked: string[] = [];
  return {
    asked,
    member: async (t: ConnectorTarget, objectId: string) => {
      asked.push(`${t.conversationId} ${objectId}`);
      const found = roster[objectId];
      if (found instanceof Error) throw found;
      return found === undefined ? undefined : { id: found };
    },
  };
}

describe("the Teams ids a card's refresh names", () => {
  it('are looked up once per person, in the order asked; a non-member is left out and asked again later', async () => {
    let clock = 0;
    const connector = connectorWith({ bob: '29:bob', carol: '29:carol' });
    const ids = createMemberIds({ connector, logger: silentLogger, now: () => clock });
    expect(await ids.idsFor(target, ['bob', 'carol', 'dave'], signal)).toEqual(['29:bob', '29:carol']);
    expect(await ids.idsFor(target, ['carol', 'bob', 'dave'], signal)).toEqual(['29:carol', '29:bob']);
    // A person's id for the bot is the same in every conversation; membership is not.
    expect(await ids.idsFor(other, ['bob', 'dave'], signal)).toEqual(['29:bob']);
    expect(connector.asked).toEqual([
      `${target.conversationId} bob`,
      `${target.conversationId} carol`,
      `${target.conversationId} dave`,
      `${other.conversationId} dave`,
    ]);
    clock += 10 * 60_000 + 1;
    await ids.idsFor(target, ['dave'], signal);
    expect(connector.asked.at(-1)).toBe(`${target.conversationId} dave`);
    expect(connector.asked).toHaveLength(5);
  });

  it('fall back to the MRI when a lookup fails, and ask again next time', async () => {
    const down = new ChannelDeliveryError('looking up a member: smba.example answered 503', {
      retryable: true,
    });
    const connector = connectorWith({ bob: down });
    const ids = createMemberIds({ connector, logger: silentLogger });
    expect(await ids.idsFor(target, ['bob'], signal)).toEqual(['8:orgid:bob']);
    expect(await ids.idsFor(target, ['bob'], signal)).toEqual(['8:orgid:bob']);
    expect(connector.asked).toHaveLength(2);
  });

  it('learn a Teams id from an activity, whatever the case of its object id, and then ask nobody', async () => {
    const connector = connectorWith({});
    const ids = createMemberIds({ connector, logger: silentLogger });
    ids.learn('BBBB-0001', '29:bob-from-activity');
    // Only a user's Teams id counts: a bot's (28:) or anything else is not one.
    ids.learn('cccc-0002', '28:some-bot');
    ids.learn(undefined, '29:nobody');
    expect(await ids.idsFor(target, ['bbbb-0001', 'cccc-0002'], signal)).toEqual(['29:bob-from-activity']);
    expect(connector.asked).toEqual([`${target.conversationId} cccc-0002`]);
  });
});
