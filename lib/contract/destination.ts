import { z } from 'zod';
import { caseInsensitiveChoice } from './fields.js';

export const DESTINATION_TYPES = ['filestore', 'postgresql'] as const;
export const FILESTORE_FORMATS = ['csv', 'duckdb'] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

/**
 * Where a project's data goes. The name picks the storage mount
 * (`TARGET_STORAGE_ACCOUNT_{NAME}_SDE_MNT_PATH`), so it is letters, digits and '_'.
 */
export const destinationSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_]{1,64}$/, "must be 1 to 64 letters, digits or '_'"),
    type: caseInsensitiveChoice(DESTINATION_TYPES),
    format: z.string().nullish(),
  })
  .transform((d, ctx) => {
    const format = (d.format ?? (d.type === 'filestore' ? 'csv' : 'sql')).trim().toLowerCase();
    const allowed: readonly string[] = d.type === 'filestore' ? FILESTORE_FORMATS : ['sql'];
    if (!allowed.includes(format)) {
      ctx.addIssue({ code: 'custom', path: ['format'], message: `must be one of ${allowed.join(', ')} for a ${d.type} destination (any case)` });
      return z.NEVER;
    }
    return d.type === 'filestore'
      ? { name: d.name, type: 'filestore' as const, format: format as (typeof FILESTORE_FORMATS)[number] }
      : { name: d.name, type: 'postgresql' as const, format: 'sql' as const };
  });

export type DestinationConfig = z.output<typeof destinationSchema>;
