import t from 'tap';
import { domainPath, labelEscape, labelUnescape } from '../../../src/daemon/bus/paths.js';

t.test('label escaping as systemd bus_label_escape', async (t) => {
  const cases: Array<[string, string]> = [
    ['web1', 'web1'],
    ['web-1', 'web_2d1'],
    ['1db', '_31db'],
    ['db_01', 'db_5f01'],
    ['a.b', 'a_2eb'],
    ['', '_'],
    ['é', '_c3_a9'],
  ];
  for (const [name, label] of cases) {
    t.equal(labelEscape(name), label, name);
    t.equal(labelUnescape(label), name, label);
  }
  t.equal(domainPath('web-1'), '/org/domud/Domud1/domain/web_2d1');
});

t.test('labels no escape produces are refused', async (t) => {
  for (const bad of ['_zz', '_2', 'a-b', '_61bc', '1db', 'a_2Eb']) t.equal(labelUnescape(bad), null, bad);
});
