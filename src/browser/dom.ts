/**
 * The few browser globals the kit uses, typed here so the package compiles without the DOM
 * library (the rest of tessera runs on Node). Internal.
 * @module
 */

/** An element, as far as the kit touches one. */
export interface KitElement {
  textContent: string | null;
  hidden: boolean;
  className: string;
  onclick: (() => void) | null;
  append(...nodes: Array<KitElement | string>): void;
  setAttribute(name: string, value: string): void;
  querySelector(selector: string): KitElement | null;
}

/** A `<dialog>` element. */
export interface KitDialog extends KitElement {
  readonly open: boolean;
  showModal(): void;
  close(): void;
}

/** A `<form>` element. */
export interface KitForm extends KitElement {
  readonly elements: ArrayLike<{ disabled: boolean; type?: string; value?: string }>;
  requestSubmit(): void;
}

/** A message channel between the tabs of one origin. */
export interface KitChannel {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
}

type Listener = (event: { key?: string | null; newValue?: string | null }) => void;

interface KitDocument {
  cookie: string;
  readonly visibilityState: string;
  readonly body: KitElement;
  createElement(tag: string): KitElement;
  querySelector(selector: string): KitElement | null;
  addEventListener(type: string, listener: Listener, options?: { capture?: boolean; passive?: boolean }): void;
  removeEventListener(type: string, listener: Listener, options?: { capture?: boolean }): void;
}

interface KitWindow {
  readonly document: KitDocument;
  readonly localStorage?: { setItem(key: string, value: string): void };
  readonly BroadcastChannel?: new (name: string) => KitChannel;
  readonly location: { reload(): void };
  addEventListener(type: string, listener: Listener): void;
  removeEventListener(type: string, listener: Listener): void;
}

/** The page's globals. */
export const page = globalThis as unknown as KitWindow;
