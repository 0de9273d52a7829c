/**
 * Per-partition in-order commit tracking (promises §5, **[beyond]** ChangeProp's per-topic tracking):
 * messages of a partition are dispatched in offset order and may finish in any order; the offset
 * to commit is the one just after the longest finished prefix, so a commit never passes a message
 * that has not finished.
 *
 * @packageDocumentation
 */

/** One partition's dispatched offsets, in order, and how far they have all finished. */
export class PartitionOffsets {
  /** Dispatched and not yet part of the finished prefix, oldest first. */
  readonly #pending: Array<{ offset: bigint; done: boolean }> = [];
  #head = 0;
  /** The next offset to commit (one past the finished prefix), or null before any finished. */
  #committable: bigint | null = null;
  /** The committable offset last handed out by {@link takeCommit}. */
  #committed: bigint | null = null;

  /** Records a dispatched message. Offsets must increase. */
  dispatch(offset: bigint): void {
    const last = this.#pending[this.#pending.length - 1];
    if (last !== undefined && offset <= last.offset) {
      throw new RangeError(`offset ${offset} dispatched after ${last.offset}`);
    }
    this.#pending.push({ offset, done: false });
  }

  /** Marks a dispatched message finished (in any order); advances the finished prefix. */
  finish(offset: bigint): void {
    for (let i = this.#head; i < this.#pending.length; i++) {
      const entry = this.#pending[i] as { offset: bigint; done: boolean };
      if (entry.offset === offset) {
        entry.done = true;
        break;
      }
    }
    while (this.#head < this.#pending.length && (this.#pending[this.#head] as { done: boolean }).done) {
      this.#committable = (this.#pending[this.#head] as { offset: bigint }).offset + 1n;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Messages dispatched and not finished. */
  get inFlight(): number {
    let n = 0;
    for (let i = this.#head; i < this.#pending.length; i++)
      if (!(this.#pending[i] as { done: boolean }).done) n++;
    return n;
  }

  /** The offset a commit may name now (one past the finished prefix), or null. */
  get committable(): bigint | null {
    return this.#committable;
  }

  /** The committable offset if it moved since the last call, else null. */
  takeCommit(): bigint | null {
    if (this.#committable === null || this.#committable === this.#committed) return null;
    this.#committed = this.#committable;
    return this.#committable;
  }

  /** Puts back an offset {@link takeCommit} gave out whose commit failed, so it is tried again. */
  untake(offset: bigint): void {
    if (this.#committed === offset) this.#committed = null;
  }
}

/** The trackers of every (topic, partition) a consumer has dispatched from. */
export class OffsetTracker {
  readonly #partitions = new Map<string, { topic: string; partition: number; offsets: PartitionOffsets }>();

  /** The tracker of one partition (created on first use). */
  partition(topic: string, partition: number): PartitionOffsets {
    const key = `${topic}\u0000${partition}`;
    let entry = this.#partitions.get(key);
    if (entry === undefined) {
      entry = { topic, partition, offsets: new PartitionOffsets() };
      this.#partitions.set(key, entry);
    }
    return entry.offsets;
  }

  /** Forgets a partition (after it was revoked). */
  drop(topic: string, partition: number): void {
    this.#partitions.delete(`${topic}\u0000${partition}`);
  }

  /** Forgets every partition (after a rebalance). */
  clear(): void {
    this.#partitions.clear();
  }

  /** Offsets that moved since the last call, as the consumer port commits them. */
  takeCommits(): Array<{ topic: string; partition: number; offset: string }> {
    const out: Array<{ topic: string; partition: number; offset: string }> = [];
    for (const { topic, partition, offsets } of this.#partitions.values()) {
      const next = offsets.takeCommit();
      if (next !== null) out.push({ topic, partition, offset: next.toString() });
    }
    return out;
  }

  /** Puts back commits that failed. */
  untake(commits: ReadonlyArray<{ topic: string; partition: number; offset: string }>): void {
    for (const c of commits) this.partition(c.topic, c.partition).untake(BigInt(c.offset));
  }

  /** Messages dispatched and not finished, over every partition. */
  get inFlight(): number {
    let n = 0;
    for (const { offsets } of this.#partitions.values()) n += offsets.inFlight;
    return n;
  }
}
