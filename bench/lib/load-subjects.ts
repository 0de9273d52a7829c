/**
 * Finds subjects: every `bench/subjects/*.ts` (or `.js`) whose default export is a
 * {@link Subject} or an array of them. Files starting with `_` are helpers and are not loaded.
 * A file that fails to import (say, a peer library is not installed) becomes a skipped entry, so
 * one broken subject never stops the others.
 *
 * @packageDocumentation
 */
import { readdir } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Subject } from './types.js';

/** A subject that loaded, or a file that did not. */
export type LoadedSubject =
  | { readonly ok: true; readonly subject: Subject; readonly file: string }
  | { readonly ok: false; readonly name: string; readonly file: string; readonly reason: string };

const GROUP_ORDER = ['memory', 'sql', 'redis', 'kafka'];

function isSubject(value: unknown): value is Subject {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return (
    typeof s.name === 'string' &&
    typeof s.group === 'string' &&
    (s.kind === 'switchyard' || s.kind === 'peer') &&
    typeof s.available === 'function' &&
    typeof s.setup === 'function' &&
    typeof s.singlePush === 'function' &&
    typeof s.bulkPush === 'function' &&
    typeof s.drain === 'function' &&
    typeof s.teardown === 'function'
  );
}

function groupRank(group: string): number {
  const i = GROUP_ORDER.indexOf(group);
  return i < 0 ? GROUP_ORDER.length : i;
}

/** Sort key: known groups first, switchyard before peers, then by name. */
function compareSubjects(a: Subject, b: Subject): number {
  return (
    groupRank(a.group) - groupRank(b.group) ||
    a.group.localeCompare(b.group) ||
    (a.kind === b.kind ? 0 : a.kind === 'switchyard' ? -1 : 1) ||
    a.name.localeCompare(b.name)
  );
}

/** Loads every subject under `dir` (default `bench/subjects/`), sorted for display. */
export async function loadSubjects(
  dir: URL = new URL('../subjects/', import.meta.url),
): Promise<LoadedSubject[]> {
  const files = (await readdir(fileURLToPath(dir)))
    .filter((f) => /\.(ts|mts|js|mjs)$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('_'))
    .sort();
  const loaded: LoadedSubject[] = [];
  const names = new Set<string>();
  for (const file of files) {
    const fallbackName = basename(file, extname(file));
    try {
      const mod = (await import(pathToFileURL(fileURLToPath(new URL(file, dir))).href)) as {
        default?: unknown;
      };
      const exported = Array.isArray(mod.default) ? (mod.default as unknown[]) : [mod.default];
      if (exported.length === 0 || !exported.every(isSubject)) {
        loaded.push({
          ok: false,
          name: fallbackName,
          file,
          reason: 'default export is not a Subject (or an array of them)',
        });
        continue;
      }
      for (const subject of exported) {
        if (names.has(subject.name)) throw new Error(`duplicate subject name "${subject.name}"`);
        names.add(subject.name);
        loaded.push({ ok: true, subject, file });
      }
    } catch (error) {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      loaded.push({ ok: false, name: fallbackName, file, reason: `failed to load: ${message}` });
    }
  }
  return loaded.sort((a, b) => {
    if (a.ok && b.ok) return compareSubjects(a.subject, b.subject);
    if (a.ok) return -1;
    if (b.ok) return 1;
    return a.name.localeCompare(b.name);
  });
}
