export declare const CACHE: string;
export declare function buildOptions(suite: string, dir: string): { dir: string; name: string; suite: string; size: number; cacheDir: string };
export declare function builderKey(suite: string): string;
export declare function builtImage(suite: string): { path: string; kernel: string } | null;
export declare function publish(suite: string, image: string, kernel: string): { path: string; kernel: string };
