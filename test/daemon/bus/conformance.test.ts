// The introspection XML (data/dbus) and the handler tables name the same
// members with the same signatures, every member carries the DocString the
// man page is made from, and a drift either way is caught and named.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { assertConforms, conformance } from '../../../src/daemon/bus/conformance.js';
import { contractDir, loadInterface, parseInterface } from '../../../src/daemon/bus/contract.js';
import { domainInterface } from '../../../src/daemon/bus/domain-object.js';
import { imageInterface } from '../../../src/daemon/bus/image-object.js';
import { jobInterface } from '../../../src/daemon/bus/job-object.js';
import { managerInterface } from '../../../src/daemon/bus/manager-object.js';

const MANAGER = 'org.domud.Domud1.Manager';
const DOMAIN = 'org.domud.Domud1.Domain';
const IMAGE = 'org.domud.Domud1.Image';
const JOB = 'org.domud.Domud1.Job';
const text = (name: string) => readFileSync(join(contractDir(), `${name}.xml`), 'utf8');

t.test('the handler tables conform to the checked-in XML', async (t) => {
  t.same(conformance(managerInterface(await loadInterface(MANAGER))), []);
  t.same(conformance(domainInterface(await loadInterface(DOMAIN))), []);
  t.same(conformance(imageInterface(await loadInterface(IMAGE))), []);
  t.same(conformance(jobInterface(await loadInterface(JOB))), []);
});

t.test('every interface and member of the XML has a DocString', async (t) => {
  for (const name of [MANAGER, DOMAIN, IMAGE, JOB]) {
    const xml = text(name);
    const members = [...xml.matchAll(/<(method|property|signal) name="(\w+)"[^>]*?(\/?)>/g)];
    t.ok(members.length > 0, `${name} has members`);
    for (const [, kind, member, selfClosing] of members) {
      t.equal(selfClosing, '', `${kind} ${member} is not empty`);
      const body = xml.slice(xml.indexOf(`<${kind} name="${member}"`), xml.indexOf(`</${kind}>`, xml.indexOf(`<${kind} name="${member}"`)));
      t.match(body, /<annotation name="org\.gtk\.GDBus\.DocString" value="[^"]{10,}"\/>/, `${name}.${member} has a DocString`);
    }
    t.match(xml, /<annotation name="org\.gtk\.GDBus\.DocString" value="[^"]+"\/>\n <\/interface>/, `${name} itself has one`);
  }
});

t.test('a drift between the XML and the handlers is named, member by member', async (t) => {
  const edited = (from: string, to: string) => {
    const xml = text(MANAGER);
    t.ok(xml.includes(from), `the XML has ${from}`);
    return parseInterface(MANAGER, xml.replace(from, to));
  };
  // A method the handlers lack, under a name only the XML knows.
  const renamed = managerInterface(await edited('<method name="CheckHost">', '<method name="CheckHosts">'));
  t.same(conformance(renamed), [
    `method ${MANAGER}.CheckHosts is in the XML but has no handler`,
    `method ${MANAGER}.CheckHost has a handler but is not in the XML`,
  ]);
  t.throws(() => assertConforms(renamed), /contract and domud's handlers disagree:\n {2}method .*CheckHosts/);
  // A signature that changed on one side only.
  const retyped = managerInterface(await edited('<arg name="name" type="s" direction="in"/>\n   <annotation name="org.gtk.GDBus.DocString" value="Starts', '<arg name="name" type="u" direction="in"/>\n   <annotation name="org.gtk.GDBus.DocString" value="Starts'));
  t.same(conformance(retyped), [`method ${MANAGER}.StartDomain is (u) → () in the XML but (s) → () in its handler table`]);
  const property = managerInterface(await edited('<property name="LeasesTotal" type="u"', '<property name="LeasesTotal" type="t"'));
  t.same(conformance(property), [`property ${MANAGER}.LeasesTotal is (t) in the XML but (u) in its handler table`]);
  const signal = managerInterface(await edited('<signal name="LeaseReleased">', '<signal name="LeaseFreed">'));
  t.same(conformance(signal), [`signal ${MANAGER}.LeaseFreed is in the XML but has no handler`, `signal ${MANAGER}.LeaseReleased has a handler but is not in the XML`]);
});

t.test('the man page covers every interface of the contract', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { PACKAGE_ROOT } = await import('../../../src/dev/sandbox.js');
  const out = join(t.testdir(), 'org.domud.Domud1.5');
  execFileSync(process.execPath, [join(PACKAGE_ROOT, 'scripts', 'dbus-man.mjs'), out]);
  const page = readFileSync(out, 'utf8');
  for (const title of ['THE MANAGER OBJECT', 'DOMAIN OBJECTS', 'IMAGE OBJECTS', 'JOB OBJECTS']) t.match(page, `.SH "${title}"`);
  for (const member of ['CreateImage', 'ListImages', 'RemoveImage', 'ImageNew', 'Cancel', 'Completed', 'StartedByUID', 'ExpectedEndTime']) t.match(page, `.B ${member}`);
  t.match(page, 'interface org.domud.Domud1.Job {');
});
