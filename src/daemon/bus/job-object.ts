// org.domud.Domud1.Job: one object per running job (udisks2's Job). Cancel()
// is allowed to the caller who started the job (the bus's uid for the
// caller against StartedByUID) and to anyone who may change domains.
import type { InterfaceImpl } from './dispatch.js';
import type { InterfaceSpec } from './contract.js';
import { imagePath } from './paths.js';
import type { Service } from './service.js';
import type { Job, JobObject } from '../model/jobs.js';

export interface JobTarget {
  readonly service: Service;
  readonly job: Job;
}

export function objectPath(o: JobObject): string {
  return imagePath(o.name);
}

export function jobInterface(spec: InterfaceSpec): InterfaceImpl<JobTarget> {
  return {
    spec,
    methods: {
      Cancel: {
        in: '',
        out: '',
        async call({ service: s, job }, ctx) {
          if ((await s.authz.uid(ctx)) !== job.startedByUid) await s.authz.check(ctx, { verb: 'cancel-job', operation: job.operation });
          job.cancel();
          return [];
        },
      },
    },
    properties: {
      Operation: { type: 's', get: (t) => t.job.operation },
      Objects: { type: 'ao', get: (t) => t.job.objects.map(objectPath) },
      Progress: { type: 'd', get: (t) => t.job.progress },
      ProgressValid: { type: 'b', get: (t) => t.job.progressValid },
      StartedAt: { type: 't', get: (t) => BigInt(t.job.startedAt) },
      ExpectedEndTime: { type: 't', get: (t) => BigInt(t.job.expectedEndTime) },
      Cancelable: { type: 'b', get: (t) => t.job.cancelable },
      StartedByUID: { type: 'u', get: (t) => t.job.startedByUid },
    },
    signals: { Completed: 'bs' },
  };
}
