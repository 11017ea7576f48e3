// org.domud.Domud1.Image: one object per known image. Remove() is the one
// place where removing an image is authorized and handed to the model; the
// manager's RemoveImage looks the image up and calls it, as StartDomain
// calls a Domain's Start(). Properties are read from the model's record.
import type { InterfaceImpl } from './dispatch.js';
import type { InterfaceSpec } from './contract.js';
import type { Service } from './service.js';
import type { Image } from '../model/images.js';

export interface ImageTarget {
  readonly service: Service;
  readonly image: Image;
}

/** The image `name` as an Image object's target: InvalidName or NoSuchImage if there is none. */
export function imageTarget(service: Service, name: string): ImageTarget {
  return { service, image: service.images.get(name) };
}

export const imageMethods = {
  Remove: {
    in: '',
    out: '',
    async call({ service: s, image: i }, ctx) {
      await s.authz.check(ctx, { verb: 'remove-image', image: i.name });
      s.images.remove(i.name);
      return [];
    },
  },
} satisfies InterfaceImpl<ImageTarget>['methods'];

export function imageInterface(spec: InterfaceSpec): InterfaceImpl<ImageTarget> {
  // The record may have changed since the object was resolved: read the current one.
  const now = (t: ImageTarget) => t.service.images.find(t.image.name) ?? t.image;
  return {
    spec,
    methods: imageMethods,
    properties: {
      Name: { type: 's', get: (t) => t.image.name },
      Suite: { type: 's', get: (t) => now(t).suite },
      State: { type: 's', get: (t) => now(t).state },
      Size: { type: 't', get: (t) => BigInt(now(t).size) },
      CreatedAt: { type: 't', get: (t) => BigInt(now(t).createdAt) },
      Path: { type: 's', get: (t) => now(t).path },
    },
    signals: {},
  };
}
