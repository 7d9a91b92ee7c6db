import { Element } from 'ltx';

/**
 * A shallow copy of a stanza with some attributes replaced: one per recipient, since a
 * sent stanza may be kept for Stream Management and must not change afterwards.
 */
export function copyStanza(stanza: Element, attrs: Record<string, string | undefined>): Element {
  const copy = new Element(stanza.name, { ...stanza.attrs });
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) delete copy.attrs[name];
    else copy.attrs[name] = value;
  }
  for (const child of stanza.children) copy.cnode(child as Element);
  return copy;
}
