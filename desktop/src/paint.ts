// Work that waits until a widget's next frame has been painted.
import GLib from 'gi://GLib';
import type Gtk from 'gi://Gtk?version=4.0';

/**
 * Runs `then` once the next frame that shows `widget` is painted: at once
 * when it has no frame clock (not shown), and after `atMostMs` when given
 * and no frame came by then (a minimized window may paint none).
 */
export function afterNextPaint(widget: Gtk.Widget, then: () => void, atMostMs?: number): void {
  const clock = widget.get_frame_clock();
  if (!clock) return then();
  let timer = 0;
  const id = clock.connect('after-paint', () => {
    clock.disconnect(id);
    if (timer) GLib.source_remove(timer);
    then();
  });
  if (atMostMs !== undefined) {
    timer = GLib.timeout_add(GLib.PRIORITY_DEFAULT, atMostMs, () => {
      timer = 0;
      clock.disconnect(id);
      then();
      return GLib.SOURCE_REMOVE;
    });
  }
  widget.queue_draw();
}
