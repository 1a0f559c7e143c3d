/**
 * pino's JSON lines made readable for a person at a terminal: time, level, message, then the fields.
 * Only for a terminal (`log.format: auto` on a TTY, or `pretty`): files, pipes and machines get the
 * JSON as pino writes it. A line that is not JSON passes unchanged, so nothing is ever lost.
 */

export interface PrettyOptions {
  /** ANSI colours (the terminal's own choice: NO_COLOR, FORCE_COLOR, TERM=dumb). */
  colors: boolean;
  /** The terminal's width: fields that do not fit after the message go on their own lines. */
  width: number;
}

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '90' },
  30: { name: 'INFO', color: '32' },
  40: { name: 'WARN', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '41;97' },
};

/** Every line carries these; the time is shown short and the rest says nothing to a person. */
const OMITTED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);
const INDENT = ' '.repeat(15);

export function formatPrettyLine(line: string, options: PrettyOptions): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return line;
    entry = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const paint = (code: string, text: string) => (options.colors ? `\u001b[${code}m${text}\u001b[0m` : text);
  const level = LEVELS[entry.level as number] ?? { name: String(entry.level), color: '0' };
  const time = typeof entry.time === 'number' ? new Date(entry.time).toTimeString().slice(0, 8) : '';
  const message = typeof entry.msg === 'string' ? entry.msg : '';
  // Parts of a message after "; " read better as lines of their own: "ready: …; approval page: …".
  const [first = '', ...more] = message.split('; ');
  // Whose line it is (a downstream server, a module) leads, as a tag.
  const subjectKey = ['server', 'module'].find((key) => typeof entry[key] === 'string');
  const subject = subjectKey ? `${paint('36', `[${entry[subjectKey] as string}]`)} ` : '';
  const head =
    `${paint('2', time)} ${paint(level.color, level.name.padEnd(5))} ` +
    `${subject}${(entry.level as number) >= 30 ? paint('1', first) : first}`;
  const fields = Object.entries(entry)
    .filter(([key, value]) => !OMITTED.has(key) && key !== subjectKey && value !== undefined)
    .filter(([, value]) => !shownIn(message, value))
    .map(([key, value]) => `${key}=${fieldText(key, value)}`);
  const lines = [head, ...more.map((part) => INDENT + part)];
  const inline = fields.join(' ');
  if (fields.length > 0) {
    const last = lines.length - 1;
    // After the message when they fit on its line, else on a line of their own below it.
    if (visibleLength(lines[last]!) + 2 + inline.length <= options.width)
      lines[last] += `  ${paint('2', inline)}`;
    else lines.push(INDENT + paint('2', inline));
  }
  return `${lines.join('\n')}\n`;
}

/** A field whose text the message already holds (the ready line's URL) is not said twice. */
function shownIn(message: string, value: unknown): boolean {
  return typeof value === 'string' && value.length >= 8 && message.includes(value);
}

function fieldText(key: string, value: unknown): string {
  if (key === 'err' && typeof value === 'object' && value !== null) {
    const err = value as { type?: string; message?: string };
    return JSON.stringify(`${err.type ?? 'Error'}: ${err.message ?? ''}`);
  }
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' && /^[^\s,\]]+$/.test(v))) {
    return `[${value.join(', ')}]`;
  }
  return JSON.stringify(value);
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** A pino destination that writes each JSON line as a pretty one. */
export function prettyDestination(
  out: { write(text: string): unknown },
  options: () => PrettyOptions,
): { write(line: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') out.write(formatPrettyLine(line, options()));
    },
  };
}
