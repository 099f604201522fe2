/**
 * Listening to a node's events: a listener that gets the event's detail, or an async iterator of
 * details with a bounded buffer (a slow reader loses the oldest, never grows memory), which ends
 * when the node closes, the signal aborts or the loop breaks.
 *
 * @module
 */

/** Calls `fn` with the detail of every `type` event until the returned function is called. */
export function listen<T>(target: EventTarget, type: string, fn: (detail: T) => void): () => void {
  const h = (e: Event) => fn((e as CustomEvent<T>).detail);
  target.addEventListener(type, h);
  return () => target.removeEventListener(type, h);
}

/**
 * The details of `type` events that pass `filter`, as an async iterator holding at most
 * `bufferMax` (1,024) unread; `closed`: the target has closed already (the iterator ends at once).
 * `onFinish` runs once when it ends.
 */
export function iterate<T>(
  target: EventTarget,
  type: string,
  filter: (detail: T) => boolean,
  options: { bufferMax?: number; signal?: AbortSignal },
  closed: boolean,
  onFinish?: () => void,
): AsyncIterableIterator<T> {
  const max = options.bufferMax ?? 1024;
  const buffer: T[] = [];
  let wake: (() => void) | null = null;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    unsubscribe();
    onFinish?.();
    options.signal?.removeEventListener("abort", finish);
    target.removeEventListener("close", finish);
    wake?.();
  };
  const unsubscribe = listen<T>(target, type, (d) => {
    if (!filter(d)) return;
    if (buffer.length >= max) buffer.shift();
    buffer.push(d);
    wake?.();
  });
  options.signal?.addEventListener("abort", finish);
  target.addEventListener("close", finish);
  if (closed || options.signal?.aborted) finish();
  const iterator: AsyncIterableIterator<T> = {
    next: async (): Promise<IteratorResult<T>> => {
      while (!buffer.length && !done) await new Promise<void>((r) => (wake = r));
      wake = null;
      if (buffer.length) return { value: buffer.shift()!, done: false };
      return { value: undefined, done: true };
    },
    return: async (): Promise<IteratorResult<T>> => {
      finish();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
