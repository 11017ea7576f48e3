// With DOMUD_DESKTOP_TRACE=1 the window says on standard error when it has
// painted what a benchmark waits for (bench/desktop.ts): the list from its
// first look, then with every property once the objects came, and each
// guest that another client added. Off, it costs one environment lookup.
import GLib from 'gi://GLib';
import type Gtk from 'gi://Gtk?version=4.0';
import { afterNextPaint } from './paint.js';

const ON = GLib.getenv('DOMUD_DESKTOP_TRACE') === '1';
const T0 = GLib.get_monotonic_time();

/** Says that a step of start-up is done, with the milliseconds since the modules loaded. */
export function mark(what: string): void {
  if (ON) printerr(`domud-desktop: ${what} at ${Math.round((GLib.get_monotonic_time() - T0) / 1000)} ms`);
}

/** Writes `what()` once the next frame that shows the widget has been painted. */
export function markPainted(widget: Gtk.Widget, what: () => string): void {
  if (ON && widget.get_frame_clock()) afterNextPaint(widget, () => printerr(`domud-desktop: ${what()}`));
}
