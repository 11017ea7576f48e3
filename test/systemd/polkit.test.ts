// The polkit action file: well-formed, valid against polkit's DTD (shipped
// by Debian's polkitd), and saying what the API contract and issue ask for.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEMD_DIR } from './install.js';

const POLICY = join(SYSTEMD_DIR, 'org.domud.domud1.policy');
const DTD = '/usr/share/polkit-1/policyconfig-1.dtd';
const ACTION = 'org.domud.domud1.manage-domains';

function xmllint(args: readonly string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('xmllint', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    return { ok: false, out: String((e as { stderr: string }).stderr) };
  }
}

const xpath = (expr: string): string => xmllint(['--xpath', expr, POLICY]).out.trim();
// polkit(8): the values a <defaults> element may hold (the DTD allows any text).
const RESULTS = ['no', 'yes', 'auth_self', 'auth_admin', 'auth_self_keep', 'auth_admin_keep'];

t.test('well-formed and valid against polkit DTD', async (t) => {
  t.same(xmllint(['--noout', POLICY]), { ok: true, out: '' }, 'xmllint --noout');
  t.same(xmllint(['--noout', '--dtdvalid', DTD, POLICY]), { ok: true, out: '' }, `valid against ${DTD}`);
  t.match(readFileSync(POLICY, 'utf8'), '<!DOCTYPE policyconfig PUBLIC "-//freedesktop//DTD PolicyKit Policy Configuration 1.0//EN"');
});

t.test('the checks can fail', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'domud-polkit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broken = join(dir, 'broken.policy');
  writeFileSync(broken, readFileSync(POLICY, 'utf8').replace('</defaults>', ''));
  t.equal(xmllint(['--noout', broken]).ok, false, 'a missing end tag is caught');
  const invalid = join(dir, 'invalid.policy');
  writeFileSync(invalid, readFileSync(POLICY, 'utf8').replace('<allow_any>', '<allow_always>yes</allow_always><allow_any>'));
  t.equal(xmllint(['--noout', '--dtdvalid', DTD, invalid]).ok, false, 'an element outside the DTD is caught');
});

t.test('one action, the contract one, with auth_admin_keep for active local users', async (t) => {
  t.equal(xpath('count(/policyconfig/action)'), '1');
  t.equal(xpath('string(/policyconfig/action/@id)'), ACTION);
  const d = `/policyconfig/action[@id="${ACTION}"]/defaults`;
  const values = {
      any: xpath(`string(${d}/allow_any)`),
      inactive: xpath(`string(${d}/allow_inactive)`),
      active: xpath(`string(${d}/allow_active)`),
  };
  t.same(values, { any: 'auth_admin', inactive: 'auth_admin', active: 'auth_admin_keep' });
  for (const v of Object.values(values)) t.ok(RESULTS.includes(v), `${v} is a polkit result`);
  t.match(xpath(`string(/policyconfig/action[@id="${ACTION}"]/description)`), /\S/, 'has a description');
  t.match(xpath(`string(/policyconfig/action[@id="${ACTION}"]/message)`), /^Authentication is required/, 'has a message');
});
