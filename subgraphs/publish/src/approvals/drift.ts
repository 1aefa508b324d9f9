import type { CatalogView } from '../../../../lib/connectors/index.js';
import { clip } from '../../../../lib/text.js';
import { logicalTypeText } from '../../../../lib/types/logical.js';
import { byCodeUnits, type ApprovedColumn } from './approval.js';

/** One column that differs between what was approved and what a package would read now. */
export type ColumnChange =
  /** Read now, not approved: added to the source since, or asked for now and not then. */
  | { change: 'added'; table: string; column: string; type: string }
  /** Approved, and the source no longer has it. */
  | { change: 'removed'; table: string; column: string; type: string }
  /** Approved with one type, the source has it with another now. */
  | { change: 'retyped'; table: string; column: string; from: string; to: string };

/**
 * What differs between the approved columns and the catalog, for the tables a
 * package reads. For each table (those named; every table of the schema and
 * every approved one when none is named), the columns the package asks for
 * (those named; every column the catalog or the approval has when none is
 * named) are each:
 * - in the catalog and approved with the same type: unchanged;
 * - in the catalog and approved with another type: retyped;
 * - in the catalog, not approved: added (a table nothing approved has all its columns added);
 * - approved, not in the catalog (or its table gone): removed;
 * - in neither: not drift (the package then answers COLUMN_NOT_FOUND or TABLE_NOT_FOUND).
 * Approved columns a package does not ask for, and the catalog's columns it
 * does not read, are not compared; nor is the order of columns.
 * Sorted by table, then column (code-unit order).
 */
export function catalogDrift(view: CatalogView, approved: ReadonlyMap<string, readonly ApprovedColumn[]>): ColumnChange[] {
  const tables = view.tables.map((t) => ({ name: t.name, columns: t.columns, requested: t.requested }));
  if (view.allTables) {
    const inCatalog = new Set(tables.map((t) => t.name));
    for (const name of approved.keys()) if (!inCatalog.has(name)) tables.push({ name, columns: null, requested: null });
  }
  const changes: ColumnChange[] = [];
  for (const table of tables) {
    const now = new Map((table.columns ?? []).map((c) => [c.name, logicalTypeText(c.logical)]));
    const then = new Map((approved.get(table.name) ?? []).map((c) => [c.name, c.type]));
    const asked = table.requested ? new Set(table.requested) : new Set([...now.keys(), ...then.keys()]);
    for (const column of asked) {
      const [type, was] = [now.get(column), then.get(column)];
      if (type !== undefined && was === undefined) changes.push({ change: 'added', table: table.name, column, type });
      else if (type === undefined && was !== undefined) changes.push({ change: 'removed', table: table.name, column, type: was });
      else if (type !== undefined && was !== undefined && type !== was) changes.push({ change: 'retyped', table: table.name, column, from: was, to: type });
    }
  }
  return changes.sort((a, b) => byCodeUnits(a.table, b.table) || byCodeUnits(a.column, b.column));
}

/** How many changes a message names before it says how many more there are. */
export const MAX_CHANGES_NAMED = 40;
/** Longest type text a message shows (an enum's labels can be many). */
const MAX_TYPE_TEXT = 80;
/** Longest table or column name a message shows (catalogs allow up to 255 characters). */
const MAX_NAME_TEXT = 128;

/** One change as a message names it: `person.id: int32 → int64`, `person.email: added (text(100))`, `person.age: removed (int32)`. */
export function describeChange(c: ColumnChange): string {
  const type = (t: string) => clip(t, MAX_TYPE_TEXT);
  const name = `${clip(c.table, MAX_NAME_TEXT)}.${clip(c.column, MAX_NAME_TEXT)}`;
  if (c.change === 'retyped') return `${name}: ${type(c.from)} → ${type(c.to)}`;
  return `${name}: ${c.change} (${type(c.type)})`;
}

/**
 * The changes as one text: how many of each kind, then each of them (at most
 * `max`, then how many more): `3 columns differ (1 added, 1 removed, 1 retyped): person.age: removed (int32); …`.
 */
export function describeDrift(changes: readonly ColumnChange[], max = MAX_CHANGES_NAMED): string {
  const count = (kind: ColumnChange['change']) => changes.filter((c) => c.change === kind).length;
  const kinds = (['added', 'removed', 'retyped'] as const).filter((k) => count(k) > 0).map((k) => `${count(k)} ${k}`);
  const named = changes.slice(0, max).map(describeChange).join('; ');
  const more = changes.length > max ? `; and ${changes.length - max} more` : '';
  return `${changes.length} column${changes.length === 1 ? '' : 's'} differ${changes.length === 1 ? 's' : ''} (${kinds.join(', ')}): ${named}${more}`;
}
