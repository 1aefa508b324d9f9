/**
 * SQL Server text in code pages other than 1252: the double stores char,
 * varchar and text in each collation's code page, and the connector, through
 * the real `tedious` driver, extracts them exactly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsv, readAll } from '../../../support/csv-text.js';
import { startTdsDouble } from '../../../support/tds/index.js';
import { collation, encode } from '../../../support/tds/collations.js';
import { connector } from '../../../support/tds/connector.js';

describe('SQL Server text in code pages other than 1252', () => {
  test('the double stores varchar in the collation\'s code page (facts from the code page charts)', () => {
    assert.deepEqual(encode('Ж', collation('Cyrillic_General_CI_AS')), Buffer.from([0xc6]), 'cp1251');
    assert.deepEqual(encode('Ω', collation('Greek_CI_AS')), Buffer.from([0xd9]), 'cp1253');
    assert.deepEqual(encode('中', collation('Chinese_PRC_CI_AS')), Buffer.from([0xd6, 0xd0]), 'cp936');
    assert.deepEqual(encode('日ｶ', collation('Japanese_CI_AS')), Buffer.from([0x93, 0xfa, 0xb6]), 'cp932');
    assert.deepEqual(encode('ë🚀', collation('Latin1_General_100_CI_AS_SC_UTF8')), Buffer.from('ë🚀', 'utf8'));
    assert.deepEqual(encode('Ж', collation('SQL_Latin1_General_CP1_CI_AS')), Buffer.from('?'), 'what a code page cannot hold is stored as ?');
    // MS-TDS collation: LCID, flags (ignore case, kana, width; UTF-8), version, sort id.
    assert.deepEqual(collation('Cyrillic_General_CI_AS').bytes, Buffer.from([0x19, 0x04, 0xd0, 0x00, 0x00]));
    assert.deepEqual(collation('Latin1_General_100_CI_AS_SC_UTF8').bytes, Buffer.from([0x09, 0x04, 0xd0, 0x24, 0x00]));
    assert.deepEqual(collation('SQL_Latin1_General_CP1_CI_AS').bytes, Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]));
  });

  test('char, varchar, varchar(max) and text in Cyrillic, Chinese, Japanese, Greek and UTF-8 collations extract exactly', async () => {
    const columns: Array<[string, string, string | undefined, Array<string | null>]> = [
      ['c_1251', 'varchar(30)', undefined, ['Съешь же ещё', 'Ёё №', null]],
      ['c_1251_char', 'char(8)', undefined, ['Жук     ', 'Ђ       ', null]],
      ['c_1251_text', 'text', undefined, ['булок', '', null]],
      ['c_936', 'varchar(20)', 'Chinese_PRC_CI_AS', ['中文数据，测试', '北京', null]],
      ['c_936_char', 'char(6)', 'Chinese_PRC_CI_AS', ['中文  ', 'ab    ', null]],
      ['c_932_max', 'varchar(max)', 'Japanese_CI_AS', ['日本語のテキスト'.repeat(700), 'ｶﾀｶﾅ', null]],
      ['c_1253', 'varchar(20)', 'Greek_CI_AS', ['Ελληνικά', 'ΩΨ', null]],
      ['c_utf8', 'varchar(20)', 'Latin1_General_100_CI_AS_SC_UTF8', ['Zoë 🚀', 'ñ', null]],
    ];
    const double = await startTdsDouble([{
      name: 'cyrillic',
      snapshotIsolation: true,
      collation: 'Cyrillic_General_CI_AS',
      schemas: {
        dbo: [{
          name: 'texts',
          columns: [{ name: 'id', type: 'int' }, ...columns.map(([name, type, coll]) => ({ name, type, ...(coll ? { collation: coll } : {}) }))],
          rows: [0, 1, 2].map((r) => [r + 1, ...columns.map(([, , , values]) => values[r])]),
        }],
      },
    }]);
    try {
      const c = connector(double, { db: 'cyrillic' });
      try {
        const read = (await c.getColumns('dbo', ['texts'])).get('texts')!;
        assert.deepEqual(read.map((x) => x.datatype), ['int', 'varchar(30)', 'char(8)', 'text', 'varchar(20)', 'char(6)', 'varchar(max)', 'varchar(20)', 'varchar(20)']);
        const snapshot = await c.snapshot();
        try {
          const csv = await readAll(snapshot.csv('dbo', 'texts', read));
          assert.deepEqual(parseCsv(csv), [['id', ...columns.map(([name]) => name)], ...[0, 1, 2].map((r) => [String(r + 1), ...columns.map(([, , , values]) => values[r])])]);
        } finally {
          await snapshot.close();
        }
      } finally {
        await c.close();
      }
      assert.deepEqual(double.double.unexpected, []);
    } finally {
      await double.double.close();
    }
  });
});
