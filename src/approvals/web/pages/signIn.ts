import { html, type SafeHtml } from '../html.js';
import { layout } from './layout.js';

export interface SignInPageInput {
  /** Where to go after signing in (already checked to be a page of ours). */
  next: string;
  /** The double-submit token of the sign-in form. */
  formToken: string;
  local: boolean;
  oidc: boolean;
  error?: string;
  notice?: string;
  userId?: string;
}

export function signInPage(input: SignInPageInput): SafeHtml {
  const { next, local, oidc } = input;
  return layout({
    title: 'Sign in',
    body: html`<div class="narrow">
      <h1>Sign in to approve</h1>
      <p class="sub">Only approvers listed by a policy rule can decide on its requests.</p>
      ${input.notice && html`<div class="banner info" role="status" data-testid="notice"><p>${input.notice}</p></div>`}
      ${input.error && html`<div class="banner error" role="alert" data-testid="error"><p>${input.error}</p></div>`}
      ${
        local &&
        html`<form method="post" action="/approvals/sign-in" class="card stack" data-testid="local-sign-in">
          <input type="hidden" name="csrf" value="${input.formToken}" />
          <input type="hidden" name="next" value="${next}" />
          <div>
            <label for="user">User</label
            ><input
              id="user"
              name="user"
              type="text"
              autocomplete="username"
              required
              value="${input.userId ?? ''}"
            />
          </div>
          <div>
            <label for="password">Password</label
            ><input id="password" name="password" type="password" autocomplete="current-password" required />
          </div>
          <button type="submit" class="approve">Sign in</button>
        </form>`
      }
      ${oidc && html`<p class="card"><a href="/auth/login?next=${encodeURIComponent(next)}" data-testid="oidc-sign-in">Sign in with your organisation's account</a></p>`}
      ${
        !local &&
        !oidc &&
        html`<div class="banner warn">
          <p>
            No sign-in method is configured. Add <code>approvers.accounts</code> (local accounts) or
            <code>approvers.oidc</code> to the Gatehouse config.
          </p>
        </div>`
      }
    </div>`,
  });
}
