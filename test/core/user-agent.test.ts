/**
 * The user-agent comparison of anomaly detection: a browser update is the same client; another
 * browser, system or kind of device is not. Real headers, as the browsers send them.
 */
import { describe, expect, it } from 'vitest';
import { sameClient, userAgentTraits } from '../../src/core/user-agent.js';

const UA = {
  chrome130Win: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  chrome131Win: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chrome131Mac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  chromeAndroid: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  chromeAndroidTablet: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  edge131: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  opera: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0',
  firefox132Win: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
  firefox133Win: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  safari17Mac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
  safari18Mac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  safariIphone17: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  safariIphone18: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  safariIpad: 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  chromeIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
  samsung: 'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
  curl: 'curl/8.5.0',
  curlNext: 'curl/8.11.1',
  app: 'MyShop-iOS/2.3.1 (iPhone; iOS 18.1)',
  appNext: 'MyShop-iOS/2.4.0 (iPhone; iOS 18.1)',
};

describe('userAgentTraits', () => {
  it.each([
    ['chrome130Win', { browser: 'chrome', os: 'windows', device: 'desktop' }],
    ['chrome131Mac', { browser: 'chrome', os: 'macos', device: 'desktop' }],
    ['chromeAndroid', { browser: 'chrome', os: 'android', device: 'mobile' }],
    ['chromeAndroidTablet', { browser: 'chrome', os: 'android', device: 'tablet' }],
    ['edge131', { browser: 'edge', os: 'windows', device: 'desktop' }],
    ['opera', { browser: 'opera', os: 'windows', device: 'desktop' }],
    ['firefoxLinux', { browser: 'firefox', os: 'linux', device: 'desktop' }],
    ['safari18Mac', { browser: 'safari', os: 'macos', device: 'desktop' }],
    ['safariIphone18', { browser: 'safari', os: 'ios', device: 'mobile' }],
    ['safariIpad', { browser: 'safari', os: 'ios', device: 'tablet' }],
    ['chromeIos', { browser: 'chrome', os: 'ios', device: 'mobile' }],
    ['samsung', { browser: 'samsung', os: 'android', device: 'mobile' }],
  ] as const)('reads %s', (name, traits) => {
    expect(userAgentTraits(UA[name])).toEqual(traits);
  });
});

describe('sameClient', () => {
  it.each([
    ['chrome130Win', 'chrome131Win'],
    ['firefox132Win', 'firefox133Win'],
    ['safari17Mac', 'safari18Mac'],
    ['safariIphone17', 'safariIphone18'],
    ['curl', 'curlNext'],
    ['app', 'appNext'],
  ] as const)('%s → %s is a browser update, not another client', (a, b) => {
    expect(sameClient(UA[a], UA[b])).toBe(true);
  });

  it.each([
    ['chrome131Win', 'firefox133Win', 'another browser'],
    ['chrome131Win', 'edge131', 'Edge, which also says Chrome'],
    ['chrome131Win', 'chrome131Mac', 'another operating system'],
    ['chromeAndroid', 'chromeAndroidTablet', 'a phone and a tablet'],
    ['safariIphone18', 'chromeIos', 'another browser on the same phone'],
    ['chrome131Win', 'curl', 'a script'],
    ['app', 'curl', 'another program'],
  ] as const)('%s → %s is another client (%s)', (a, b, _why) => {
    expect(sameClient(UA[a], UA[b])).toBe(false);
  });
});
