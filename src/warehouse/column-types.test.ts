/**
 * Every input below is a value exactly as PostgreSQL 18 prints it with the adapter's session settings
 * (TimeZone=UTC, IntervalStyle=iso_8601, DateStyle=ISO,MDY, bytea_output=hex), captured from a real server.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { columnTypeName, decoderFor, PG_OID, quoteInexactNumbers } from './column-types.js';

const field = (dataTypeID: number, dataTypeModifier = -1) => ({ name: 'c', dataTypeID, dataTypeModifier });
const decode = (oid: number, text: string) => decoderFor(field(oid))(text);
const typeName = (oid: number, typmod = -1) => columnTypeName(field(oid, typmod));

describe('integers', () => {
  it('int2, int4 and oid decode to numbers', () => {
    expect(decode(PG_OID.int2, '-32768')).toBe(-32768);
    expect(decode(PG_OID.int4, '2147483647')).toBe(2147483647);
    expect(decode(PG_OID.int4, '0')).toBe(0);
    expect(decode(PG_OID.oid, '4294967295')).toBe(4294967295);
  });

  it('int8 within ±(2^53-1) is a number, beyond it a string of the exact digits', () => {
    expect(decode(PG_OID.int8, '42')).toBe(42);
    expect(decode(PG_OID.int8, '9007199254740991')).toBe(9007199254740991);
    expect(decode(PG_OID.int8, '-9007199254740991')).toBe(-9007199254740991);
    expect(decode(PG_OID.int8, '9007199254740992')).toBe('9007199254740992');
    expect(decode(PG_OID.int8, '9007199254740993')).toBe('9007199254740993');
    expect(decode(PG_OID.int8, '-9223372036854775808')).toBe('-9223372036854775808');
    expect(decode(PG_OID.int8, '9223372036854775807')).toBe('9223372036854775807');
  });

  it('int8: every value decodes either to the exact number or to its exact digits', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (b) => {
        const v = decode(PG_OID.int8, b.toString());
        const safe = b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER);
        expect(v).toStrictEqual(safe ? Number(b) : b.toString());
      }),
    );
  });
});

describe('numeric', () => {
  it('stays a string exactly as PostgreSQL prints it', () => {
    for (const text of ['1.50', '0.00000000000000000001', '123', '0.0', 'NaN', 'Infinity', '-Infinity']) {
      expect(decode(PG_OID.numeric, text)).toBe(text);
    }
    expect(decode(PG_OID.numeric, '123456789012345678901234567890.123456789')).toBe(
      '123456789012345678901234567890.123456789',
    );
  });
});

describe('floats', () => {
  it('float4 and float8 decode to numbers; NaN and ±Infinity stay strings', () => {
    expect(decode(PG_OID.float4, '1.1')).toBe(1.1);
    expect(decode(PG_OID.float4, '3.4028235e+38')).toBe(3.4028235e38);
    expect(decode(PG_OID.float8, '0.1')).toBe(0.1);
    expect(decode(PG_OID.float8, '1e+300')).toBe(1e300);
    expect(decode(PG_OID.float8, '1.5e-07')).toBe(1.5e-7);
    expect(decode(PG_OID.float8, '1e-310')).toBe(1e-310);
    expect(decode(PG_OID.float8, '-0')).toBe(-0);
    expect(decode(PG_OID.float8, '1.7976931348623157e+308')).toBe(Number.MAX_VALUE);
    expect(decode(PG_OID.float8, 'NaN')).toBe('NaN');
    expect(decode(PG_OID.float4, 'Infinity')).toBe('Infinity');
    expect(decode(PG_OID.float8, '-Infinity')).toBe('-Infinity');
  });
});

describe('booleans and strings', () => {
  it("bool 't'/'f' decode to true/false", () => {
    expect(decode(PG_OID.bool, 't')).toBe(true);
    expect(decode(PG_OID.bool, 'f')).toBe(false);
  });

  it('text, varchar, name, "char" and uuid pass through; bpchar keeps its padding', () => {
    expect(decode(PG_OID.text, '')).toBe('');
    expect(decode(PG_OID.varchar, ' ä\n')).toBe(' ä\n');
    expect(decode(PG_OID.name, 'pg_class')).toBe('pg_class');
    expect(decode(PG_OID.char, 'a')).toBe('a');
    expect(decode(PG_OID.uuid, '63ea00d9-0ef7-4c5b-ae54-ef152eda897e')).toBe(
      '63ea00d9-0ef7-4c5b-ae54-ef152eda897e',
    );
    expect(decode(PG_OID.bpchar, 'x    ')).toBe('x    ');
  });
});

describe('dates and times', () => {
  it('date is YYYY-MM-DD; infinities pass through; BC becomes an ISO 8601 astronomical year', () => {
    expect(decode(PG_OID.date, '2024-01-02')).toBe('2024-01-02');
    expect(decode(PG_OID.date, '0001-01-01')).toBe('0001-01-01');
    expect(decode(PG_OID.date, '10000-01-01')).toBe('10000-01-01');
    expect(decode(PG_OID.date, 'infinity')).toBe('infinity');
    expect(decode(PG_OID.date, '-infinity')).toBe('-infinity');
    expect(decode(PG_OID.date, '0001-01-01 BC')).toBe('0000-01-01');
    expect(decode(PG_OID.date, '0044-03-15 BC')).toBe('-0043-03-15');
    expect(decode(PG_OID.date, '4713-11-24 BC')).toBe('-4712-11-24');
  });

  it("timestamp gets a 'T' separator and no zone, keeping its fraction", () => {
    expect(decode(PG_OID.timestamp, '2024-01-02 03:04:05')).toBe('2024-01-02T03:04:05');
    expect(decode(PG_OID.timestamp, '2024-01-02 03:04:05.123456')).toBe('2024-01-02T03:04:05.123456');
    expect(decode(PG_OID.timestamp, '2024-01-02 03:04:05.12')).toBe('2024-01-02T03:04:05.12');
    expect(decode(PG_OID.timestamp, '12345-01-01 00:00:00')).toBe('12345-01-01T00:00:00');
    expect(decode(PG_OID.timestamp, '0044-03-15 10:00:00 BC')).toBe('-0043-03-15T10:00:00');
    expect(decode(PG_OID.timestamp, 'infinity')).toBe('infinity');
    expect(decode(PG_OID.timestamp, '-infinity')).toBe('-infinity');
  });

  it('timestamptz is RFC 3339 UTC with a Z', () => {
    expect(decode(PG_OID.timestamptz, '2024-01-02 01:04:05+00')).toBe('2024-01-02T01:04:05Z');
    expect(decode(PG_OID.timestamptz, '2024-01-02 03:04:05.5+00')).toBe('2024-01-02T03:04:05.5Z');
    expect(decode(PG_OID.timestamptz, '2000-01-01 00:00:00.000001+00')).toBe('2000-01-01T00:00:00.000001Z');
    expect(decode(PG_OID.timestamptz, '1799-12-31 23:42:30+00')).toBe('1799-12-31T23:42:30Z');
    expect(decode(PG_OID.timestamptz, '0044-03-15 10:00:00+00 BC')).toBe('-0043-03-15T10:00:00Z');
    expect(decode(PG_OID.timestamptz, 'infinity')).toBe('infinity');
    expect(decode(PG_OID.timestamptz, '-infinity')).toBe('-infinity');
  });

  it('timestamptz printed in another session time zone is still converted to UTC', () => {
    expect(decode(PG_OID.timestamptz, '2024-01-02 08:34:05.123456+05:30')).toBe(
      '2024-01-02T03:04:05.123456Z',
    );
    expect(decode(PG_OID.timestamptz, '1800-01-01 05:53:28+05:53:28')).toBe('1800-01-01T00:00:00Z');
    expect(decode(PG_OID.timestamptz, '2023-12-31 19:00:00-05')).toBe('2024-01-01T00:00:00Z');
    expect(decode(PG_OID.timestamptz, '0044-03-15 15:53:28+05:53:28 BC')).toBe('-0043-03-15T10:00:00Z');
  });

  it('time, timetz and interval are returned as printed', () => {
    for (const [oid, text] of [
      [PG_OID.time, '03:04:05'],
      [PG_OID.time, '03:04:05.123'],
      [PG_OID.time, '24:00:00'],
      [PG_OID.timetz, '03:04:05+05:30'],
      [PG_OID.timetz, '03:04:05.5-08'],
      [PG_OID.timetz, '01:02:03+01:02:03'],
      [PG_OID.interval, 'P1Y2M3DT4H5M6.5S'],
      [PG_OID.interval, 'PT0S'],
      [PG_OID.interval, 'P-1DT2H'],
      [PG_OID.interval, 'P1MT-1S'],
      [PG_OID.interval, 'infinity'],
    ] as const) {
      expect(decode(oid, text)).toBe(text);
    }
  });
});

describe('json and jsonb', () => {
  it('decode to the parsed JSON value, scalars included', () => {
    expect(decode(PG_OID.json, '{"a":1,"b":[1,2.50,null],"c":"x"}')).toEqual({
      a: 1,
      b: [1, 2.5, null],
      c: 'x',
    });
    expect(decode(PG_OID.jsonb, '{"a": 2, "b": 1}')).toEqual({ a: 2, b: 1 });
    expect(decode(PG_OID.json, '"s"')).toBe('s');
    expect(decode(PG_OID.jsonb, 'null')).toBe(null);
    expect(decode(PG_OID.json, '  [1, 2 ]  ')).toEqual([1, 2]);
    expect(decode(PG_OID.json, '1E+2')).toBe(100);
    expect(decode(PG_OID.json, '{"s":"a\\"b\\\\c\\u00e9\\n","u":"\\u0000x"}')).toEqual({
      s: 'a"b\\cé\n',
      u: '\0x',
    });
  });

  it('duplicate keys in json (not jsonb) keep the last value, as jsonb does', () => {
    expect(decode(PG_OID.json, '{"a":1,"a":2}')).toEqual({ a: 2 });
  });

  it('numbers a double cannot hold exactly become strings of their literal', () => {
    expect(decode(PG_OID.jsonb, '12345678901234567890')).toBe('12345678901234567890');
    expect(decode(PG_OID.jsonb, '1.000000000000000000001')).toBe('1.000000000000000000001');
    expect(decode(PG_OID.json, '1e400')).toBe('1e400');
    expect(decode(PG_OID.json, '[1e-400, 0e-400]')).toEqual(['1e-400', 0]);
    expect(
      decode(
        PG_OID.jsonb,
        '{"f": 0.1000000000000000055511151231257827, "big": 123456789012345678901234567890}',
      ),
    ).toEqual({ f: '0.1000000000000000055511151231257827', big: '123456789012345678901234567890' });
    expect(
      decode(PG_OID.json, '{"id": 9007199254740993, "ok": 9007199254740991, "pi": 3.141592653589793}'),
    ).toEqual({ id: '9007199254740993', ok: 9007199254740991, pi: Math.PI });
  });

  it('digits inside JSON strings are never rewritten', () => {
    expect(decode(PG_OID.json, '{"phone":"+12345678901234567","n\\"1234567890123456789":1}')).toEqual({
      phone: '+12345678901234567',
      'n"1234567890123456789': 1,
    });
    expect(quoteInexactNumbers('["12345678901234567890", 12345678901234567890]')).toBe(
      '["12345678901234567890", "12345678901234567890"]',
    );
  });

  it('any double printed by JavaScript stays a number', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        expect(decode(PG_OID.json, `[${JSON.stringify(d)}]`)).toEqual([d === 0 ? 0 : d]);
      }),
    );
  });
});

describe('bytea', () => {
  it('hex output becomes base64', () => {
    expect(decode(PG_OID.bytea, '\\x00ff10')).toBe('AP8Q');
    expect(decode(PG_OID.bytea, '\\x616263')).toBe('YWJj');
    expect(decode(PG_OID.bytea, '\\x')).toBe('');
  });

  it('escape output (bytea_output=escape) becomes base64 too', () => {
    expect(decode(PG_OID.bytea, 'a\\000\\377\\\\b')).toBe(
      Buffer.from([97, 0, 255, 92, 98]).toString('base64'),
    );
  });
});

describe('arrays', () => {
  it('decode every element by its element rule, NULL elements included', () => {
    expect(decode(1005, '{1,2,NULL}')).toEqual([1, 2, null]);
    expect(decode(1007, '{1,2}')).toEqual([1, 2]);
    expect(decode(1016, '{9007199254740993,1}')).toEqual(['9007199254740993', 1]);
    expect(decode(1231, '{1.5,NULL,NaN}')).toEqual(['1.5', null, 'NaN']);
    expect(decode(1021, '{1.5,NaN,Infinity}')).toEqual([1.5, 'NaN', 'Infinity']);
    expect(decode(1022, '{0.1,-Infinity}')).toEqual([0.1, '-Infinity']);
    expect(decode(1000, '{t,f,NULL}')).toEqual([true, false, null]);
    expect(decode(1182, '{2024-01-01,infinity}')).toEqual(['2024-01-01', 'infinity']);
    expect(decode(1115, '{"2024-01-01 01:02:03.5"}')).toEqual(['2024-01-01T01:02:03.5']);
    expect(decode(1185, '{infinity,"2000-01-01 00:00:00.000001+00"}')).toEqual([
      'infinity',
      '2000-01-01T00:00:00.000001Z',
    ]);
    expect(decode(1187, '{P1Y,P-1D}')).toEqual(['P1Y', 'P-1D']);
    expect(decode(199, '{"{\\"a\\":[1,\\"x\\"]}","null",NULL}')).toEqual([{ a: [1, 'x'] }, null, null]);
    expect(decode(3807, '{"{\\"a\\": 1}"}')).toEqual([{ a: 1 }]);
    expect(decode(1001, '{"\\\\x0102","\\\\x"}')).toEqual(['AQI=', '']);
    expect(decode(2951, '{ae539365-a9cf-427a-8814-dee438ef4803}')).toEqual([
      'ae539365-a9cf-427a-8814-dee438ef4803',
    ]);
    expect(decode(1183, '{03:04:00}')).toEqual(['03:04:00']);
    expect(decode(1270, '{03:04:00+01}')).toEqual(['03:04:00+01']);
    expect(decode(1014, '{"a  ","b  "}')).toEqual(['a  ', 'b  ']);
    expect(decode(1028, '{1}')).toEqual([1]);
  });

  it('text arrays: quoting, escapes, the string "NULL" and empty strings survive', () => {
    expect(decode(1009, '{a,"",NULL,"NULL","x,y","q\\"b","b\\\\c"," s ","{}"}')).toEqual([
      'a',
      '',
      null,
      'NULL',
      'x,y',
      'q"b',
      'b\\c',
      ' s ',
      '{}',
    ]);
    expect(decode(1009, '{"line\nbreak","tab\t",ä," "}')).toEqual(['line\nbreak', 'tab\t', 'ä', ' ']);
  });

  it('multi-dimensional, empty and lower-bound arrays', () => {
    expect(decode(1007, '{{1,2},{3,4}}')).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(decode(1022, '{{1.5,2},{3,NULL}}')).toEqual([
      [1.5, 2],
      [3, null],
    ]);
    expect(decode(1009, '{{{a}}}')).toEqual([[['a']]]);
    expect(decode(1007, '{{NULL}}')).toEqual([[null]]);
    expect(decode(1007, '{}')).toEqual([]);
    expect(decode(1007, '[0:1]={5,6}')).toEqual([5, 6]);
  });
});

describe('types without a rule', () => {
  it('decode to their text', () => {
    expect(decode(600, '(1,2)')).toBe('(1,2)');
    expect(decode(790, '$1.00')).toBe('$1.00');
    expect(decode(16388, 'happy')).toBe('happy');
    expect(decode(1020, '{(1,1),(0,0);(2,2),(1,1)}')).toBe('{(1,1),(0,0);(2,2),(1,1)}');
  });
});

describe('columnTypeName', () => {
  it('names scalar types the Redshift way', () => {
    expect(typeName(PG_OID.int2)).toBe('SMALLINT');
    expect(typeName(PG_OID.int4)).toBe('INTEGER');
    expect(typeName(PG_OID.int8)).toBe('BIGINT');
    expect(typeName(PG_OID.float4)).toBe('REAL');
    expect(typeName(PG_OID.float8)).toBe('DOUBLE PRECISION');
    expect(typeName(PG_OID.bool)).toBe('BOOLEAN');
    expect(typeName(PG_OID.text)).toBe('VARCHAR');
    expect(typeName(PG_OID.name)).toBe('NAME');
    expect(typeName(PG_OID.uuid)).toBe('UUID');
    expect(typeName(PG_OID.date)).toBe('DATE');
    expect(typeName(PG_OID.time, 2)).toBe('TIME');
    expect(typeName(PG_OID.timetz, 1)).toBe('TIMETZ');
    expect(typeName(PG_OID.timestamp, 3)).toBe('TIMESTAMP');
    expect(typeName(PG_OID.timestamptz, 0)).toBe('TIMESTAMPTZ');
    expect(typeName(PG_OID.interval, 2147418113)).toBe('INTERVAL');
    expect(typeName(PG_OID.json)).toBe('SUPER');
    expect(typeName(PG_OID.jsonb)).toBe('SUPER');
    expect(typeName(PG_OID.bytea)).toBe('VARBYTE');
    expect(typeName(PG_OID.oid)).toBe('OID');
    expect(typeName(PG_OID.char)).toBe('CHAR(1)');
  });

  it('reads precision, scale and length from the type modifier', () => {
    expect(typeName(PG_OID.numeric)).toBe('DECIMAL');
    expect(typeName(PG_OID.numeric, 655366)).toBe('DECIMAL(10,2)');
    expect(typeName(PG_OID.numeric, 2490374)).toBe('DECIMAL(38,2)');
    expect(typeName(PG_OID.numeric, 327684)).toBe('DECIMAL(5,0)');
    expect(typeName(PG_OID.numeric, 65536004)).toBe('DECIMAL(1000,0)');
    expect(typeName(PG_OID.numeric, 198658)).toBe('DECIMAL(3,-2)');
    expect(typeName(PG_OID.varchar, 14)).toBe('VARCHAR(10)');
    expect(typeName(PG_OID.varchar)).toBe('VARCHAR');
    expect(typeName(PG_OID.bpchar, 9)).toBe('CHAR(5)');
    expect(typeName(PG_OID.bpchar)).toBe('BPCHAR');
  });

  it('names arrays after their element, with the element typmod', () => {
    expect(typeName(1007)).toBe('INTEGER[]');
    expect(typeName(1009)).toBe('VARCHAR[]');
    expect(typeName(1015, 7)).toBe('VARCHAR(3)[]');
    expect(typeName(1014, 7)).toBe('CHAR(3)[]');
    expect(typeName(1231, 393222)).toBe('DECIMAL(6,2)[]');
    expect(typeName(1185)).toBe('TIMESTAMPTZ[]');
    expect(typeName(3807)).toBe('SUPER[]');
    expect(typeName(1001)).toBe('VARBYTE[]');
  });

  it('other built-ins get their upper-case name; anything else is UNKNOWN', () => {
    expect(typeName(869)).toBe('INET');
    expect(typeName(1560, 3)).toBe('BIT');
    expect(typeName(3904)).toBe('INT4RANGE');
    expect(typeName(16388)).toBe('UNKNOWN');
    expect(typeName(1020)).toBe('UNKNOWN');
  });
});
