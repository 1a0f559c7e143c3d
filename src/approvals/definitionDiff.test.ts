import { describe, expect, it } from 'vitest';
import { diffDefinitions } from './definitionDiff.js';

const weather = {
  name: 'target',
  description: 'reports the weather in a city',
  inputSchema: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
  },
};

describe('diffDefinitions', () => {
  it('is empty for equal definitions', () => {
    expect(diffDefinitions(weather, structuredClone(weather))).toEqual([]);
  });

  it('names each changed, added and removed path with its values', () => {
    const after = {
      name: 'target',
      inputSchema: {
        type: 'object',
        properties: { city: { type: 'string', maxLength: 80 }, 'mail.to': { type: 'string' } },
        required: ['city', 'mail.to'],
      },
    };
    expect(diffDefinitions(weather, after)).toEqual([
      { path: 'description', before: 'reports the weather in a city' },
      { path: 'inputSchema.properties.city.maxLength', after: 80 },
      { path: 'inputSchema.properties["mail.to"]', after: { type: 'string' } },
      { path: 'inputSchema.required', before: ['city'], after: ['city', 'mail.to'] },
    ]);
  });

  it('compares a value that changes kind as a whole', () => {
    const after = { ...weather, inputSchema: { ...weather.inputSchema, properties: [] } };
    expect(diffDefinitions(weather, after)).toEqual([
      { path: 'inputSchema.properties', before: { city: { type: 'string' } }, after: [] },
    ]);
  });
});
