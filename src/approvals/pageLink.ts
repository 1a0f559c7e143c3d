/**
 * Where a person opens one approval request: its page on Gatehouse's listener, under
 * `approvals.publicUrl` when that is set. A Gatehouse whose listener did not start (stdio with its port
 * taken) has no page, and says so rather than hand out a link nobody can open.
 */
export type PageLink = { url: string } | { unavailable: string };

export const PAGE_UNAVAILABLE =
  "the approval page is unavailable: this Gatehouse's HTTP listener did not start (see its log)";

/** The page of request `id` under `base` (a path prefix in `base` is kept). */
export function requestPageUrl(base: string, id: string): string {
  return `${base.replace(/\/+$/, '')}/approvals/${encodeURIComponent(id)}`;
}

/** Links under `base()`, read per link: the listener's address is known only once it listens. */
export function requestPageLinks(base: () => string | undefined): (id: string) => PageLink {
  return (id) => {
    const at = base();
    return at === undefined ? { unavailable: PAGE_UNAVAILABLE } : { url: requestPageUrl(at, id) };
  };
}

/** `url` when the page exists, for `_meta` and log fields. */
export const urlOf = (link: PageLink | undefined): string | undefined =>
  link && 'url' in link ? link.url : undefined;

/** How a pending request leads to its page: the model may pass the link on to the user. */
export const DECIDE_AT = 'Approvers decide on its page';

/** The sentence a reader gets: where the page is (after `lead`), or why there is none. */
export function pageSentence(link: PageLink, lead = 'Its page'): string {
  return 'url' in link ? `${lead}: ${link.url}` : `Note: ${link.unavailable}`;
}
