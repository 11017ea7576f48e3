#!/usr/bin/python3
# Drives a GTK window through AT-SPI, the accessibility bus that GNOME's own
# UI tests use: it starts the program after "--", then answers one JSON
# command per line on stdin with one JSON line on stdout. The tests (the
# TypeScript side) decide what to check; this only finds, reads and clicks.
#
#   atspi-driver.py APP-NAME -- PROGRAM ARGS...
#
# Commands: {"op": "wait", "text": T[, "timeout": s]} until a showing node is
# named T; {"op": "gone", "text": T} until none is; {"op": "click", "name": N}
# a button; {"op": "type", "field": F, "text": T} into the text field F;
# {"op": "select", "text": T} the list row that holds T; {"op": "tab", "name":
# N} a view switcher's page; {"op": "texts"} every
# showing node's name; {"op": "progress"} every progress bar's value;
# {"op": "shot", "path": P} a PNG of the screen.
import json
import os
import signal
import subprocess
import sys
import time

import gi
gi.require_version('Atspi', '2.0')
from gi.repository import Atspi  # noqa: E402

app_name = sys.argv[1]
argv = sys.argv[sys.argv.index('--') + 1:]
app = subprocess.Popen(argv, stdin=subprocess.DEVNULL)


def reply(**kw):
    sys.stdout.write(json.dumps(kw) + '\n')
    sys.stdout.flush()


def application():
    desk = Atspi.get_desktop(0)
    for i in range(desk.get_child_count()):
        a = desk.get_child_at_index(i)
        if a is not None and a.get_process_id() == app.pid:
            return a
    return None


def visible(n):
    # GTK 4.8 marks only the toplevels SHOWING; VISIBLE is the widget's own
    # visibility, so hidden labels and groups are left out. (The window keeps
    # one page at a time in its tree, so other pages are never walked.)
    try:
        return n.get_state_set().contains(Atspi.StateType.VISIBLE)
    except Exception:
        return False


def walk(n, depth=0):
    # Hidden subtrees (other stack pages, closed dialogs) are skipped whole.
    if n is None or depth > 60 or (depth > 1 and not visible(n)):
        return
    yield n
    try:
        count = n.get_child_count()
    except Exception:
        return
    for i in range(count):
        try:
            c = n.get_child_at_index(i)
        except Exception:
            continue
        yield from walk(c, depth + 1)


def nodes(scope=None):
    a = application()
    if not a:
        return []
    if scope is None:
        return list(walk(a))
    # A list named `scope` (the guests list): walking only it keeps a wait
    # short, so that what it measures is the window, not the tree walk.
    for n in walk(a):
        if role(n) == 'list' and name(n) == scope:
            return list(walk(n, 2))
    return []


def name(n):
    try:
        return n.get_name() or ''
    except Exception:
        return ''


def role(n):
    try:
        return n.get_role_name() or ''
    except Exception:
        return ''


def until(test, timeout):
    start = time.monotonic()
    while True:
        r = test()
        if r:
            return r, time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None, time.monotonic() - start
        time.sleep(0.02)


# Radio and check buttons too: the New guest dialog's image rows are radios.
BUTTONS = ('push button', 'button', 'toggle button', 'radio button', 'check box')


def find_button(label):
    for n in nodes():
        # libadwaita 1.2's message dialog names its buttons twice ("Cancel Cancel").
        if role(n) in BUTTONS and name(n) in (label, f'{label} {label}'):
            return n
    return None


def find_field(label):
    for n in nodes():
        if role(n) in ('text', 'entry', 'password text') and name(n) == label:
            return n
    return None


def find_row(text, scope=None):
    for n in (nodes(scope) if scope else nodes()):
        if role(n) == 'list item' and any(name(c) == text for c in walk(n, 2)):
            return n
    return None


def do(cmd):
    op = cmd['op']
    timeout = cmd.get('timeout', 10)
    scope = cmd.get('scope')
    if op == 'wait':
        # "text" is matched whole; "prefix" matches the start, and the reply
        # carries the whole text found.
        def found():
            for n in nodes(scope):
                t = name(n)
                if t == cmd.get('text') or ('prefix' in cmd and t.startswith(cmd['prefix'])):
                    return t
            return None
        r, t = until(found, timeout)
        return dict(ok=bool(r), ms=round(t * 1000, 1), text=r)
    if op == 'gone':
        r, t = until(lambda: not any(name(n) == cmd['text'] for n in nodes(scope)), timeout)
        return dict(ok=bool(r), ms=round(t * 1000, 1))
    if op == 'texts':
        return dict(ok=True, texts=[name(n) for n in nodes(scope) if name(n)])
    if op == 'tree':
        return dict(ok=True, tree=[f'{role(n)}: {name(n)}' for n in nodes()])
    if op == 'click':
        b, _ = until(lambda: find_button(cmd['name']), timeout)
        if not b:
            return dict(ok=False, error=f'no button {cmd["name"]!r}')
        try:
            if not b.get_state_set().contains(Atspi.StateType.SENSITIVE):
                return dict(ok=False, error=f'button {cmd["name"]!r} is insensitive')
        except Exception:
            pass
        b.do_action(0)
        return dict(ok=True)
    if op == 'type':
        f, _ = until(lambda: find_field(cmd['field']), timeout)
        if not f:
            return dict(ok=False, error=f'no field {cmd["field"]!r}')
        # GTK 4.8 takes no focus requests over AT-SPI, but its text fields
        # are EditableText: set the contents as a screen reader would.
        f.set_text_contents(cmd['text'])
        return dict(ok=True)
    if op == 'select':
        r, _ = until(lambda: find_row(cmd['text'], scope), timeout)
        if not r:
            return dict(ok=False, error=f'no row holds {cmd["text"]!r}')
        r.get_parent().select_child(r.get_index_in_parent())
        return dict(ok=True)
    if op == 'tab':
        # A view switcher's page tab, chosen through its list's Selection.
        errors = []
        for n in nodes():
            if role(n) == 'page tab' and name(n) == cmd['name']:
                try:
                    n.do_action(0)
                    return dict(ok=True)
                except Exception as e:
                    errors.append(f'action: {e}')
                try:
                    n.get_parent().select_child(n.get_index_in_parent())
                    return dict(ok=True)
                except Exception as e:
                    errors.append(f'select: {e}')
        return dict(ok=False, error=f'no page tab {cmd["name"]!r} took it: {errors}')
    if op == 'progress':
        # Every showing progress bar's value (0 to 1), through Atspi.Value.
        values = []
        for n in nodes():
            if role(n) == 'progress bar':
                try:
                    values.append(n.get_value_iface().get_current_value())
                except Exception:
                    try:
                        values.append(n.get_current_value())
                    except Exception as e:
                        return dict(ok=False, error=f'no value: {e}')
        return dict(ok=True, values=values)
    if op == 'shot':
        subprocess.run(['import', '-window', 'root', cmd['path']], check=True)
        return dict(ok=True)
    if op == 'pid':
        return dict(ok=True, pid=app.pid)
    return dict(ok=False, error=f'unknown op {op!r}')


def main():
    # The window is there once its application is on the AT-SPI desktop.
    a, t = until(application, 30)
    reply(ok=bool(a), ready=True, ms=round(t * 1000, 1), pid=app.pid)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            reply(**do(json.loads(line)))
        except Exception as e:  # a test reads the error rather than a dead pipe
            reply(ok=False, error=f'{type(e).__name__}: {e}')
        if app.poll() is not None:
            reply(ok=False, error=f'the window exited with status {app.returncode}')
            break


try:
    main()
finally:
    if app.poll() is None:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(5)
        except subprocess.TimeoutExpired:
            app.kill()
