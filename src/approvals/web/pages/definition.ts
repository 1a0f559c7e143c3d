import { diffDefinitions } from '../../definitionDiff.js';
import type { ApprovalRequest, ToolDefinition } from '../../request.js';
import { isOpen } from '../../states.js';
import { html, type SafeHtml } from '../html.js';
import { argumentsView, flagBanner, flaggedText } from './arguments.js';
import { table } from './format.js';

/**
 * The tool as the approvers are asked to trust it: its description and input schema, shown exactly,
 * as the request is bound to them. And, wherever another definition of the tool is known, what
 * changed: the definition the server listed when the approved call was about to run (it was blocked),
 * the one it lists now (an open request would be blocked), or the requester's earlier request's (why
 * this one is new).
 */
export function definitionSection(request: ApprovalRequest): SafeHtml {
  const definition = request.toolDefinition;
  if (!definition) {
    return html`<h2>Tool definition</h2>
      <p class="muted" data-testid="tool-description">
        Not recorded: this request was stored before Gatehouse kept tool definitions. It is bound to the
        definition digest above.
      </p>`;
  }
  const description = flaggedText(definition.description ?? '');
  const schema = argumentsView(definition.inputSchema, 'tool-schema');
  return html`<h2>Tool definition</h2>
    ${flagBanner([...description.flags, ...schema.flags])}
    <div class="card">
      <dl class="facts">
        <dt>Description</dt>
        <dd>
          ${
            definition.description === undefined
              ? html`<span class="muted" data-testid="tool-description">none</span>`
              : html`<span data-testid="tool-description">${description.body}</span>`
          }
        </dd>
      </dl>
    </div>
    <h3>Input schema</h3>
    ${schema.view}`;
}

/** What changed in the tool, where another definition of it is known; shown above everything else. */
export function definitionChanges(
  request: ApprovalRequest,
  current: ToolDefinition | undefined,
): SafeHtml | undefined {
  const definition = request.toolDefinition;
  const changes = definition ? changeNotes(request, definition, current) : [];
  if (changes.length === 0) return undefined;
  return html`<div class="banner warn" data-testid="definition-changes">
    <p><strong>The tool's definition changed.</strong></p>
    ${changes}
  </div>`;
}

function changeNotes(
  request: ApprovalRequest,
  definition: ToolDefinition,
  current: ToolDefinition | undefined,
): SafeHtml[] {
  const notes: SafeHtml[] = [];
  const found = request.execution?.error?.toolDefinition;
  if (found) {
    notes.push(
      changeNote(
        'When the approved call was about to run, the server listed this tool differently, so it was NOT executed.',
        definition,
        found,
        ['Approved', 'Listed then'],
      ),
    );
  }
  if (current && isOpen(request.state) && diffDefinitions(definition, current).length > 0) {
    notes.push(
      changeNote(
        'The server now lists this tool differently: approving this request will not run it.',
        definition,
        current,
        ['This request', 'Listed now'],
      ),
    );
  }
  const earlier = request.definitionChangedSince;
  if (earlier?.toolDefinition) {
    notes.push(
      changeNote(
        `This is a new request because the tool changed since the requester's earlier request ${earlier.id} for the same call (then ${earlier.state}).`,
        earlier.toolDefinition,
        definition,
        [`Request ${earlier.id}`, 'This request'],
      ),
    );
  }
  return notes;
}

function changeNote(
  text: string,
  before: ToolDefinition,
  after: ToolDefinition,
  [from, to]: [string, string],
): SafeHtml {
  const rows = diffDefinitions(before, after).map((change) => [
    html`<code>${change.path}</code>`,
    shown(change.before),
    shown(change.after),
  ]);
  return html`<p>${text}</p>
    ${table('definition-diff', ['What', from, to], rows, 'No difference in description or schema.')}`;
}

function shown(value: unknown): SafeHtml {
  if (value === undefined) return html`<span class="muted">(absent)</span>`;
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return html`<pre class="args">${flaggedText(text).body}</pre>`;
}
