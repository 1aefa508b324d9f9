/**
 * Label values of our metrics are bounded: each label keeps a fixed, small set
 * of values, so that no caller can grow a series (or `/metrics`) by choosing
 * what a label says. A value outside the set is counted as {@link OTHER_LABEL}.
 */

/** The value a label takes when what it would say is not one of its known values. */
export const OTHER_LABEL = 'other';

/** Longest label value kept; longer values are {@link OTHER_LABEL}. */
export const MAX_LABEL_LENGTH = 100;

/** Maps what a label would say to a value from its bounded set. */
export interface LabelBound {
  (value: string): string;
  /** The most distinct values the label can take, {@link OTHER_LABEL} included. */
  readonly maxValues: number;
}

/** A label that takes one of `values` (each at most {@link MAX_LABEL_LENGTH} characters), or `other`. */
export function oneOf(values: Iterable<string>): LabelBound {
  const known = new Set([...values].filter((v) => v.length <= MAX_LABEL_LENGTH));
  return Object.assign((value: string) => (known.has(value) ? value : OTHER_LABEL), { maxValues: known.size + 1 });
}

/**
 * A label whose values come from our own code but are not listed in one place
 * (route templates, operation names already mapped to known ones): the first
 * `max` distinct values are kept, later ones are `other`. A backstop, should
 * a caller-chosen value ever reach it.
 */
export function firstSeen(max: number): LabelBound {
  const seen = new Set<string>();
  const bound = (value: string): string => {
    if (seen.has(value)) return value;
    if (value.length > MAX_LABEL_LENGTH || seen.size >= max) return OTHER_LABEL;
    seen.add(value);
    return value;
  };
  return Object.assign(bound, { maxValues: max + 1 });
}

/** Applies each label's bound to a set of label values. */
export function boundLabels<L extends string>(bounds: Record<L, LabelBound>, labels: Partial<Record<L, string | number>>): Partial<Record<L, string>> {
  const out: Partial<Record<L, string>> = {};
  for (const name of Object.keys(labels) as L[]) {
    const value = labels[name];
    if (value !== undefined) out[name] = bounds[name](String(value));
  }
  return out;
}
