/**
 * The logical-type case table: for every logical type (lib/types/logical.ts)
 * its edge values, each with the canonical text extraction must produce
 * (written here once) and, where the writer tests load it, the DuckDB type and
 * the value DuckDB must hold (as @duckdb/node-api's getRowsJson shows it).
 *
 * Every test of a type reads its expectations from here: the all-types
 * tables of the sources (all-types.ts for PostgreSQL and MySQL/MariaDB,
 * tds/all-types.ts for SQL Server, databricks/index.ts for Databricks) say
 * only how their source spells the type and the value (a SQL literal or the
 * value the double holds) and which case value it must read as; the writers'
 * table (filestore-cases.ts) picks values to load. What a source cannot hold
 * is listed in NOT_REPRESENTABLE, with the reason; test/unit/type-cases.test.ts
 * checks that every source covers every logical type or says why not, and that
 * no expected value here is left unused.
 *
 * A case is a logical type in one shape: the same logical type may have
 * several cases where its text or its DuckDB form differs (PostgreSQL's and
 * MySQL's `point` spell differently; an array of mixed depth loads as JSON).
 */
import type { LogicalKind, LogicalType } from '../../lib/types/logical.js';
import { LOGICAL_KINDS } from '../../lib/types/logical.js';

/** One edge value: its canonical text, and what DuckDB holds after loading it (absent: no writer test loads it). */
export interface ValueCase {
  readonly text: string;
  readonly duckdb?: unknown;
}

/** A logical type in one shape, with its edge values (NULL is every case's, and is not listed). */
export interface TypeCase<K extends string = string> {
  readonly logical: LogicalType;
  /** The DuckDB type the writer gives it, as duckdb_columns().data_type spells it. */
  readonly duckdb?: string;
  readonly values: Readonly<Record<K, ValueCase>>;
}

const v = (text: string, duckdb?: unknown): ValueCase => (duckdb === undefined ? { text } : { text, duckdb });
/** A value DuckDB holds as the same text. */
const same = (text: string): ValueCase => ({ text, duckdb: text });
function tc<K extends string>(logical: LogicalType, values: Record<K, ValueCase>, duckdb?: string): TypeCase<K> {
  return duckdb === undefined ? { logical, values } : { logical, duckdb, values };
}

/** Unicode beyond the BMP, a quote, commas, LF and CRLF: the text every source must carry byte for byte. */
export const TRICKY_TEXT = 'Zoë 🚀 ñ, "quoted"\nnew line\r\nand, commas';
export const MOOD_LABELS = ['sad', 'ok', 'happy', 'it\'s, "odd"'];

const micros = (h: number, m: number, s: number, us = 0) => ((h * 3600 + m * 60 + s) * 1e6 + us);

export const CASES = {
  int8: tc({ kind: 'int8' }, { typical: v('12'), min: v('-128', -128), max: v('127', 127), zero: v('0'), one: v('1'), two: v('2') }, 'TINYINT'),
  int16: tc({ kind: 'int16' }, {
    typical: v('12'), min: v('-32768', -32768), max: v('32767', 32767), zero: v('0', 0),
    year: v('2024'), yearMin: v('1901'), yearMax: v('2155'),
  }, 'SMALLINT'),
  int32: tc({ kind: 'int32' }, {
    negative: v('-42'), min: v('-2147483648', -2147483648), max: v('2147483647', 2147483647), mediumMin: v('-8388608'), mediumMax: v('8388607'),
  }, 'INTEGER'),
  int64: tc({ kind: 'int64' }, {
    typical: v('1234567890123'), min: same('-9223372036854775808'), max: same('9223372036854775807'), zero: same('0'),
  }, 'BIGINT'),
  uint8: tc({ kind: 'uint8' }, { small: v('7'), typical: v('12'), max: v('255', 255), zero: v('0', 0) }, 'UTINYINT'),
  uint16: tc({ kind: 'uint16' }, { small: v('7'), max: v('65535', 65535), zero: v('0', 0) }, 'USMALLINT'),
  uint32: tc({ kind: 'uint32' }, { small: v('7'), mediumMax: v('16777215'), max: v('4294967295', 4294967295), zero: v('0', 0), unpadded: v('42') }, 'UINTEGER'),
  uint64: tc({ kind: 'uint64' }, { small: v('7'), max: same('18446744073709551615'), zero: same('0') }, 'UBIGINT'),

  decimal12_2: tc({ kind: 'decimal', precision: 12, scale: 2 }, { scalePadded: v('1234.50'), min: v('-9999999999.99'), zero: v('0.00') }),
  decimal38_10: tc({ kind: 'decimal', precision: 38, scale: 10 }, {
    wide: same('1234567890123456789012345678.0123456789'), tinyNegative: same('-0.0000000001'), zero: v('0.0000000000'), scalePadded: same('1.5000000000'),
  }, 'DECIMAL(38,10)'),
  decimal19_4: tc({ kind: 'decimal', precision: 19, scale: 4 }, { scalePadded: v('1234.5600'), min: v('-922337203685477.5808'), zero: v('0.0000') }),
  decimal10_4: tc({ kind: 'decimal', precision: 10, scale: 4 }, { typical: v('12.3456'), min: v('-214748.3648'), zero: v('0.0000') }),
  decimal5_2: tc({ kind: 'decimal', precision: 5, scale: 2 }, { max: same('999.99'), negativeCent: same('-0.01') }, 'DECIMAL(5,2)'),
  decimalNegativeScale: tc({ kind: 'decimal', precision: 3, scale: -2 }, { hundreds: same('12300'), negativeHundreds: same('-99900') }, 'DECIMAL(5,0)'),
  decimalUnbounded: tc({ kind: 'decimal' }, {
    pi: v('3.14159265358979323846264338327950288419716939937510'), trailingZeros: v('-123.4500'), nan: same('NaN'),
    beyond38: same('123456789012345678901234567890123456789012345678901234567890.0123456789'), negativeHalf: same('-0.50'),
  }, 'VARCHAR'),

  float32: tc({ kind: 'float32' }, {
    typical: v('1.1'), max: v('3.4028235e+38', 3.4028234663852886e38), negativeInfinity: v('-Infinity'), tiny: v('1e-07'), half: v('0.5'),
    minSubnormal: v('1e-45', 1.401298464324817e-45), nan: v('NaN', 'NaN'), negative: v('-2.5'),
  }, 'FLOAT'),
  float64: tc({ kind: 'float64' }, {
    roundTrip: v('0.30000000000000004'), negativeMax: v('-1.7976931348623157e+308'), tiny: v('1e-07'), exponentAt15: v('1e+15'),
    tenth: v('0.1', 0.1), negativeInfinity: v('-Infinity', '-Infinity'), minSubnormal: v('5e-324', 5e-324),
    max: v('1.7976931348623157e+308', 1.7976931348623157e308), infinity: v('Infinity', 'Infinity'), negativeZero: v('-0', -0),
  }, 'DOUBLE'),

  boolean: tc({ kind: 'boolean' }, { true: v('true', true), false: v('false', false) }, 'BOOLEAN'),

  text: tc({ kind: 'text' }, {
    plain: v('plain'), tricky: v(TRICKY_TEXT), empty: v(''), legacy: v('legacy'), quotesAndComma: v('a "b", c'), unicode: v('Zoë 🚀'),
    backslashDot: v('\\.'), beyondPage: v('x'.repeat(9000)), astral: same('😀 ü 中文'), crlf: same('a\r\nb'), onlyQuotes: same('""'),
    // Scripts a single-byte or double-byte SQL Server code page carries (1251, 936, 932, 1253).
    cyrillic: v('Съешь же ещё этих мягких французских булок'), cyrillicMarks: v('Ёё № «кавычки», Ђђ'),
    chinese: v('中文数据，测试'), chineseQuotes: v('北京 上海 “引号”'),
    japanese: v('日本語のテキスト'), halfwidthKana: v('ｶﾀｶﾅ 半角、全角'),
    greek: v('Ελληνικά κείμενα'), greekMarks: v('ΑΒΓ αβγ ΩΨ; «»'),
  }, 'VARCHAR'),
  /** varchar(20)-like: a comma, a quote and a tab. */
  text20: tc({ kind: 'text', length: 20 }, { comma: v('a,b'), quoteAndTab: v("it's ; tab\there"), empty: v('') }),
  text50: tc({ kind: 'text', length: 50 }, { comma: v('a,b'), unicode: v('Zoë 🚀'), empty: v('') }),
  text100: tc({ kind: 'text', length: 100 }, { lines: same('héllo, "world"\nline 2'), empty: same('') }, 'VARCHAR'),
  /** char(5): padded to the length where the source keeps the padding, not where it strips it on read. */
  char5: tc({ kind: 'text', length: 5 }, {
    padded: v('ab   '), paddedUnicode: v('Zoë  '), blank: v('     '), stripped: v('ab'), strippedUnicode: v('Zoë'), strippedBlank: v(''),
  }),
  char3: tc({ kind: 'text', length: 3 }, { full: v('xyz'), unicode: v('Zoë'), blank: v('   ') }),

  date: tc({ kind: 'date' }, { leapDay: same('2024-02-29'), min: same('0001-01-01'), max: same('9999-12-31'), mysqlMin: v('1000-01-01') }, 'DATE'),
  time: tc({ kind: 'time', withZone: false }, {
    typical: v('13:45:10'), maxMicros: same('23:59:59.999999'), midnight: same('00:00:00'), max100ns: v('23:59:59.9999999'),
    half: v('00:00:00.5'), maxSeconds: v('23:59:59'), endOfDay: same('24:00:00'),
  }, 'TIME'),
  timeWithZone: tc({ kind: 'time', withZone: true }, {
    india: v('13:45:10+05:30'), pacificHalf: v('00:00:00.5-08:00'), utcNoon: v('12:00:00+00:00'),
    indiaMicros: same('12:34:56.123456+05:30'), pacificMidnight: v('00:00:00-08:00', '00:00:00-08'),
  }, 'TIME WITH TIME ZONE'),
  timestamp: tc({ kind: 'timestamp' }, {
    leapMicros: v('2024-02-29T13:45:10.123456'), min: v('0001-01-01T00:00:00'), epochHalf: v('1970-01-01T00:00:00.5'), mysqlMin: v('1000-01-01T00:00:00'),
    leap100ns: v('2024-02-29T13:45:10.1234567'), max100ns: v('9999-12-31T23:59:59.9999999'), y2k: v('2000-01-01T00:00:00'),
    leapMillis: v('2024-02-29T13:45:10.123'), datetimeMin: v('1753-01-01T00:00:00'), datetimeMax: v('9999-12-31T23:59:59.997'),
    leapMinute: v('2024-02-29T13:45:00'), smalldatetimeMin: v('1900-01-01T00:00:00'), smalldatetimeMax: v('2079-06-06T23:59:00'),
    leapLastMicro: v('2024-02-29T23:59:59.999999', '2024-02-29 23:59:59.999999'), epoch: v('1970-01-01T00:00:00', '1970-01-01 00:00:00'),
    minPlusMicro: v('0001-01-01T00:00:00.000001', '0001-01-01 00:00:00.000001'),
  }, 'TIMESTAMP'),
  timestamptz: tc({ kind: 'timestamptz' }, {
    fromIndia: v('2024-03-01T04:45:30.123456+00:00'), fromPacificY2k: v('2000-01-01T07:59:59.999999+00:00'), epoch: v('1970-01-01T00:00:00+00:00'),
    y2038: v('2038-01-19T03:14:07.999999+00:00'), epochPlusSecond: v('1970-01-01T00:00:01+00:00'),
    fromPacificY2k100ns: v('2000-01-01T07:59:59.9999999+00:00'), beforeEpochHalf: v('1969-12-31T23:59:59.5+00:00'),
    leapLastMicro: v('2024-02-29T23:59:59.999999+00:00', '2024-02-29 23:59:59.999999+00'),
    beforeEpochMicro: v('1969-12-31T23:59:59.000001+00:00', '1969-12-31 23:59:59.000001+00'),
  }, 'TIMESTAMP WITH TIME ZONE'),
  interval: tc({ kind: 'interval' }, {
    full: v('P1Y2M3DT4H5M6.5S', { months: 14, days: 3, micros: String(micros(4, 5, 6.5)) }), negativeDay: v('P-1D'),
    zero: v('PT0S', { months: 0, days: 0, micros: '0' }), yearMonth: v('P1Y2M'), negativeMonths: v('P-3M'), dayTime: v('P3DT4H5M6.5S'),
    allNegative: v('P-1Y-2M-3DT-4H-5M-6.000001S', { months: -14, days: -3, micros: String(-micros(4, 5, 6, 1)) }),
    negatedDuration: v('-P1DT1S', { months: 0, days: -1, micros: '-1000000' }), negativeMicro: v('PT-0.000001S', { months: 0, days: 0, micros: '-1' }),
    weeks: v('P2W', { months: 0, days: 14, micros: '0' }),
  }, 'INTERVAL'),
  uuid: tc({ kind: 'uuid' }, {
    lowercased: v('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), max: v('ffffffff-ffff-ffff-ffff-ffffffffffff'), nil: same('00000000-0000-0000-0000-000000000000'),
    typical: same('123e4567-e89b-12d3-a456-426614174000'),
  }, 'UUID'),
  json: tc({ kind: 'json' }, {
    asWritten: v('{"b": 1, "a": [1, 2]}'), normalised: v('{"a": [1, 2], "b": 1}'), unicodeString: v('"Zoë 🚀"'), null: same('null'),
    emptyArray: v('[]'), emptyObject: v('{}'), compactObject: v('{"a":1,"b":2}'), oddKeyNull: v('{"k,\\"":null}'),
    struct: v('{"a":1,"b":"x"}'), structNullField: v('{"a":null,"b":"Zoë 🚀"}'), structZeros: v('{"a":0,"b":""}'),
    nested: same('{"a": [1, 2.50, null], "b": "x,\\"y\\""}'), bigNumber: same('12345678901234567890123'),
  }, 'JSON'),
  binary: tc({ kind: 'binary' }, {
    deadbeef: v('\\xdeadbeef'), zeroFF: v('\\x00ff'), empty: v('\\x', ''), fourZeros: v('\\x00000000'), crlfCommaQuote: v('\\x0a0d2c22'),
    zeroByte: v('\\x00'), padded: v('\\x00ff0000'), beyondPage: v(`\\x${'ab'.repeat(9000)}`), cafe: v('\\xcafe'),
    rowversion1: v('\\x00000000000007d1'), rowversion2: v('\\x00000000000007d2'), rowversion3: v('\\x00000000000007d3'), rowversion4: v('\\x00000000000007d4'),
    threeBytes: v('\\x00ff10', '\\x00\\xFF\\x10'),
  }, 'BLOB'),

  int32Array: tc({ kind: 'array', element: { kind: 'int32' } }, {
    withNull: v('[1,2,null]'), twoDimensional: v('[[1,2],[3,4]]', [[1, 2], [3, 4]]), empty: v('[]', []), min: v('[-2147483648]'), nullInside: v('[1,null,-3]', [1, null, -3]),
  }, 'INTEGER[]'),
  /** PostgreSQL arrays of two dimensions: the writer measures them. */
  int32Array2d: tc({ kind: 'array', element: { kind: 'int32' } }, { matrix: v('[[1,2],[3,4]]', [[1, 2], [3, 4]]), empty: v('[]', []) }, 'INTEGER[][]'),
  int64Array: tc({ kind: 'array', element: { kind: 'int64' } }, {
    bounds: v('[-9223372036854775808,9223372036854775807]', ['-9223372036854775808', '9223372036854775807']), zero: v('[0]', ['0']),
  }, 'BIGINT[]'),
  textArray: tc({ kind: 'array', element: { kind: 'text' } }, {
    awkward: v('["a,b","c\\"d",null,"Zoë"]'), emptyString: v('[""]'), empty: v('[]', []),
    mixed: v('["a","b,c","d\\"e",null,""]', ['a', 'b,c', 'd"e', null, '']), bracketText: v('["[1]"]', ['[1]']),
  }, 'VARCHAR[]'),
  /** Arrays of mixed depth in one column: the writer keeps them as JSON. */
  textArrayMixedDepth: tc({ kind: 'array', element: { kind: 'text' } }, { flat: same('["a"]'), nested: same('[["b"]]') }, 'JSON'),
  timestamptzArray: tc({ kind: 'array', element: { kind: 'timestamptz' } }, {
    fromIndia: v('["2024-03-01T04:45:30+00:00"]'), nullElement: v('[null]', [null]), empty: v('[]'),
    micro: v('["2024-01-01T00:00:00.000001+00:00"]', ['2024-01-01 00:00:00.000001+00']),
  }, 'TIMESTAMP WITH TIME ZONE[]'),
  decimal30_20Array: tc({ kind: 'array', element: { kind: 'decimal', precision: 30, scale: 20 } }, {
    scalePadded: v('[1.00000000000000000001,-2.5,null]', ['1.00000000000000000001', '-2.50000000000000000000', null]),
    quotedDigits: v('["3.14"]', ['3.14000000000000000000']),
  }, 'DECIMAL(30,20)[]'),
  decimalUnboundedArray: tc({ kind: 'array', element: { kind: 'decimal' } }, {
    beyond38: v('[123456789012345678901234567890.5,1e5]', ['123456789012345678901234567890.5', '1e5']), empty: v('[]', []),
  }, 'VARCHAR[]'),
  float64Array: tc({ kind: 'array', element: { kind: 'float64' } }, {
    specials: v('[0.1,-1.5e+300,"NaN","-Infinity"]', [0.1, -1.5e300, 'NaN', '-Infinity']), empty: v('[]', []),
  }, 'DOUBLE[]'),
  int64ArrayArray: tc({ kind: 'array', element: { kind: 'array', element: { kind: 'int64' } } }, {
    ragged: v('[[1,2],[3]]', [['1', '2'], ['3']]), emptyInner: v('[[]]', [[]]),
  }, 'BIGINT[][]'),
  dateArray: tc({ kind: 'array', element: { kind: 'date' } }, { bounds: v('["2024-02-29","0001-01-01"]', ['2024-02-29', '0001-01-01']) }, 'DATE[]'),
  binaryArray: tc({ kind: 'array', element: { kind: 'binary' } }, {
    bytesAndEmpty: v('["\\\\x00ff","\\\\x"]', ['\\x00\\xFF', '']), nullElement: v('[null]', [null]),
  }, 'BLOB[]'),
  intervalArray: tc({ kind: 'array', element: { kind: 'interval' } }, {
    dayAndSeconds: v('["P1D","PT1.5S"]', [{ months: 0, days: 1, micros: '0' }, { months: 0, days: 0, micros: '1500000' }]), empty: v('[]', []),
  }, 'INTERVAL[]'),
  uuidArray: tc({ kind: 'array', element: { kind: 'uuid' } }, { one: v('["123e4567-e89b-12d3-a456-426614174000"]', ['123e4567-e89b-12d3-a456-426614174000']) }, 'UUID[]'),
  jsonArray: tc({ kind: 'array', element: { kind: 'json' } }, { objectAndArray: same('[{"a": 1.10}, [2]]'), empty: same('[]') }, 'JSON'),
  enumArray: tc({ kind: 'array', element: { kind: 'enum', values: ['x', 'y'] } }, { both: v('["y","x"]', ['y', 'x']), empty: v('[]', []) }, "ENUM('x', 'y')[]"),

  mood: tc({ kind: 'enum', values: MOOD_LABELS }, { happy: v('happy'), quotedLabel: v(MOOD_LABELS[3]!), sad: v('sad') }),
  enumWithEmpty: tc({ kind: 'enum', values: ['sad', 'ok', 'happy', ''] }, { ok: same('ok'), emptyLabel: same('') }, "ENUM('sad', 'ok', 'happy', '')"),
  enumNoLabels: tc({ kind: 'enum', values: [] }, { any: same('anything'), empty: same('') }, 'VARCHAR'),

  inet: tc({ kind: 'other', native: 'inet' }, { network: same('192.168.0.1/24'), ipv6Loopback: same('::1'), host: v('10.0.0.1') }, 'VARCHAR'),
  pgMoney: tc({ kind: 'other', native: 'money' }, { typical: v('$1,234.56'), min: v('-$92,233,720,368,547,758.08'), zero: v('$0.00') }),
  pgBit3: tc({ kind: 'other', native: 'bit(3)' }, { mixed: v('101'), zeros: v('000'), ones: v('111') }),
  pgPoint: tc({ kind: 'other', native: 'point' }, { typical: v('(1,2)'), extreme: v('(-1.5,1e+300)'), origin: v('(0,0)') }),
  mysqlBit8: tc({ kind: 'other', native: 'bit(8)' }, { padded: v('00000101'), ones: v('11111111'), zeros: v('00000000') }),
  mysqlSet: tc({ kind: 'other', native: "set('a','b','c')" }, { reordered: v('a,c'), empty: v(''), one: v('b') }),
  mysqlPoint: tc({ kind: 'other', native: 'point' }, { typical: v('POINT(1 2)'), fractional: v('POINT(-1.5 2.25)'), origin: v('POINT(0 0)') }),
  mariadbInet6: tc({ kind: 'other', native: 'inet6' }, { loopback: v('::1'), compressed: v('2001:db8::ff00:42:8329'), mappedIpv4: v('::ffff:192.168.0.1') }),
  mssqlXml: tc({ kind: 'other', native: 'xml' }, { element: v('<a b="1">x</a>'), empty: v('<z/>'), nothing: v('') }),
  mssqlHierarchyid: tc({ kind: 'other', native: 'hierarchyid' }, { path: v('/1/2/'), root: v('/'), child: v('/3/') }),
  mssqlGeography: tc({ kind: 'other', native: 'geography' }, { point: v('POINT (1 2)'), line: v('LINESTRING (-1.5 2.25, 3 4)'), origin: v('POINT (0 0)') }),
} as const;

export type CaseName = keyof typeof CASES;
/** The value names of a case. */
export type ValueName<C extends TypeCase> = C extends TypeCase<infer K> ? K : never;

/**
 * One column of a case table: per row the value the source holds (a SQL
 * literal or a driver value) and the name of the case value it must read as;
 * null: a NULL, which the source holds as `nullHeld`.
 */
export type Cell<H, K extends string> = readonly [held: H, value: K] | null;

export interface ResolvedColumn<H> {
  typeCase: TypeCase;
  /** The case value names by row (null: NULL). */
  values: Array<string | null>;
  /** What the source holds, by row. */
  held: H[];
  /** The canonical text expected, by row. */
  texts: Array<string | null>;
}

/** Looks every cell's expected text up in its case; an unknown value name fails at once. */
export function resolve<H, K extends string>(name: string, c: TypeCase<K>, cells: ReadonlyArray<Cell<H, K>>, nullHeld: H): ResolvedColumn<H> {
  const lookup = (key: K): ValueCase => {
    const found = c.values[key];
    if (!found) throw new Error(`case column ${name}: no value '${key}' in its case`);
    return found;
  };
  return {
    typeCase: c,
    values: cells.map((cell) => (cell ? cell[1] : null)),
    held: cells.map((cell) => (cell ? cell[0] : nullHeld)),
    texts: cells.map((cell) => (cell ? lookup(cell[1]).text : null)),
  };
}

/** What a logical type is counted as for coverage: its kind, with time with a zone apart. */
export type Family = LogicalKind | 'time with zone';
export const FAMILIES: readonly Family[] = [...LOGICAL_KINDS, 'time with zone'];
export function familyOf(type: LogicalType): Family {
  return type.kind === 'time' && type.withZone ? 'time with zone' : type.kind;
}

/** The sources with an all-types table (MySQL and MariaDB apart: their types differ). */
export type CaseSource = 'postgresql' | 'mariadb' | 'mysql' | 'mssql' | 'databricks';

const UNSIGNED = 'has no unsigned integer types';
/** What each source cannot hold, and why; every other family must be in the source's all-types table. */
export const NOT_REPRESENTABLE: Readonly<Record<CaseSource, Partial<Record<Family, string>>>> = {
  postgresql: {
    int8: 'PostgreSQL has no 1-byte integer (smallint is the smallest)',
    uint8: `PostgreSQL ${UNSIGNED}`, uint16: `PostgreSQL ${UNSIGNED}`, uint32: `PostgreSQL ${UNSIGNED}`, uint64: `PostgreSQL ${UNSIGNED}`,
  },
  mariadb: {
    'time with zone': 'MariaDB has no time-with-zone type',
    interval: 'MariaDB has no interval column type',
    array: 'MariaDB has no array type',
  },
  mysql: {
    'time with zone': 'MySQL has no time-with-zone type',
    interval: 'MySQL has no interval column type',
    array: 'MySQL has no array type',
    uuid: 'MySQL has no UUID type (MariaDB 10.7 added one)',
  },
  mssql: {
    int8: "SQL Server's only 1-byte integer, tinyint, is unsigned (uint8)",
    uint16: `SQL Server ${UNSIGNED} beyond tinyint`, uint32: `SQL Server ${UNSIGNED} beyond tinyint`, uint64: `SQL Server ${UNSIGNED} beyond tinyint`,
    'time with zone': 'SQL Server has no time-with-zone type (datetimeoffset is an instant: timestamptz)',
    interval: 'SQL Server has no interval type',
    array: 'SQL Server has no array type',
    enum: 'SQL Server has no enum type',
  },
  databricks: {
    uint8: `Databricks ${UNSIGNED}`, uint16: `Databricks ${UNSIGNED}`, uint32: `Databricks ${UNSIGNED}`, uint64: `Databricks ${UNSIGNED}`,
    time: 'Databricks has no TIME type',
    'time with zone': 'Databricks has no TIME type',
    uuid: 'Databricks has no UUID type (identifiers are STRING: text)',
    enum: 'Databricks has no enum type',
    other: 'Databricks types without a logical type (GEOGRAPHY, GEOMETRY, user-defined) are refused, not passed through as text',
  },
};
