import type { ApiToken } from '../auth/tokens.js';
import { html, type SafeHtml } from '../html.js';
import { table, time } from './format.js';
import { csrfField, layout, type Viewer } from './layout.js';

export interface TokensPageInput {
  viewer: Viewer;
  tokens: readonly ApiToken[];
  now: number;
  /** A token just issued: its secret is shown this once. */
  issued?: { token: string; record: ApiToken };
  error?: string;
}

export function tokensPage({ viewer, tokens, now, issued, error }: TokensPageInput): SafeHtml {
  return layout({
    title: 'API tokens',
    viewer,
    body: html`<h1>API tokens</h1>
      <p class="sub">
        A token lets a program or <code>gatehouse approvals</code> act as you through the approval API (<code
          >Authorization: Bearer …</code
        >, or <code>GATEHOUSE_APPROVER_TOKEN</code> for the CLI). It expires with the sign-in lifetime, and a
        restart of Gatehouse revokes every token.
      </p>
      ${error && html`<div class="banner error" role="alert"><p>${error}</p></div>`}
      ${
        issued &&
        html`<div class="banner ok" data-testid="issued">
          <p><strong>Copy this token now: it is not shown again.</strong></p>
          <p class="secret mono" data-testid="token">${issued.token}</p>
          <p class="muted">Expires ${time(new Date(issued.record.expiresAt).toISOString(), now)}.</p>
        </div>`
      }
      <form method="post" action="/approvals/tokens" class="card stack">
        ${csrfField(viewer)}
        <div>
          <label for="label">Label</label
          ><input id="label" name="label" type="text" maxlength="100" placeholder="laptop CLI" />
        </div>
        <button type="submit" class="plain">Create a token</button>
      </form>
      <h2>Your tokens</h2>
      ${table(
        'tokens',
        ['Label', 'Id', 'Created', 'Expires', ''],
        tokens.map((t) => [
          t.label,
          html`<code>${t.id}</code>`,
          time(new Date(t.createdAt).toISOString(), now),
          time(new Date(t.expiresAt).toISOString(), now),
          html`<form method="post" action="/approvals/tokens/${t.id}/revoke">
            ${csrfField(viewer)}<button type="submit" class="plain">Revoke</button>
          </form>`,
        ]),
        'None.',
      )}`,
  });
}
