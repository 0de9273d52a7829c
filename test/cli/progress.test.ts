import { expect, test } from 'vitest';
import { Progress } from '../../src/cli/progress.js';

function sink(isTTY: boolean): {
  text: () => string;
  stream: { isTTY: boolean; columns: number; write: (s: string) => boolean };
} {
  let out = '';
  return {
    text: () => out,
    stream: {
      isTTY,
      columns: 100,
      write: (s: string) => {
        out += s;
        return true;
      },
    },
  };
}

test('on a TTY: a bar redrawn in place, finished with a newline', () => {
  const s = sink(true);
  const p = new Progress({ label: 'jobs', total: 10, enabled: true, stream: s.stream });
  p.update(5);
  p.finish();
  expect(s.text()).toMatch(/^\rjobs █+░+ 5\/10 50%/);
  expect(s.text().endsWith('\n')).toBe(true);
  expect(s.text().split('\n')).toHaveLength(2);
});

test('not a TTY: plain lines, at most one per interval, no repeated last line', () => {
  const s = sink(false);
  const p = new Progress({ label: 'jobs', total: 10, enabled: true, stream: s.stream, lineEvery: 60_000 });
  p.update(1);
  p.update(2); // within the interval: dropped
  p.finish();
  const lines = s.text().trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^jobs: 1\/10 \(\d+\/s\)$/);
  expect(lines[1]).toMatch(/^jobs: 2\/10/);
  expect(s.text()).not.toContain('\r');
});

test('disabled (--json): nothing at all', () => {
  const s = sink(true);
  const p = new Progress({ label: 'jobs', enabled: false, stream: s.stream });
  p.update(3);
  p.finish();
  expect(s.text()).toBe('');
});
