import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

function asLong(value: unknown): number {
  const n = typeof value === 'bigint' ? Number(value) : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new GraphQLError(`Long cannot represent ${String(value)}: expected a whole number within ±(2^53 - 1).`);
  return n;
}

/** `scalar Long`: a whole number beyond GraphQL's 32-bit Int (file sizes), exact up to 2^53 - 1. */
export const LongScalar = new GraphQLScalarType({
  name: 'Long',
  description: 'A whole number that may exceed 32 bits, exact up to 2^53 - 1.',
  serialize: asLong,
  parseValue: asLong,
  parseLiteral(ast) {
    if (ast.kind !== Kind.INT) throw new GraphQLError('Long must be an integer literal.');
    return asLong(ast.value);
  },
});
