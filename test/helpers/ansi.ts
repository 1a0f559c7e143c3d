/**
 * Terminal output (SGR colour codes) as an HTML page, to screenshot a terminal's screen in a browser.
 * Only what terminals print for logs: bold, dim, the 16 colours, reset.
 */

const COLOURS: Record<number, string> = {
  30: '#1e1e1e',
  31: '#f14c4c',
  32: '#23d18b',
  33: '#f5f543',
  34: '#3b8eea',
  35: '#d670d6',
  36: '#29b8db',
  37: '#e5e5e5',
  90: '#8a8a8a',
  97: '#ffffff',
};
const BACKGROUNDS: Record<number, string> = { 41: '#cd3131' };

const escape = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/**
 * What the terminal shows of a program's output: carriage returns dropped, and a line a program
 * rewrote in place (npm's spinner: cursor to column 1, erase the line) without what it erased.
 */
export function screenText(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replaceAll('\r', '').replace(/[^\n]*\u001b\[1G\u001b\[0?K/g, '');
}

export function ansiToHtml(text: string, title: string): string {
  let style: { bold?: boolean; dim?: boolean; color?: string; background?: string } = {};
  let html = '';
  // eslint-disable-next-line no-control-regex
  for (const part of screenText(text).split(/(\u001b\[[0-9;]*m)/)) {
    // eslint-disable-next-line no-control-regex
    const sgr = /^\u001b\[([0-9;]*)m$/.exec(part);
    if (!sgr) {
      if (part === '') continue;
      const css = [
        style.bold ? 'font-weight:bold' : '',
        style.dim ? 'opacity:0.6' : '',
        style.color ? `color:${style.color}` : '',
        style.background ? `background:${style.background}` : '',
      ].filter(Boolean);
      html += css.length ? `<span style="${css.join(';')}">${escape(part)}</span>` : escape(part);
      continue;
    }
    for (const code of (sgr[1] || '0').split(';').map(Number)) {
      if (code === 0) style = {};
      else if (code === 1) style.bold = true;
      else if (code === 2) style.dim = true;
      else if (code === 22) style = { ...style, bold: false, dim: false };
      else if (code === 39) delete style.color;
      else if (code === 49) delete style.background;
      else if (COLOURS[code]) style.color = COLOURS[code];
      else if (BACKGROUNDS[code]) style.background = BACKGROUNDS[code];
    }
  }
  return (
    `<!doctype html><meta charset="utf-8"><title>${escape(title)}</title>` +
    '<body style="margin:0;background:#1e1e1e">' +
    '<pre id="screen" style="margin:0;padding:16px 20px;display:inline-block;color:#cccccc;background:#1e1e1e;' +
    `font:13px/1.45 'DejaVu Sans Mono',monospace;white-space:pre">${html}</pre></body>`
  );
}
