/**
 * The memo behind the selector hooks of `grapevine/react`, apart from React so it can be tested
 * alone: what a selector picked from a value, kept by identity while it stays equal.
 *
 * @module
 */

/** The last selection: the value it was picked from, by which selector, and what was picked. */
export interface Selection<V, T> {
  readonly value: V;
  readonly select: (v: V) => T;
  readonly selected: T;
}

/**
 * The selection of `value` by `select`: `last` itself while both are the ones it was made from
 * (the selector is not run); otherwise a new selection whose `selected` is `last`'s while
 * `isEqual` finds the new pick equal to it, so a component sees the same object and does not
 * re-render.
 */
export function selectFrom<V, T>(last: Selection<V, T> | null, value: V, select: (v: V) => T, isEqual: (a: T, b: T) => boolean): Selection<V, T> {
  if (last && Object.is(last.value, value) && last.select === select) return last;
  const picked = select(value);
  return { value, select, selected: last && isEqual(last.selected, picked) ? last.selected : picked };
}
