/**
 * Listening to a node's events: a listener that gets the event's detail, or an async iterator of
 * details with a bounded buffer (a slow reader loses the oldest, never grows memory), which ends
 * when the node closes, the signal aborts or the loop breaks.
 *
 * A node does not keep a process alive by itself (its timers are unref'd), but a loop waiting on
 * one of its iterators does: `for await (const c of node.changes())` in a script over in-memory
 * links would otherwise end the process, its top-level await unsettled, before the change came.
 *
 * @module
 */

/**
 * While at least one iterator waits, one long timer that holds the event loop open (in Node, Deno
 * and Bun; in a page it changes nothing). Shared by every node of the thread.
 */
const waiting = { count: 0, timer: null as ReturnType<typeof setInterval> | null };

/** Iterators of this thread waiting now (each holds the loop open through the one shared timer). */
export function waitingIterators(): { count: number; holdsLoop: boolean } {
  return { count: waiting.count, holdsLoop: waiting.timer !== null };
}

function holdOpen(): () => void {
  if (waiting.count++ === 0) waiting.timer = setInterval(() => {}, 2 ** 30);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--waiting.count === 0 && waiting.timer !== null) {
      clearInterval(waiting.timer);
      waiting.timer = null;
    }
  };
}

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
      while (!buffer.length && !done) {
        const release = holdOpen();
        try {
          await new Promise<void>((r) => (wake = r));
        } finally {
          release();
        }
      }
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
