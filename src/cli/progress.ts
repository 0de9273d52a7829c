/**
 * Progress for long CLI work: a redrawn bar on a TTY, plain lines (at most one a second)
 * otherwise, nothing with `--json`. Always on stderr, so stdout stays the command's result.
 *
 * @packageDocumentation
 */

/** Where progress goes: a stream that may be a TTY. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** What is counted, e.g. `jobs`. */
  readonly label: string;
  /** The total, when known (a bar); else a running count. */
  readonly total?: number;
  /** False: print nothing (e.g. `--json`). */
  readonly enabled: boolean;
  /** Default `process.stderr`. */
  readonly stream?: ProgressStream;
  /** Milliseconds between plain lines. Default 1000. */
  readonly lineEvery?: number;
}

/** A progress reporter; call {@link Progress.update} as work is done and {@link Progress.finish} once. */
export class Progress {
  readonly #options: ProgressOptions;
  readonly #stream: ProgressStream;
  readonly #tty: boolean;
  readonly #started = Date.now();
  #lastLine = 0;
  #lastDraw = 0;
  #done = 0;
  #drawn = false;
  #lastText = '';

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#stream = options.stream ?? process.stderr;
    this.#tty = this.#stream.isTTY === true;
  }

  /** Sets the count done so far, with an optional note (e.g. the queue being run). */
  update(done: number, note = ''): void {
    this.#done = done;
    if (!this.#options.enabled) return;
    const now = Date.now();
    if (this.#tty) {
      if (now - this.#lastDraw < 80) return;
      this.#lastDraw = now;
      this.#stream.write(`\r${this.#render(note)}\u001b[K`);
      this.#drawn = true;
      return;
    }
    if (now - this.#lastLine < (this.#options.lineEvery ?? 1000)) return;
    this.#lastLine = now;
    this.#line(this.#plain(note));
  }

  /** Ends the display (the bar's line is finished; a last plain line when counts changed). */
  finish(): void {
    if (!this.#options.enabled) return;
    if (this.#tty) {
      if (this.#drawn) this.#stream.write(`\r${this.#render('')}\u001b[K\n`);
      return;
    }
    if (this.#done > 0) this.#line(this.#plain(''));
  }

  /** A plain line, unless it only repeats the last one's count. */
  #line(text: string): void {
    const key = text.replace(/ \(\d+\/s\)/, '');
    if (key === this.#lastText) return;
    this.#lastText = key;
    this.#stream.write(`${text}\n`);
  }

  #rate(): string {
    const s = Math.max(0.001, (Date.now() - this.#started) / 1000);
    return `${Math.round(this.#done / s)}/s`;
  }

  #plain(note: string): string {
    const total = this.#options.total;
    const count = total === undefined ? `${this.#done}` : `${this.#done}/${total}`;
    return `${this.#options.label}: ${count} (${this.#rate()})${note ? ` ${note}` : ''}`;
  }

  #render(note: string): string {
    const total = this.#options.total;
    const width = Math.max(10, Math.min(40, (this.#stream.columns ?? 80) - 50));
    if (total === undefined || total <= 0) return this.#plain(note);
    const frac = Math.min(1, this.#done / total);
    const filled = Math.round(frac * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    return `${this.#options.label} ${bar} ${this.#done}/${total} ${Math.round(frac * 100)}% ${this.#rate()}${note ? ` ${note}` : ''}`;
  }
}
