import type { Identity } from '../../request.js';
import { html, SafeHtml, type HtmlValue } from '../html.js';
import { STYLESHEET } from './style.js';

/** Who is looking, and the token their forms carry. */
export interface Viewer {
  principal: Identity;
  csrfToken: string;
}

export interface LayoutInput {
  title: string;
  viewer?: Viewer;
  body: HtmlValue;
  /** Reload the page this often (a meta refresh: the page has no script). Never on a page with a form to fill. */
  refreshSeconds?: number;
}

export function layout({ title, viewer, body, refreshSeconds }: LayoutInput): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        ${refreshSeconds !== undefined && html`<meta http-equiv="refresh" content="${refreshSeconds}" />`}
        <title>${title} · Gatehouse</title>
        ${styleElement}
      </head>
      <body>
        <header class="top">
          <a href="/approvals">Gatehouse approvals</a>
          ${viewer && header(viewer)}
        </header>
        <main>${body}</main>
      </body>
    </html>`;
}

function header(viewer: Viewer): SafeHtml {
  const groups = viewer.principal.groups;
  return html`<div class="who">
    <span
      >Signed in as
      <strong data-testid="viewer">${viewer.principal.id}</strong
      >${groups.length > 0 && html` <span class="muted">(${groups.join(', ')})</span>`}</span
    >
    <a href="/approvals/tokens">API tokens</a>
    <form method="post" action="/approvals/sign-out">
      ${csrfField(viewer)}<button type="submit">Sign out</button>
    </form>
  </div>`;
}

export function csrfField(viewer: Viewer): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${viewer.csrfToken}" />`;
}

/** A page that only says what went wrong. */
export function messagePage(title: string, message: string, viewer?: Viewer): SafeHtml {
  return layout({
    title,
    viewer,
    body: html`<h1>${title}</h1>
      <div class="banner error" role="alert"><p>${message}</p></div>
      <p><a href="/approvals">Back to the inbox</a></p>`,
  });
}

// The stylesheet is ours, constant and hashed into the CSP: the one piece of markup not escaped. Built
// whole, so no formatter can add whitespace inside the element and break the hash.
const styleElement = new SafeHtml(`<style>${STYLESHEET}</style>`);
