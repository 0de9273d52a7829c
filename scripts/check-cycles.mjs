#!/usr/bin/env node
// Fails when src/ has a circular runtime import (type-only imports are erased and ignored).
// Also enforces the layering rules: src/core/ imports no backend, aggregator, runner or CLI code,
// and src/events/ (the job-event wire format) imports only src/core/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..', 'src');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
})(root);

const importRe = /^\s*(import|export)\s+(?!type\b)([^;]*?)\s+from\s+['"](\.[^'"]+)['"]/gm;
const graph = new Map();
const problems = [];
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const deps = [];
  for (const m of text.matchAll(importRe)) {
    // `import { type A, type B }` is type-only too.
    const names = m[2]
      .replace(/[{}]/g, '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
    const target = resolve(dirname(file), m[3].replace(/\.js$/, '.ts'));
    deps.push(target);
    const from = relative(root, file);
    const to = relative(root, target);
    if (from.startsWith('core/') && !to.startsWith('core/')) {
      problems.push(`layering: ${from} imports ${to} (src/core/ must not know backends or tools)`);
    }
    // The job-event wire format sits above core and below both its users (eventbus, executor).
    if (from.startsWith('events/') && !to.startsWith('events/') && !to.startsWith('core/')) {
      problems.push(`layering: ${from} imports ${to} (src/events/ may import only src/core/)`);
    }
  }
  graph.set(file, deps);
}

const state = new Map(); // 1 = visiting, 2 = done
const stack = [];
function visit(file) {
  state.set(file, 1);
  stack.push(file);
  for (const dep of graph.get(file) ?? []) {
    if (!graph.has(dep)) continue;
    if (state.get(dep) === 1) {
      const cycle = stack
        .slice(stack.indexOf(dep))
        .concat(dep)
        .map((f) => relative(root, f));
      problems.push(`cycle: ${cycle.join(' -> ')}`);
    } else if (!state.has(dep)) visit(dep);
  }
  stack.pop();
  state.set(file, 2);
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`import graph: ${files.length} files, no cycles, core and events layering ok`);
