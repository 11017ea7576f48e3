// A small polkit authority for the test bus: it owns org.freedesktop.PolicyKit1
// and answers CheckAuthorization as the test says, recording every question,
// so that domud's polkit path is exercised over a real bus without polkitd.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dbus from 'dbus-next';
import { servicePolicy } from '../../src/dev/bus-config.js';

const { Message } = dbus;

export type Answer = 'yes' | 'challenge' | 'no' | 'error';

export interface Question {
  subject: [string, Record<string, dbus.Variant>];
  action: string;
  details: Record<string, string>;
  flags: number;
}

/** The bus policy that lets root own the authority's name and anyone ask it. */
export function polkitPolicy(dir: string): string {
  const f = join(dir, 'polkit-test.conf');
  writeFileSync(f, servicePolicy('org.freedesktop.PolicyKit1'));
  return f;
}

export class TestAuthority {
  answer: Answer = 'no';
  readonly questions: Question[] = [];
  private constructor(private readonly bus: dbus.MessageBus) {}

  static async start(address: string): Promise<TestAuthority> {
    const bus = dbus.sessionBus({ busAddress: address });
    const a = new TestAuthority(bus);
    bus.addMethodHandler((msg: dbus.Message) => {
      if (msg.interface !== 'org.freedesktop.PolicyKit1.Authority' || msg.member !== 'CheckAuthorization') return false;
      const [subject, action, details, flags] = msg.body as [Question['subject'], string, Record<string, string>, number];
      a.questions.push({ subject, action, details, flags });
      if (a.answer === 'error') {
        bus.send(Message.newError(msg as unknown as string, 'org.freedesktop.PolicyKit1.Error.Failed', 'test authority refuses to answer'));
      } else {
        const interactiveYes = a.answer === 'challenge' && (flags & 1) === 1;
        const result = [a.answer === 'yes' || interactiveYes, a.answer === 'challenge' && !interactiveYes, {}];
        bus.send(Message.newMethodReturn(msg, '(bba{ss})', [result]));
      }
      return true;
    });
    await bus.requestName('org.freedesktop.PolicyKit1', dbus.NameFlag.DO_NOT_QUEUE);
    return a;
  }

  stop(): void {
    this.bus.disconnect();
  }
}
