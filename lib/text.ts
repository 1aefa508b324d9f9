/** `text` cut to at most `max` characters, ending in `…` when cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}

/** Like {@link clip}, keeping null as null. */
export function clipOrNull(text: string | null, max: number): string | null {
  return text === null ? null : clip(text, max);
}
