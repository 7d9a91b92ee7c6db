/** XEP-0045 namespaces, and Video Window's occupant media extension. */
export const MUC = {
  base: 'http://jabber.org/protocol/muc',
  user: 'http://jabber.org/protocol/muc#user',
  admin: 'http://jabber.org/protocol/muc#admin',
  roomInfo: 'http://jabber.org/protocol/muc#roominfo',
  dataForms: 'jabber:x:data',
  /** XEP-0172 user nickname: an occupant's display name (Jitsi nicks are random ids). */
  nick: 'http://jabber.org/protocol/nick',
  /**
   * `<media xmlns='urn:videowindow:media' audio='on|muted|off' video='on|muted|off'/>` in
   * occupant presence: whether the occupant sends audio and video (`muted`: a paused
   * producer; `off`: none).
   */
  media: 'urn:videowindow:media',
} as const;
