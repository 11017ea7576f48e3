import t from 'tap';
import { IniSyntaxError, parseIni } from '../../src/daemon/ini.js';

t.test('sections, keys, comments and line numbers', async (t) => {
  const { sections, entries: e } = parseIni('# top\n[Network]\nRange = 10.0.0.0/24\n\n; note\n[Daemon]\r\nGroup=xen#admins\n[Empty]\n');
  t.same(sections, [
    { name: 'Network', line: 2 },
    { name: 'Daemon', line: 6 },
    { name: 'Empty', line: 8 },
  ]);
  t.same(e, [
    { section: 'Network', key: 'Range', value: '10.0.0.0/24', line: 3 },
    { section: 'Daemon', key: 'Group', value: 'xen#admins', line: 7 },
  ]);
});

t.test('a value keeps # and ; since there are no end-of-line comments', async (t) => {
  t.equal(parseIni('[D]\nExtra=a;b # c\n').entries[0]!.value, 'a;b # c');
  t.equal(parseIni('[D]\nEmpty=\n').entries[0]!.value, '');
});

t.test('syntax errors name the line', async (t) => {
  const cases: Array<[string, number, RegExp]> = [
    ['Range=1\n', 1, /outside any \[Section\]/],
    ['[A]\nnot an assignment\n', 2, /expected/],
    ['[A]\nK=1\nK=2\n', 3, /set twice/],
    ['[A]\n[B c]\n', 2, /expected/],
  ];
  for (const [text, line, re] of cases) {
    const err = t.throws(() => parseIni(text)) as unknown as IniSyntaxError;
    t.ok(err instanceof IniSyntaxError);
    t.equal(err.line, line, text);
    t.match(err.message, re);
  }
});
