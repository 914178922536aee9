/**
 * Summarise V8 CPU profiles (`.cpuprofile`, from `--cpu-prof`): the functions with the most
 * self time, and the total time spent under each source file of the project.
 * `node --import tsx bench/profile-summary.ts bench/profiles/<file>.cpuprofile [top]`
 * @module
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topText = '40'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const self = new Map<number, number>();
let total = 0;
// Idle time (the server waiting between load windows) is left out: percentages are of busy time.
const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  if (idle.has(id)) return;
  self.set(id, (self.get(id) ?? 0) + dt);
  total += dt;
});

const short = (url: string): string => url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/main\//, '').replace(/^node:/, 'node:');
const label = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

// Self time by function.
const selfByLabel = new Map<string, number>();
for (const [id, t] of self) {
  const node = byId.get(id)!;
  selfByLabel.set(label(node), (selfByLabel.get(label(node)) ?? 0) + t);
}
// Inclusive time by function (count each sample once per distinct label on its stack).
const inclusive = new Map<string, number>();
for (const [id, t] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + t);
  }
}
const top = Number(topText);
const pct = (t: number): string => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
console.log(`busy ${(total / 1000).toFixed(0)} ms`);
console.log('\n== self time');
for (const [l, t] of [...selfByLabel].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${l}`);
console.log('\n== inclusive time, project files');
for (const [l, t] of [...inclusive].filter(([l]) => /src\/|bench\//.test(l)).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${l}`);
