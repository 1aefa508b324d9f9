/**
 * The errors the SQL Server double raises, with the number, message text,
 * severity (class) and state SQL Server sends for them (sys.messages; the
 * MSSQLSERVER_<n> pages of Microsoft Learn).
 */

/** A SQL error the double answers with an ERROR token. */
export class SqlError extends Error {
  constructor(
    readonly number: number,
    message: string,
    readonly severity = 16,
    readonly state = 1,
    /** Whether the server rolls the open transaction back with it (ENVCHANGE 10 follows). */
    readonly rollsBack = false,
  ) {
    super(message);
  }
}

/** Name-binding and syntax errors, raised before a statement returns anything. */
export const bindError = {
  syntaxNear: (text: string) => new SqlError(102, `Incorrect syntax near '${text}'.`, 15),
  syntaxNearKeyword: (keyword: string) => new SqlError(156, `Incorrect syntax near the keyword '${keyword}'.`, 15),
  invalidObject: (name: string) => new SqlError(208, `Invalid object name '${name}'.`),
  invalidColumn: (name: string) => new SqlError(207, `Invalid column name '${name}'.`),
  ambiguousColumn: (name: string) => new SqlError(209, `Ambiguous column name '${name}'.`),
  notBound: (name: string) => new SqlError(4104, `The multi-part identifier "${name}" could not be bound.`),
  undeclared: (name: string) => new SqlError(137, `Must declare the scalar variable "${name}".`, 15, 2),
  unknownFunction: (name: string) => new SqlError(195, `'${name}' is not a recognized built-in function name.`, 15, 10),
  unknownType: (name: string) => new SqlError(243, `Type ${name} is not a defined system type.`, 16, 2),
  unnamedColumn: (position: number, alias: string) => new SqlError(8155, `No column name was specified for column ${position} of '${alias}'.`),
  subqueryColumns: () => new SqlError(116, 'Only one expression can be specified in the select list when the subquery is not introduced with EXISTS.'),
};

/** Errors raised while a statement runs. */
export const runError = {
  subqueryRows: () => new SqlError(512, 'Subquery returned more than 1 value. This is not permitted when the subquery follows =, !=, <, <= , >, >= or when the subquery is used as an expression.'),
  overflow: (from: string, to: string) => new SqlError(8115, `Arithmetic overflow error converting ${from} to data type ${to}.`),
  uuidSpace: (to: string) => new SqlError(8170, `Insufficient result space to convert uniqueidentifier value to ${to}.`),
  conversion: (value: string, from: string, to: string) => new SqlError(245, `Conversion failed when converting the ${from} value '${value}' to data type ${to}.`),
};

/** The concurrency errors a test can make the double answer (see {@link concurrencyError}). */
export type ConcurrencyErrorNumber = 1205 | 1222 | 3952 | 3960 | 3961;

/**
 * A concurrency error as SQL Server raises it, for a test to inject:
 * - 1205 deadlock victim (severity 13; the transaction is rolled back);
 * - 1222 lock request time-out (the statement fails, the transaction stays);
 * - 3952 SNAPSHOT isolation not allowed in the database (at the first read);
 * - 3960 SNAPSHOT update conflict, 3961 an object changed by DDL since the
 *   SNAPSHOT transaction began (both roll the transaction back).
 */
export function concurrencyError(number: ConcurrencyErrorNumber, context: { database: string; table?: string; spid?: number }): SqlError {
  const table = context.table ?? 'dbo.person';
  switch (number) {
    case 1205:
      return new SqlError(1205, `Transaction (Process ID ${context.spid ?? 51}) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.`, 13, 51, true);
    case 1222:
      return new SqlError(1222, 'Lock request time out period exceeded.', 16, 51);
    case 3952:
      return new SqlError(3952, `Snapshot isolation transaction failed accessing database '${context.database}' because snapshot isolation is not allowed in this database. Use ALTER DATABASE to allow snapshot isolation.`, 16, 1, true);
    case 3960:
      return new SqlError(3960, `Snapshot isolation transaction aborted due to update conflict. You cannot use snapshot isolation to access table '${table}' directly or indirectly in database '${context.database}' to update, delete, or insert the row that has been modified or deleted by another transaction. Retry the transaction or change the isolation level for the update/delete statement.`, 16, 2, true);
    case 3961:
      return new SqlError(3961, `Snapshot isolation transaction failed in database '${context.database}' because the object accessed by the statement has been modified by a DDL statement in another concurrent transaction since the start of this transaction.  It is disallowed because the metadata is not versioned. A concurrent update to metadata can lead to inconsistency if mixed with snapshot isolation.`, 16, 1, true);
  }
}
