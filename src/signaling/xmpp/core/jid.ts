/**
 * A JID (RFC 7622) reduced to what this server needs: split, validate lengths and the
 * characters a localpart may not contain, and compare case-insensitively where the
 * RFC's PRECIS profiles would.
 */
export class Jid {
  private constructor(
    readonly local: string,
    readonly domain: string,
    readonly resource: string,
  ) {}

  /** Parses a JID; null when it is malformed. */
  static parse(text: string): Jid | null {
    if (text.length === 0 || text.length > 3071) return null;
    const slash = text.indexOf('/');
    const bare = slash === -1 ? text : text.slice(0, slash);
    const resource = slash === -1 ? '' : text.slice(slash + 1);
    const at = bare.indexOf('@');
    const local = at === -1 ? '' : bare.slice(0, at);
    const domain = (at === -1 ? bare : bare.slice(at + 1)).toLowerCase().replace(/\.$/, '');
    if (at !== -1 && !Jid.isValidLocal(local)) return null;
    if (!/^[a-z0-9]([a-z0-9.-]{0,252})?$/.test(domain) || domain.includes('..')) return null;
    if (slash !== -1 && !Jid.isValidResource(resource)) return null;
    return new Jid(local.toLowerCase(), domain, resource);
  }

  static of(local: string, domain: string, resource = ''): Jid {
    return new Jid(local.toLowerCase(), domain.toLowerCase(), resource);
  }

  static isValidLocal(local: string): boolean {
    // RFC 7622 section 3.3.1: these characters are forbidden in a localpart.
    return (
      local.length > 0 &&
      Buffer.byteLength(local) <= 1023 &&
      !/[\s"&'/:<>@]/.test(local) &&
      !hasControlCharacter(local)
    );
  }

  static isValidResource(resource: string): boolean {
    return (
      resource.length > 0 && Buffer.byteLength(resource) <= 1023 && !hasControlCharacter(resource)
    );
  }

  get bare(): Jid {
    return this.resource ? new Jid(this.local, this.domain, '') : this;
  }

  withResource(resource: string): Jid {
    return new Jid(this.local, this.domain, resource);
  }

  get isBare(): boolean {
    return this.resource === '';
  }

  equals(other: Jid): boolean {
    return this.toString() === other.toString();
  }

  toString(): string {
    const bare = this.local ? `${this.local}@${this.domain}` : this.domain;
    return this.resource ? `${bare}/${this.resource}` : bare;
  }
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
