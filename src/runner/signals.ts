/**
 * Wires SIGTERM / SIGINT to an AbortController for a graceful runner stop.
 *
 * @packageDocumentation
 */

/** What {@link installSignalHandlers} returns. */
export interface SignalHandlers {
  /** Aborted on the first SIGTERM or SIGINT. */
  readonly signal: AbortSignal;
  /** Removes the process listeners. */
  dispose(): void;
}

/**
 * Aborts the returned signal on SIGTERM or SIGINT (pass it to `JobRunner.run({ signal })`).
 * A second signal is left to Node's default handling only after `dispose()`.
 */
export function installSignalHandlers(
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): SignalHandlers {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    controller.abort(new Error(`received ${sig}`));
  };
  for (const s of signals) process.on(s, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
