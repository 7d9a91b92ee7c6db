/**
 * The tiles' order, the grid's pages and what is in view: the view tells it what came,
 * went and spoke, and it reports which remote tiles are shown and how tall they are, in
 * tile order (the call receives video for those only, see visible-tiles.ts).
 */
import type { VideoLimits } from '../../signaling/socketio/protocol';
import { DEFAULT_VIDEO_LIMITS, tileOrder } from './visible-tiles';
import { element } from './ui-elements';

export class TilePages {
  /** Remote members in the order they came. */
  private readonly joined: string[] = [];
  private readonly tiles = new Map<string, HTMLElement>();
  /** Most recent first. */
  private recentSpeakers: string[] = [];
  private pinned?: string;
  private limits = DEFAULT_VIDEO_LIMITS;
  private page = 0;
  /** Tiles a page holds (the local one included); undefined: one page of them all. */
  private perPage?: number;
  private readonly inView = new Set<string>();
  private readonly observer: IntersectionObserver;
  private reportQueued = false;

  constructor(
    private readonly onShown: (shown: Map<string, number>) => void,
    /** The view lays out again (the tiles per page changed what fits). */
    private readonly onOrderChanged: () => void,
  ) {
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const id = (entry.target as HTMLElement).dataset.participantId!;
        if (entry.isIntersecting) this.inView.add(id);
        else this.inView.delete(id);
      }
      this.queueReport();
    });
    element('page-prev').addEventListener('click', () => this.turn(-1));
    element('page-next').addEventListener('click', () => this.turn(1));
  }

  get maxVideos(): number {
    return this.limits.maxVideos;
  }

  /** The members on the current page, the local one first (for the grid's sizing). */
  get shownCount(): number {
    return Math.min(this.tiles.size, this.perPage ?? Infinity);
  }

  setLimits(limits: VideoLimits) {
    this.limits = limits;
    this.arrange();
  }

  add(id: string, tile: HTMLElement, isLocal: boolean) {
    this.tiles.set(id, tile);
    if (!isLocal) this.joined.push(id);
    this.observer.observe(tile);
    this.arrange();
  }

  remove(id: string) {
    const tile = this.tiles.get(id);
    if (tile) this.observer.unobserve(tile);
    this.tiles.delete(id);
    this.inView.delete(id);
    const index = this.joined.indexOf(id);
    if (index >= 0) this.joined.splice(index, 1);
    if (this.pinned === id) this.pinned = undefined;
    this.arrange();
  }

  spoke(id: string | undefined) {
    if (!id || !this.joined.includes(id) || this.recentSpeakers[0] === id) return;
    this.recentSpeakers = [id, ...this.recentSpeakers.filter((s) => s !== id)].slice(
      0,
      Math.max(this.limits.lastN, 1),
    );
    this.arrange();
  }

  isPinned(id: string): boolean {
    return this.pinned === id;
  }

  togglePin(id: string) {
    this.pinned = this.pinned === id ? undefined : id;
    for (const [memberId, tile] of this.tiles) {
      tile.classList.toggle('pinned', memberId === this.pinned);
    }
    this.arrange();
  }

  /** Pages of `perPage` tiles (the local one on each), or undefined for all in one. */
  paginate(perPage: number | undefined) {
    if (perPage === this.perPage) return this.queueReport();
    this.perPage = perPage;
    this.arrange();
  }

  /** The remote members in tile order. */
  order(): string[] {
    return tileOrder(this.joined, this.recentSpeakers, this.limits.lastN, this.pinned);
  }

  /** Orders the tiles, hides those of other pages, updates the page controls. */
  private arrange() {
    const order = this.order();
    const remotePerPage = this.perPage === undefined ? Infinity : Math.max(this.perPage - 1, 1);
    const pages = Math.max(1, Math.ceil(order.length / remotePerPage));
    this.page = Math.min(this.page, pages - 1);
    const first = this.page * remotePerPage;
    order.forEach((id, index) => {
      const tile = this.tiles.get(id)!;
      tile.style.order = String(index + 1);
      tile.classList.toggle('off-page', index < first || index >= first + remotePerPage);
    });
    const nav = element('tile-pages');
    nav.hidden = pages === 1;
    element('stage').classList.toggle('paged', pages > 1);
    element('page-label').textContent = `${this.page + 1} / ${pages}`;
    element<HTMLButtonElement>('page-prev').disabled = this.page === 0;
    element<HTMLButtonElement>('page-next').disabled = this.page === pages - 1;
    this.onOrderChanged();
    this.queueReport();
  }

  private turn(by: number) {
    this.page = Math.max(0, this.page + by);
    this.arrange();
  }

  /** Reports once after a burst of changes (layout, intersections, pages). */
  queueReport() {
    if (this.reportQueued) return;
    this.reportQueued = true;
    setTimeout(() => {
      this.reportQueued = false;
      const shown = new Map<string, number>();
      for (const id of this.order()) {
        const tile = this.tiles.get(id)!;
        if (tile.classList.contains('off-page') || !this.inView.has(id)) continue;
        shown.set(id, Math.round(tile.getBoundingClientRect().height * devicePixelRatio));
      }
      this.onShown(shown);
    }, 0);
  }
}
