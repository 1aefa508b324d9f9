/**
 * SQL Server collations as the TDS double needs them: the 5-byte collation
 * a COLMETADATA / ENVCHANGE carries (MS-TDS 2.2.5.1.2: LCID, flags, version,
 * sort id) and the code page `char`/`varchar`/`text` bytes are stored in.
 *
 * The bytes are encoded with tables built from Node's own (ICU) decoders, not
 * with iconv-lite, the library tedious decodes with: the client is checked
 * against an independent encoder. A character the code page cannot hold
 * becomes `?`, as SQL Server stores it.
 */

/** Collation flag bits (MS-TDS): ignore case, accent, kana, width; binary; binary2; UTF-8. */
const FLAG = { CI: 0x01, AI: 0x02, KI: 0x04, WI: 0x08, BIN: 0x10, BIN2: 0x20, UTF8: 0x40 } as const;

export interface Collation {
  name: string;
  /** The 5 bytes on the wire. */
  bytes: Buffer;
  /** WHATWG encoding label of the code page (`utf-8` for _UTF8 collations). */
  encoding: string;
  /** SQL Server's code page number (65001 for UTF-8). */
  codePage: number;
  caseSensitive: boolean;
  binary: boolean;
}

/** Windows collation families: LCID and code page (Microsoft Learn, "Windows collation name"). */
const FAMILIES: Record<string, { lcid: number; codePage: number }> = {
  Latin1_General: { lcid: 0x0409, codePage: 1252 },
  Cyrillic_General: { lcid: 0x0419, codePage: 1251 },
  Greek: { lcid: 0x0408, codePage: 1253 },
  Chinese_PRC: { lcid: 0x0804, codePage: 936 },
  Japanese: { lcid: 0x0411, codePage: 932 },
  Polish: { lcid: 0x0415, codePage: 1250 },
};

/** SQL collations: the sort id decides the code page (SERVERPROPERTY / sys.fn_helpcollations). */
const SQL_COLLATIONS: Record<string, { lcid: number; sortId: number; codePage: number; flags: number }> = {
  SQL_Latin1_General_CP1_CI_AS: { lcid: 0x0409, sortId: 52, codePage: 1252, flags: FLAG.CI | FLAG.KI | FLAG.WI },
  SQL_Latin1_General_CP1_CS_AS: { lcid: 0x0409, sortId: 51, codePage: 1252, flags: FLAG.KI | FLAG.WI },
  SQL_Latin1_General_CP1251_CI_AS: { lcid: 0x0409, sortId: 106, codePage: 1251, flags: FLAG.CI | FLAG.KI | FLAG.WI },
};

const ENCODINGS: Record<number, string> = { 1250: 'windows-1250', 1251: 'windows-1251', 1252: 'windows-1252', 1253: 'windows-1253', 932: 'shift_jis', 936: 'gbk', 65001: 'utf-8' };

function wireBytes(lcid: number, flags: number, version: number, sortId: number): Buffer {
  return Buffer.from([lcid & 0xff, (lcid >> 8) & 0xff, ((lcid >> 16) & 0x0f) | ((flags & 0x0f) << 4), ((flags & 0xf0) >> 4) | ((version & 0x0f) << 4), sortId]);
}

const cache = new Map<string, Collation>();

/** The collation of that name, or an error naming the ones the double knows. */
export function collation(name: string): Collation {
  const known = cache.get(name.toLowerCase());
  if (known) return known;
  let made: Collation;
  const sql = Object.entries(SQL_COLLATIONS).find(([n]) => n.toLowerCase() === name.toLowerCase());
  if (sql) {
    const [n, c] = sql;
    made = { name: n, bytes: wireBytes(c.lcid, c.flags, 0, c.sortId), encoding: ENCODINGS[c.codePage]!, codePage: c.codePage, caseSensitive: !(c.flags & FLAG.CI), binary: false };
  } else {
    // <family>[_90|_100|_140]_{BIN|BIN2|CI|CS_AI|AS[_KS][_WS][_SC][_UTF8]}
    const m = /^([A-Za-z0-9]+(?:_[A-Za-z][A-Za-z0-9]*)*?)(?:_(90|100|140))?_(BIN2?|C[IS]_A[IS](?:_KS)?(?:_WS)?(?:_VSS)?(?:_SC)?(?:_UTF8)?)$/i.exec(name);
    const family = m && Object.keys(FAMILIES).find((f) => f.toLowerCase() === m[1]!.toLowerCase());
    if (!m || !family) throw new Error(`TDS double: collation '${name}' is not known (known: ${[...Object.keys(SQL_COLLATIONS), ...Object.keys(FAMILIES).map((f) => `${f}_…`)].join(', ')})`);
    const parts = m[3]!.toUpperCase().split('_');
    const version = { '': 0, '90': 1, '100': 2, '140': 3 }[m[2] ?? ''] ?? 0;
    let flags = 0;
    if (parts[0] === 'BIN') flags = FLAG.BIN;
    else if (parts[0] === 'BIN2') flags = FLAG.BIN2;
    else {
      if (parts[0] === 'CI') flags |= FLAG.CI;
      if (parts[1] === 'AI') flags |= FLAG.AI;
      if (!parts.includes('KS')) flags |= FLAG.KI;
      if (!parts.includes('WS')) flags |= FLAG.WI;
    }
    const utf8 = parts.includes('UTF8');
    if (utf8) flags |= FLAG.UTF8;
    const { lcid, codePage } = FAMILIES[family]!;
    const page = utf8 ? 65001 : codePage;
    made = { name, bytes: wireBytes(lcid, flags, version, 0), encoding: ENCODINGS[page]!, codePage: page, caseSensitive: !(flags & FLAG.CI), binary: parts[0]!.startsWith('BIN') };
  }
  cache.set(name.toLowerCase(), made);
  return made;
}

/** Byte sequences to try for a code page: single bytes, and lead/trail pairs for the double-byte ones. */
function* candidates(encoding: string): Generator<Buffer> {
  for (let b = 0; b < 0x100; b++) yield Buffer.from([b]);
  if (encoding !== 'gbk' && encoding !== 'shift_jis') return;
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x40; trail <= 0xfe; trail++) if (trail !== 0x7f) yield Buffer.from([lead, trail]);
  }
}

const tables = new Map<string, Map<string, Buffer>>();

/** Character → bytes, from the ICU decoder of the code page. */
function table(encoding: string): Map<string, Buffer> {
  let t = tables.get(encoding);
  if (t) return t;
  t = new Map();
  const decoder = new TextDecoder(encoding, { fatal: true });
  for (const bytes of candidates(encoding)) {
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      continue;
    }
    if ([...text].length === 1 && !t.has(text)) t.set(text, bytes);
  }
  tables.set(encoding, t);
  return t;
}

/** Whether every character of `text` is stored as itself in this collation's code page. */
export function representable(text: string, c: Collation): boolean {
  if (c.encoding === 'utf-8') return true;
  const t = table(c.encoding);
  return [...text].every((ch) => t.has(ch));
}

/** `text` as SQL Server stores it in a `varchar` of this collation: unrepresentable characters become `?`. */
export function encode(text: string, c: Collation): Buffer {
  if (c.encoding === 'utf-8') return Buffer.from(text, 'utf8');
  const t = table(c.encoding);
  return Buffer.concat([...text].map((ch) => t.get(ch) ?? Buffer.from('?')));
}

/** What a `varchar` of this collation holds for `text` (after the `?` substitution). */
export function stored(text: string, c: Collation): string {
  return representable(text, c) ? text : new TextDecoder(c.encoding).decode(encode(text, c));
}
