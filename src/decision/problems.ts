/**
 * A load-time problem, located in its file. Every problem of a policy set is collected before the set
 * is refused, so an author fixes them all in one round (cerbos does the same).
 */
export interface Problem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in characters. */
  col: number;
  /** The rule the problem belongs to, when there is one. */
  rule?: string;
  message: string;
  /** The source line, for the caret display. */
  sourceLine?: string;
}

/** `file:line:col: rule <id>: message`, then the source line and a caret under the fault. */
export function formatProblem(problem: Problem): string {
  const rule = problem.rule === undefined ? '' : `rule ${problem.rule}: `;
  const head = `${problem.file}:${problem.line}:${problem.col}: ${rule}${problem.message}`;
  if (problem.sourceLine === undefined) return head;
  const gutter = String(problem.line).padStart(5);
  // Keep tabs in the caret line so the caret stays under the fault in any terminal.
  const lead = problem.sourceLine.slice(0, problem.col - 1).replace(/[^\t]/g, ' ');
  return `${head}\n${gutter} | ${problem.sourceLine}\n${' '.repeat(gutter.length)} | ${lead}^`;
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map(formatProblem).join('\n');
}

export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

/** Maps character offsets of one text to 1-based line and column. */
export class SourceText {
  readonly file: string;
  readonly text: string;
  private readonly lineStarts: number[];

  constructor(file: string, text: string) {
    this.file = file;
    this.text = text;
    this.lineStarts = [0];
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
  }

  position(offset: number): { line: number; col: number } {
    const at = Math.max(0, Math.min(offset, this.text.length));
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid]! <= at) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, col: at - this.lineStarts[low]! + 1 };
  }

  lineText(line: number): string {
    const start = this.lineStarts[line - 1] ?? this.text.length;
    const next = this.lineStarts[line];
    return this.text.slice(start, next === undefined ? undefined : next - 1).replace(/\r$/, '');
  }

  problem(offset: number, message: string, rule?: string): Problem {
    const { line, col } = this.position(offset);
    return {
      file: this.file,
      line,
      col,
      message,
      sourceLine: this.lineText(line),
      ...(rule === undefined ? {} : { rule }),
    };
  }
}
