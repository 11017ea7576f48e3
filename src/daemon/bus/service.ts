// What the bus objects need from the daemon: the model, the authorizer, and
// the few facts about the host that are not the model's. It is a file of its
// own so that the interface objects (manager-object.ts, domain-object.ts)
// and publish.ts, which puts them on the bus, all depend on it and not on
// each other.
import type { Authorizer } from './authz.js';
import type { Check } from '../../host/index.js';
import type { Images } from '../model/images.js';
import type { Jobs } from '../model/jobs.js';
import type { DomainManager } from '../model/manager.js';

export interface Service {
  readonly model: DomainManager;
  readonly images: Images;
  readonly jobs: Jobs;
  readonly authz: Authorizer;
  readonly toolstack: string; // 'xm' or 'xl'
  readonly version: string;
  forwarding(): Promise<boolean>;
  checkHost(): Promise<readonly Check[]>;
}
