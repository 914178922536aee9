/**
 * A tiny HTML template tag: every interpolated value is escaped unless it is itself `Html`
 * (the result of another `html` template). No template engine, no way to forget escaping.
 * @module
 */

/** A fragment of HTML that is already safe to send. */
export class Html {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

/**
 * Build an `Html` fragment. Strings and numbers are escaped; `Html` fragments and arrays of them
 * are inserted as they are; `null`, `undefined` and `false` render as nothing.
 * @example html`<p>Hello, ${name}</p>`
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let text = strings[0] ?? '';
  values.forEach((value, index) => {
    text += render(value) + (strings[index + 1] ?? '');
  });
  return new Html(text);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** Escape text for HTML content and for double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => {
    switch (char) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return '&#39;';
    }
  });
}
