import { Element, escapeXML, escapeXMLText } from 'ltx';

/**
 * A shallow copy of a stanza with some attributes replaced: one per recipient, since a
 * sent stanza may be kept for Stream Management and must not change afterwards.
 */
export function copyStanza(stanza: Element, attrs: Record<string, string | undefined>): Element {
  const copy = new Element(stanza.name, { ...stanza.attrs });
  setAttrs(copy, attrs);
  for (const child of stanza.children) copy.cnode(child as Element);
  return copy;
}

function setAttrs(copy: Element, attrs: Record<string, string | undefined>) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) delete copy.attrs[name];
    else copy.attrs[name] = value;
  }
}

/** What fan-out copies of one stanza share: its serialized children and attributes. */
interface Serialized {
  inner: string;
  attrs: Map<string, string>;
}
const serializedSources = new WeakMap<Element, Serialized>();

function serialized(source: Element): Serialized {
  let known = serializedSources.get(source);
  if (!known) {
    const inner = source.children
      .map((child) => (typeof child === 'string' ? escapeXMLText(child) : child.toString()))
      .join('');
    const attrs = new Map<string, string>();
    for (const [name, value] of Object.entries(source.attrs))
      if (value != null) attrs.set(name, escapeXML(String(value)));
    known = { inner, attrs };
    serializedSources.set(source, known);
  }
  return known;
}

const XML_SPECIAL = /["&'<>]/;
/** An attribute value as XML text; the recipient's own JID seldom needs any escaping. */
const attributeText = (value: unknown) => {
  const text = String(value);
  return XML_SPECIAL.test(text) ? escapeXML(text) : text;
};

/**
 * A copy that serializes `source`'s children as they were at their first serialization
 * rather than anew (unless its own children were changed since). A MUC fan-out sends one
 * stanza to every occupant: a join burst of 500 spent most of its time re-escaping the
 * same children 250,000 times.
 */
class FanOutCopy extends Element {
  /** Unset in a copy of this copy made by ltx's clone(), which passes name and attrs. */
  source?: Element;

  override write(writer: (part: string) => void): void {
    const { children, source } = this;
    const unchanged =
      source !== undefined &&
      children.length === source.children.length &&
      children.every((child, i) => child === source.children[i]);
    if (!unchanged || children.length === 0) return super.write(writer);
    const shared = serialized(source);
    let tag = `<${this.name}`;
    for (const name in this.attrs) {
      const value = this.attrs[name] as unknown;
      if (value == null) continue;
      const escaped = value === source.attrs[name] ? shared.attrs.get(name) : attributeText(value);
      tag += ` ${name}="${escaped}"`;
    }
    writer(`${tag}>${shared.inner}</${this.name}>`);
  }
}

/**
 * copyStanza for a stanza that goes to many recipients and never changes after its first
 * copy (a cached occupant presence, a groupchat message once built).
 */
export function fanOutCopy(stanza: Element, attrs: Record<string, string | undefined>): Element {
  // ltx's constructor copies the attributes it is given.
  const copy = new FanOutCopy(stanza.name, stanza.attrs);
  copy.source = stanza;
  setAttrs(copy, attrs);
  // Shared children keep their parent: they belong to the source, not to its copies.
  copy.children = stanza.children.slice();
  return copy;
}
