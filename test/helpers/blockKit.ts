/**
 * Block Kit's limits as Slack's reference documents them (docs.slack.dev, Block Kit → blocks, block
 * elements, composition objects, views), written here apart from Gatehouse's message builder so that
 * the tests check its output against Slack's rules rather than against itself. Slack answers
 * `invalid_blocks` (or `invalid_arguments` for a view) for any of these. Unknown fields count too:
 * Slack refuses them.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** What is wrong with a message (`{text, blocks}`) or a modal view, as JSON paths; none: []. */
export function blockKitProblems(value: unknown, surface: 'message' | 'modal' = 'message'): string[] {
  const problems: string[] = [];
  const problem = (path: string, message: string) => problems.push(`${path}: ${message}`);

  const keys = (path: string, object: Json, allowed: string[]) => {
    for (const key of Object.keys(object)) {
      if (!allowed.includes(key)) problem(`${path}.${key}`, 'is not a field Slack knows here');
    }
  };
  const length = (path: string, text: unknown, min: number, max: number) => {
    if (typeof text !== 'string') return problem(path, 'must be a string');
    if (text.length < min || text.length > max)
      problem(path, `must be ${min} to ${max} characters (is ${text.length})`);
  };
  const textObject = (path: string, object: unknown, max: number, only?: 'plain_text') => {
    if (!isObject(object)) return problem(path, 'must be a text object');
    if (object.type === 'plain_text') keys(path, object, ['type', 'text', 'emoji']);
    else if (object.type === 'mrkdwn' && only !== 'plain_text')
      keys(path, object, ['type', 'text', 'verbatim']);
    else return problem(`${path}.type`, only ? 'must be plain_text' : 'must be plain_text or mrkdwn');
    length(`${path}.text`, object.text, 1, max);
  };

  const element = (path: string, el: unknown) => {
    if (!isObject(el)) return problem(path, 'must be an object');
    if (el.type === 'button') {
      keys(path, el, [
        'type',
        'action_id',
        'text',
        'value',
        'url',
        'style',
        'confirm',
        'accessibility_label',
      ]);
      textObject(`${path}.text`, el.text, 75, 'plain_text');
      length(`${path}.action_id`, el.action_id, 1, 255);
      if (el.value !== undefined) length(`${path}.value`, el.value, 1, 2000);
      if (el.url !== undefined) length(`${path}.url`, el.url, 1, 3000);
      if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger') {
        problem(`${path}.style`, 'must be primary or danger');
      }
      return;
    }
    if (el.type === 'plain_text_input') {
      keys(path, el, [
        'type',
        'action_id',
        'multiline',
        'min_length',
        'max_length',
        'placeholder',
        'initial_value',
      ]);
      length(`${path}.action_id`, el.action_id, 1, 255);
      const min = (el.min_length as number | undefined) ?? 0;
      const max = (el.max_length as number | undefined) ?? 3000;
      if (min < 0 || min > 3000 || max < 1 || max > 3000 || min > max)
        problem(path, 'min_length/max_length out of range');
      return;
    }
    problem(`${path}.type`, `${String(el.type)} is not an element these blocks take`);
  };

  const block = (path: string, b: unknown) => {
    if (!isObject(b)) return problem(path, 'must be an object');
    if (b.block_id !== undefined) length(`${path}.block_id`, b.block_id, 1, 255);
    switch (b.type) {
      case 'header':
        keys(path, b, ['type', 'text', 'block_id']);
        return textObject(`${path}.text`, b.text, 150, 'plain_text');
      case 'section': {
        keys(path, b, ['type', 'text', 'fields', 'block_id', 'accessory']);
        if (b.text === undefined && b.fields === undefined) problem(path, 'needs text or fields');
        if (b.text !== undefined) textObject(`${path}.text`, b.text, 3000);
        if (b.fields !== undefined) {
          if (!Array.isArray(b.fields) || b.fields.length < 1 || b.fields.length > 10) {
            problem(`${path}.fields`, 'must hold 1 to 10 text objects');
          } else b.fields.forEach((f, i) => textObject(`${path}.fields[${i}]`, f, 2000));
        }
        return;
      }
      case 'context':
        keys(path, b, ['type', 'elements', 'block_id']);
        if (!Array.isArray(b.elements) || b.elements.length < 1 || b.elements.length > 10) {
          return problem(`${path}.elements`, 'must hold 1 to 10 elements');
        }
        return b.elements.forEach((e, i) => textObject(`${path}.elements[${i}]`, e, 3000));
      case 'actions':
        keys(path, b, ['type', 'elements', 'block_id']);
        if (!Array.isArray(b.elements) || b.elements.length < 1 || b.elements.length > 25) {
          return problem(`${path}.elements`, 'must hold 1 to 25 elements');
        }
        return b.elements.forEach((e, i) => element(`${path}.elements[${i}]`, e));
      case 'input':
        if (surface !== 'modal') return problem(`${path}.type`, 'input blocks belong in modals');
        keys(path, b, ['type', 'label', 'element', 'block_id', 'hint', 'optional']);
        textObject(`${path}.label`, b.label, 2000, 'plain_text');
        return element(`${path}.element`, b.element);
      default:
        problem(`${path}.type`, `${String(b.type)} is not a block Gatehouse should send`);
    }
  };

  if (!isObject(value)) return ['$: must be an object'];
  const blocks = value.blocks;
  const most = surface === 'message' ? 50 : 100;
  if (!Array.isArray(blocks) || blocks.length < 1 || blocks.length > most) {
    problem('$.blocks', `must hold 1 to ${most} blocks`);
  } else blocks.forEach((b, i) => block(`$.blocks[${i}]`, b));
  if (surface === 'message') {
    keys('$', value, ['text', 'blocks']);
    // The notification text: Slack truncates beyond 40,000 and recommends at most 4,000.
    length('$.text', value.text, 1, 4000);
  } else {
    keys('$', value, ['type', 'callback_id', 'title', 'submit', 'close', 'private_metadata', 'blocks']);
    if (value.type !== 'modal') problem('$.type', 'must be modal');
    textObject('$.title', value.title, 24, 'plain_text');
    textObject('$.submit', value.submit, 24, 'plain_text');
    textObject('$.close', value.close, 24, 'plain_text');
    length('$.callback_id', value.callback_id, 1, 255);
    length('$.private_metadata', value.private_metadata, 0, 3000);
  }
  return problems;
}

/** Every mrkdwn text object's text, wherever it sits. */
export function mrkdwnTexts(value: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isObject(node)) return;
    if (node.type === 'mrkdwn' && typeof node.text === 'string') out.push(node.text);
    Object.values(node).forEach(walk);
  };
  walk(value);
  return out;
}

/** Every plain_text object's text, wherever it sits. */
export function plainTexts(value: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isObject(node)) return;
    if (node.type === 'plain_text' && typeof node.text === 'string') out.push(node.text);
    Object.values(node).forEach(walk);
  };
  walk(value);
  return out;
}
