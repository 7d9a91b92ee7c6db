/** The page's building blocks: finding and making elements, notices, action buttons. */

export function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

export function create<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;

export function toast(text: string): void {
  const box = element('toast');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), 4500);
}

/**
 * A button that runs an action once per click (disabled until it settles), named for
 * the person it acts on; a failure shows as a notice.
 */
export function actionButton(
  label: string,
  className: string,
  forWhom: string,
  act: () => Promise<void>,
): HTMLButtonElement {
  const button = create('button', className, label);
  button.type = 'button';
  button.setAttribute('aria-label', `${label} ${forWhom}`);
  button.addEventListener('click', () => {
    button.disabled = true;
    act().then(
      () => (button.disabled = false),
      (error: unknown) => {
        button.disabled = false;
        toast(error instanceof Error ? error.message : String(error));
      },
    );
  });
  return button;
}
