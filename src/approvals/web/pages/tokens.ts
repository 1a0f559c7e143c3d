import type { ApiToken } from '../auth/tokens.js';
import { html, type SafeHtml } from '../html.js';
import { time } from './format.js';
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
      ${
        tokens.length === 0
          ? html`<p class="muted" data-testid="tokens">None.</p>`
          : html`<table data-testid="tokens">
              <thead>
                <tr>
                  <th>Label</th>
                  <th>Id</th>
                  <th>Created</th>
                  <th>Expires</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                ${tokens.map(
                  (t) =>
                    html`<tr>
                      <td>${t.label}</td>
                      <td><code>${t.id}</code></td>
                      <td>${time(new Date(t.createdAt).toISOString(), now)}</td>
                      <td>${time(new Date(t.expiresAt).toISOString(), now)}</td>
                      <td>
                        <form method="post" action="/approvals/tokens/${t.id}/revoke">
                          ${csrfField(viewer)}<button type="submit" class="plain">Revoke</button>
                        </form>
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }`,
  });
}
