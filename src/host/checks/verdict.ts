import type { Check, CheckId } from '../types.js';

export const ok = (id: CheckId, message: string): Check => ({ id, status: 'ok', message });
export const warning = (id: CheckId, message: string): Check => ({ id, status: 'warning', message });
export const error = (id: CheckId, message: string): Check => ({ id, status: 'error', message });

export const list = (names: readonly string[]): string => names.join(', ');
