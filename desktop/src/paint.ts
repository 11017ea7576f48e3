// Work that waits until a widget's next frame has been painted.
import type Gtk from 'gi://Gtk?version=4.0';

/** Runs `then` once the next frame that shows `widget` is painted; at once when it has no frame clock (not shown). */
export function afterNextPaint(widget: Gtk.Widget, then: () => void): void {
  const clock = widget.get_frame_clock();
  if (!clock) return then();
  const id = clock.connect('after-paint', () => {
    clock.disconnect(id);
    then();
  });
  widget.queue_draw();
}
