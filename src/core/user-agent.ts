/**
 * What a `User-Agent` header says that a browser update does not change: the browser family,
 * the operating system and the kind of device. Version numbers are left out on purpose, so
 * Chrome/130 becoming Chrome/131 is the same client, while Chrome becoming Firefox, Windows
 * becoming Android or a desktop becoming a phone is not.
 *
 * A small documented extraction rather than a parser dependency: it looks for the tokens the
 * major browsers have sent for years, in an order that handles the ones that claim to be
 * others (Edge and Opera send "Chrome", Chrome sends "Safari", every browser sends "Mozilla").
 * A header it does not recognise is compared with its digits ignored (`MyApp/2.3.1` and
 * `MyApp/2.4.0` match). Anyone can send any header: this is a signal, never a proof.
 * @module
 */

/** The stable traits of a user agent. */
export interface UserAgentTraits {
  /** `chrome`, `edge`, `firefox`, `safari`, `opera`, `samsung`, `ie`, or `other:<the header without digits>`. */
  browser: string;
  /** `windows`, `android`, `ios`, `macos`, `chromeos`, `linux`, or `other`. */
  os: string;
  /** `mobile`, `tablet` or `desktop`. */
  device: 'mobile' | 'tablet' | 'desktop';
}

/** Browser families, first match wins: those that also name another browser come first. */
const BROWSERS: ReadonlyArray<[family: string, token: RegExp]> = [
  ['edge', /\b(?:Edg|EdgA|EdgiOS|Edge)\//],
  ['opera', /\b(?:OPR|Opera|OPX)\//],
  ['samsung', /\bSamsungBrowser\//],
  ['firefox', /\b(?:Firefox|FxiOS)\//],
  ['chrome', /\b(?:Chrome|CriOS|Chromium)\//],
  ['safari', /\bVersion\/[\d.]+.*\bSafari\//],
  ['ie', /\b(?:MSIE |Trident\/)/],
];

/** Operating systems, first match wins (Android before Linux, iOS before macOS). */
const SYSTEMS: ReadonlyArray<[os: string, token: RegExp]> = [
  ['windows', /\bWindows\b/],
  ['android', /\bAndroid\b/],
  ['ios', /\b(?:iPhone|iPad|iPod)\b/],
  ['chromeos', /\bCrOS\b/],
  ['macos', /\bMacintosh\b|\bMac OS X\b/],
  ['linux', /\bLinux\b/],
];

/** The traits of a `User-Agent` header. */
export function userAgentTraits(userAgent: string): UserAgentTraits {
  const browser = BROWSERS.find(([, token]) => token.test(userAgent))?.[0];
  const os = SYSTEMS.find(([, token]) => token.test(userAgent))?.[0] ?? 'other';
  const tablet = /\biPad\b/.test(userAgent) || (/\bAndroid\b/.test(userAgent) && !/\bMobile\b/.test(userAgent)) || /\bTablet\b/.test(userAgent);
  const mobile = !tablet && /Mobi|\biPhone\b|\biPod\b/.test(userAgent);
  return {
    browser: browser ?? `other:${userAgent.replace(/\d+/g, '')}`,
    os,
    device: tablet ? 'tablet' : mobile ? 'mobile' : 'desktop',
  };
}

/** Whether two `User-Agent` headers come from the same kind of client (versions aside). */
export function sameClient(a: string, b: string): boolean {
  if (a === b) return true;
  const left = userAgentTraits(a);
  const right = userAgentTraits(b);
  return left.browser === right.browser && left.os === right.os && left.device === right.device;
}
