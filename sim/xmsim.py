# xm-sim: a stand-in for the Xen toolstack (xm of Xen 4.1 or 3.0.3, or xl),
# for machines without a hypervisor. It answers list, info, create, shutdown,
# destroy, domid, domname and network-list with the real tools' output
# formats, error texts and exit statuses, keeps its domains in a state
# directory, and fails, hangs, dawdles or prints garbage on request.
# docs/simulator.md describes the environment and the control commands.
# bin/xm-sim runs it: imported, not run as a script, so that Python keeps its
# bytecode instead of compiling these 900 lines at every call (9 ms of each).
import fcntl
import marshal
import os
import sys
import time

STATE_DIR = os.environ.get('XMSIM_STATE', '')
ARGV0 = os.path.basename(sys.argv[0])


def pick_flavour():
    f = os.environ.get('XMSIM_FLAVOR', '')
    if f == '':
        f = 'xl' if ARGV0.startswith('xl') else 'xm'
    if f not in ('xm', 'xl'):
        sys.stderr.write('xm-sim: XMSIM_FLAVOR must be xm or xl, not %r\n' % f)
        sys.exit(2)
    return f


FLAVOUR = pick_flavour()
XM_VERSION = os.environ.get('XMSIM_XM_VERSION', '4.1')
if XM_VERSION not in ('4.1', '3.0.3'):
    sys.stderr.write('xm-sim: XMSIM_XM_VERSION must be 4.1 or 3.0.3\n')
    sys.exit(2)
OLD_XM = FLAVOUR == 'xm' and XM_VERSION == '3.0.3'
# xl's flags for a guest that has shut down (poweroff) and is not yet destroyed.
SHUT_DOWN = '---s--'
DOM0 = {'name': 'Domain-0', 'domid': 0, 'memory': 1024, 'vcpus': 2, 'flags': 'r-----', 'created': 0.0}


class Exit(Exception):
    """Ends the command: text for stderr/stdout and an exit status."""

    def __init__(self, status, err='', out=''):
        Exception.__init__(self, err)
        self.status, self.err, self.out = status, err, out


# ---------------------------------------------------------------- state

class State:
    """The state file, read and written under an exclusive flock.

    In marshal's format rather than JSON: importing json (and the re module
    it pulls in) took a third of each call's time, and xl itself answers in
    a few milliseconds. `xm-sim state` prints it as JSON.
    """

    def __init__(self):
        self.path = os.path.join(STATE_DIR, 'state')
        self.fd = os.open(os.path.join(STATE_DIR, 'lock'), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            with open(self.path, 'rb') as f:
                self.data = marshal.load(f)
        except FileNotFoundError:
            self.data = {'next_id': 1, 'domains': [], 'faults': {}, 'shutdown_delay_ms': None}
        self.dirty = False
        self.reap()

    def close(self):
        if self.dirty:
            tmp = self.path + '.tmp'
            with open(tmp, 'wb') as f:
                marshal.dump(self.data, f)
            os.rename(tmp, self.path)
        os.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def domains(self):
        return self.data['domains']

    def save(self):
        self.dirty = True

    def reap(self):
        # Domains whose shutdown has finished are gone (on_poweroff=destroy),
        # after lingering, listed as shut down, while Xen tears them down.
        now = time.time()
        for d in list(self.domains):
            if d.get('down_at') is None or d['down_at'] > now:
                continue
            if d.get('gone_at', d['down_at']) <= now:
                self.remove(d)
            elif d['flags'] != SHUT_DOWN:
                d['flags'] = SHUT_DOWN
                self.save()

    def remove(self, d):
        self.domains.remove(d)
        self.save()
        if d.get('vif'):
            vif_del(d['domid'])

    def find(self, ident):
        if ident.isdigit():
            n = int(ident)
            if n == 0:
                return DOM0
            return next((d for d in self.domains if d['domid'] == n), None)
        if ident == 'Domain-0':
            return DOM0
        return next((d for d in self.domains if d['name'] == ident), None)

    def shutdown_delay(self):
        v = self.data.get('shutdown_delay_ms')
        if v is None:
            v = int(os.environ.get('XMSIM_SHUTDOWN_DELAY_MS', '300'))
        return v / 1000.0

    def shutdown_linger(self):
        v = self.data.get('shutdown_linger_ms')
        if v is None:
            v = int(os.environ.get('XMSIM_SHUTDOWN_LINGER_MS', '0'))
        return v / 1000.0


# ---------------------------------------------------------------- vifs (veth pairs)

def run_ip(*args):
    import subprocess
    r = subprocess.run(['ip'] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    return r.returncode == 0


def vifs_wanted():
    return os.environ.get('XMSIM_VIFS', '') == '1'


def vif_add(domid):
    # vif<domid>.0 is the backend end; the peer stands in for the guest's eth0.
    vif, peer = 'vif%d.0' % domid, 'xsim%d.0' % domid
    if not run_ip('link', 'add', vif, 'type', 'veth', 'peer', 'name', peer):
        return False
    run_ip('link', 'set', peer, 'up')
    return True


def vif_del(domid):
    run_ip('link', 'del', 'vif%d.0' % domid)


# ---------------------------------------------------------------- errors as the tools print them

def not_found(ident):
    if FLAVOUR == 'xl':
        if ident.isdigit():
            raise Exit(1, "Error: Domain '%s' does not exist.\n" % ident)
        raise Exit(1, '%s is an invalid domain identifier (rc=-6)\n' % ident)
    if OLD_XM:
        raise Exit(1, "Error: Domain '%s' does not exist.\n" % ident, 'Usage: xm <subcommand> [args]\n')
    raise Exit(3, "Error: Domain '%s' does not exist.\n" % ident)


def usage_error(cmd, n):
    if FLAVOUR == 'xl':
        raise Exit(2, "'xl %s' requires at least %d argument.\n\n" % (cmd, n), 'Usage: xl [-vfNtT] %s\n' % cmd)
    raise Exit(1, "Error: 'xm %s' requires %d argument.\n\n" % (cmd, n), 'Usage: xm %s <Domain>\n' % cmd)


def need_domain(st, ident):
    d = st.find(ident)
    if d is None:
        not_found(ident)
    return d


# ---------------------------------------------------------------- faults

def take_fault(sub):
    """Consumes one use of the fault set for this subcommand, if any."""
    with State() as st:
        faults = st.data['faults']
        f = faults.get(sub)
        if f is None:
            return None
        if f.get('times') is not None:
            f['times'] -= 1
            if f['times'] <= 0:
                del faults[sub]
        st.save()
        return f


# Set by a 'novif' fault: this create succeeds but makes no vif, as when a
# hotplug script fails without the toolstack noticing.
NO_VIF = False


def apply_fault(f):
    global NO_VIF
    kind = f['kind']
    if f.get('novif'):
        NO_VIF = True
    if kind == 'novif':
        NO_VIF = True
        return
    if kind == 'fail':
        raise Exit(f['status'], f['text'] + '\n')
    if kind == 'hang':
        if f.get('ignore_term'):
            import signal
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(3600)
    if kind == 'delay':
        time.sleep(f['ms'] / 1000.0)
        return
    if kind == 'garbage':
        import random
        rnd = random.Random(f.get('seed'))
        lines = []
        for _ in range(rnd.randint(1, 8)):
            lines.append(''.join(chr(rnd.randint(32, 126)) for _ in range(rnd.randint(0, 60))))
        raise Exit(0, '', '\n'.join(lines) + '\n')


# ---------------------------------------------------------------- list

def cpu_time(d):
    return 0.0 if d['domid'] == 0 else round((time.time() - d['created']) * 0.01, 1)


def xl_flags(d):
    return d['flags']


def xm_flags(d):
    # xl's 5th letter is the shutdown reason; xm's is the crashed flag.
    f = d['flags']
    return f[:3] + ('-' if f[4] == 'c' else f[3]) + ('c' if f[4] == 'c' else '-') + f[5]


def cmd_list(st, args):
    long_ = False
    names = []
    for a in args:
        if a in ('-l', '--long'):
            long_ = True
        elif a.startswith('-'):
            raise Exit(1 if FLAVOUR == 'xm' else 2, "Error: option %s not recognized\n" % a)
        else:
            names.append(a)
    doms = [DOM0] + sorted(st.domains, key=lambda d: d['domid'])
    if names:
        doms = [need_domain(st, n) for n in names]
    if long_:
        return list_long(doms)
    out = []
    if FLAVOUR == 'xl':
        out.append('Name                                        ID   Mem VCPUs\tState\tTime(s)')
        for d in doms:
            out.append('%-40s %5d %5d %5d     %s  %8.1f' % (d['name'], d['domid'], d['memory'], d['vcpus'],
                                                          xl_flags(d), cpu_time(d)))
    elif OLD_XM:
        out.append('%-40s %3s %8s %5s %5s %9s' % ('Name', 'ID', 'Mem(MiB)', 'VCPUs', 'State', 'Time(s)'))
        for d in doms:
            out.append('%-40s %3d %8d %5d %5s %8.1f' % (d['name'], d['domid'], d['memory'], d['vcpus'],
                                                      xm_flags(d), cpu_time(d)))
    else:
        out.append('%-40s %5s %5s %5s %10s %9s' % ('Name', 'ID', 'Mem', 'VCPUs', 'State', 'Time(s)'))
        for d in doms:
            out.append('%-40s %5s %5d %5d %10s %8.1f' % (d['name'], str(d['domid']), d['memory'], d['vcpus'],
                                                        xm_flags(d), cpu_time(d)))
    return '\n'.join(out) + '\n'


def sxp(v, indent=0):
    if isinstance(v, list):
        inner = [sxp(x, indent + 4) for x in v]
        if sum(len(s) for s in inner) < 60:
            return '(' + ' '.join(inner) + ')'
        return '(' + inner[0] + ''.join('\n' + ' ' * (indent + 4) + s for s in inner[1:]) + '\n' + ' ' * indent + ')'
    s = str(v)
    ok = s != '' and all(c.isalnum() or c in '.-_:/~' for c in s)
    return s if ok else repr(s)


def xl_cmdline(d):
    # libxl: cmdline = "root=<root> <extra>" when no cmdline is given
    root = d.get('root') or ''
    return ' '.join(x for x in (('root=' + root) if root else '', d.get('args') or '') if x)


def xl_disk(spec):
    if '=' in spec.split(',')[0]:
        # key=value form (xl-disk-configuration.txt); target= is last and takes the rest
        head, _, target = spec.partition('target=')
        kv = dict(i.strip().partition('=')[::2] for i in head.split(',') if i.strip())
        return {'pdev_path': target, 'vdev': kv.get('vdev', ''), 'format': kv.get('format', 'raw'),
                'readwrite': 1 if kv.get('access', 'rw') in ('w', 'rw') else 0}
    items = spec.split(',')
    target = items[0].split(':', 1)[-1]
    return {'pdev_path': target, 'vdev': items[1] if len(items) > 1 else '',
            'readwrite': 1 if len(items) > 2 and items[2].startswith('w') else 0}


def list_long(doms):
    if FLAVOUR == 'xl':
        import json
        arr = []
        for d in doms:
            arr.append({'domid': d['domid'], 'config': {
                'c_info': {'type': 'pv', 'name': d['name']},
                'b_info': {'max_vcpus': d['vcpus'], 'max_memkb': d['memory'] * 1024,
                           'target_memkb': d['memory'] * 1024, 'kernel': d.get('kernel', ''),
                           'cmdline': xl_cmdline(d), 'ramdisk': d.get('ramdisk', ''),
                           'bootloader': d.get('bootloader', '')},
                'disks': [xl_disk(x) for x in d.get('disks', [])],
                'nics': [dict(n, devid=i) for i, n in enumerate(d.get('nics', []))],
                'on_poweroff': 'destroy', 'on_reboot': 'restart', 'on_crash': 'destroy'}})
        return json.dumps(arr, indent=4) + '\n'
    out = []
    for d in doms:
        e = ['domain', ['domid', d['domid']], ['name', d['name']], ['memory', d['memory']],
             ['vcpus', d['vcpus']], ['on_poweroff', 'destroy'], ['on_reboot', 'restart'], ['on_crash', 'restart']]
        if d.get('kernel'):
            img = ['linux', ['kernel', d['kernel']]]
            for k in ('ramdisk', 'root', 'args'):
                if d.get(k):
                    img.append([k, d[k]])
            e.append(['image', img])
        if d.get('bootloader'):
            e.append(['bootloader', d['bootloader']])
        for n in d.get('nics', []):
            e.append(['device', ['vif'] + [[k, v] for k, v in n.items()]])
        e += [['state', xm_flags(d)], ['cpu_time', cpu_time(d)], ['online_vcpus', d['vcpus']]]
        out.append(sxp(e))
    return '\n'.join(out) + '\n'


# ---------------------------------------------------------------- info

def cmd_info(st, args):
    keys = [('host', os.uname().nodename), ('release', os.uname().release), ('version', os.uname().version),
            ('machine', os.uname().machine), ('nr_cpus', '2')]
    if FLAVOUR == 'xl':
        keys += [('max_cpu_id', '1')]
    keys += [('nr_nodes', '1'), ('cores_per_socket', '2'), ('threads_per_core', '1'), ('cpu_mhz', '2400'),
             ('hw_caps', '178bfbff:ebd3fbff:00000000:00000010'), ('virt_caps', ''),
             ('total_memory', '4096'), ('free_memory', str(4096 - 1024 - sum(d['memory'] for d in st.domains)))]
    if FLAVOUR == 'xl':
        keys += [('sharing_freed_memory', '0'), ('sharing_used_memory', '0'), ('outstanding_claims', '0')]
    keys += [('free_cpus', '0'), ('xen_major', '4'), ('xen_minor', '17' if FLAVOUR == 'xl' else '1'),
             ('xen_extra', '.0' if FLAVOUR == 'xl' else '.6.1')]
    if FLAVOUR == 'xl':
        keys += [('xen_version', '4.17.0')]
    keys += [('xen_caps', 'xen-3.0-x86_64 xen-3.0-x86_32p'), ('xen_scheduler', 'credit'), ('xen_pagesize', '4096'),
             ('platform_params', 'virt_start=0xffff800000000000'), ('xen_changeset', ''),
             ('xen_commandline', 'placeholder dom0_mem=1024M'), ('cc_compiler', 'gcc'),
             ('cc_compile_by', 'xm-sim'), ('cc_compile_domain', 'localdomain'), ('cc_compile_date', 'today')]
    if FLAVOUR == 'xl':
        keys += [('build_id', '0')]
    keys += [('xend_config_format', '4')]
    return ''.join('%-23s: %s\n' % kv for kv in keys)


# ---------------------------------------------------------------- config files

XM_OPTIONS = {'name': str, 'memory': int, 'vcpus': int, 'kernel': str, 'ramdisk': str, 'root': str, 'extra': str,
              'bootloader': str}


def read_config_xm(path, extra=()):
    try:
        with open(path) as f:
            src = f.read()
    except OSError:
        raise Exit(1, 'Error: Unable to open config file: %s\n' % path)
    try:
        code = compile(src, path, 'exec')
    except SyntaxError as e:
        raise Exit(1, 'Error: Errors were found at line %s while processing %s:\n\t%s\n' %
                   (e.lineno, path, (e.text or '').rstrip('\n')))
    # xm execfile()s the config as Python (as root); so does its stand-in.
    # key=value arguments are variables for the script, and beat the file
    # when they name an option.
    args = dict(a.split('=', 1) for a in extra)
    locs = dict(args)
    try:
        exec(code, {'__builtins__': __builtins__}, locs)
    except Exception as e:
        raise Exit(1, 'Error: %s\n' % e)
    for k, v in args.items():
        if k in XM_OPTIONS:
            try:
                locs[k] = XM_OPTIONS[k](v)
            except ValueError:
                raise Exit(1, 'Error: Invalid value for option %s: %s\n' % (k, v))
    return locs


class XlSyntax(Exception):
    pass


XL_ESC = {'"': '"', "'": "'", '\\': '\\', 'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t',
          'v': '\v'}


def xl_tokens(src):
    """Tokens of libxlu's lexer: (kind, value, line)."""
    i, line, n = 0, 1, len(src)
    likely_python = False
    out = []
    while i < n:
        c = src[i]
        if c == '\n':
            out.append(('eol', c, line))
            line += 1
            i += 1
        elif c in ' \t\r':
            i += 1
        elif c == '#':
            while i < n and src[i] != '\n':
                i += 1
        elif c == ';':
            out.append(('eol', c, line))
            i += 1
        elif c in '[],':
            out.append((c, c, line))
            i += 1
        elif c == '+' and src[i + 1:i + 2] == '=':
            out.append(('=', '+=', line))
            i += 2
        elif c == '=':
            out.append(('=', '=', line))
            i += 1
        elif 'a' <= c <= 'z':
            j = i + 1
            while j < n and (src[j].isdigit() or 'a' <= src[j] <= 'z' or src[j] in '._'):
                j += 1
            out.append(('id', src[i:j], line))
            i = j
        elif c.isdigit():
            j = i + 1
            while j < n and (src[j].isdigit() or src[j] in 'abcdefx'):
                j += 1
            out.append(('num', src[i:j], line))
            i = j
        elif c in '"\'':
            j, buf = i + 1, []
            while True:
                if j >= n or src[j] == '\n':
                    raise XlSyntax((line, src[i:j], 'unterminated string'))
                ch = src[j]
                if ch == c:
                    break
                if ch == '\\':
                    e = src[j + 1:j + 2]
                    if e in XL_ESC:
                        buf.append(XL_ESC[e])
                        j += 2
                        continue
                    if e == 'x' and all(h in '0123456789abcdefABCDEF' for h in src[j + 2:j + 4]) and \
                            len(src[j + 2:j + 4]) == 2:
                        buf.append(chr(int(src[j + 2:j + 4], 16)))
                        j += 4
                        continue
                    if e and e in '01234567':
                        k = j + 1
                        while k < j + 4 and k < n and src[k] in '01234567':
                            k += 1
                        buf.append(chr(int(src[j + 1:k], 8)))
                        j = k
                        continue
                    raise XlSyntax((line, src[j:j + 2], 'invalid character after backlash in quoted string'))
                buf.append(ch)
                j += 1
            out.append(('str', ''.join(buf), line))
            i = j + 1
        else:
            if c in '+-.():':
                likely_python = True
            raise XlSyntax((line, c, 'syntax error', likely_python))
    out.append(('eol', '', line))
    return out


def xl_parse(src):
    toks = xl_tokens(src)
    cfg, i = {}, 0

    def value(i):
        kind, v, line = toks[i]
        if kind == 'str':
            return v, i + 1
        if kind == 'num':
            try:
                return int(v, 0), i + 1
            except ValueError:
                raise XlSyntax((line, v, 'syntax error'))
        if kind == '[':
            items, i = [], i + 1
            while True:
                while toks[i][0] == 'eol' and toks[i][1] == '\n':
                    i += 1
                if toks[i][0] == ']':
                    return items, i + 1
                v, i = value(i)
                items.append(v)
                while toks[i][0] == 'eol' and toks[i][1] == '\n':
                    i += 1
                if toks[i][0] == ',':
                    i += 1
                elif toks[i][0] != ']':
                    raise XlSyntax((toks[i][2], toks[i][1], 'syntax error'))
        raise XlSyntax((line, v, 'syntax error'))

    while i < len(toks):
        kind, v, line = toks[i]
        if kind == 'eol':
            i += 1
            continue
        if kind != 'id' or toks[i + 1][0] != '=':
            raise XlSyntax((line, v, 'syntax error'))
        name, op = v, toks[i + 1][1]
        val, i = value(i + 2)
        if toks[i][0] != 'eol':
            raise XlSyntax((toks[i][2], toks[i][1], 'syntax error'))
        if op == '+=' and isinstance(cfg.get(name), list):
            cfg[name] = cfg[name] + (val if isinstance(val, list) else [val])
        else:
            cfg[name] = val
    return cfg


def read_config_xl(path, extra=()):
    sys.stderr.write('Parsing config from %s\n' % path)
    try:
        with open(path, encoding='latin-1') as f:
            # xl appends key=value arguments to the file as config lines
            src = f.read() + ''.join('\n' + a for a in extra) + '\n'
    except OSError as e:
        raise Exit(1, 'Failed to read config file: %s: %s\n' % (path, e.strerror))
    try:
        return xl_parse(src)
    except XlSyntax as e:
        line, near, what = e.args[0][:3]
        msg = '%s:%d: config parsing error near `%s\': %s\n' % (path, line, near, what)
        if len(e.args[0]) > 3 and e.args[0][3]:
            msg += ('warning: Config file looks like it contains Python code.\n'
                    'warning:  Arbitrary Python is no longer supported.\n'
                    'warning:  See https://wiki.xen.org/wiki/PythonInXlConfig\n')
        raise Exit(1, msg + 'Failed to parse config: Invalid argument\n')


def config_value(cfg, key, kind, default=None):
    v = cfg.get(key, default)
    if v is not None and not isinstance(v, kind):
        if FLAVOUR == 'xl':
            raise Exit(1, 'Parsing config: "%s" has the wrong type\nFailed to parse config: Invalid argument\n' % key)
        raise Exit(1, "Error: Invalid value for option %s: %r\n" % (key, v))
    return v


# ---------------------------------------------------------------- create

def boot_from_disk(disks):
    # pygrub reads the kernel from the first disk; a missing image fails the
    # way the bootloader's failure surfaces in each tool.
    first = disks[0] if disks and isinstance(disks[0], str) else ''
    path = xl_disk(first)['pdev_path'] if first else ''
    if path and os.path.isfile(path):
        return
    if FLAVOUR == 'xl':
        raise Exit(3, 'libxl: error: libxl_bootloader.c:637:bootloader_finished: bootloader failed - consult logfile '
                      '/var/log/xen/bootloader.1.log\nlibxl: error: libxl_create.c:1790:domcreate_rebuild_done: '
                      'cannot (re-)build domain: -3\n')
    raise Exit(1, "Error: Boot loader didn't return any data!\n")


def cmd_create(st_unused, args):
    paths = [a for a in args if not a.startswith('-') and '=' not in a]
    extra = [a for a in args if not a.startswith('-') and '=' in a]
    quiet = '-q' in args or '--quiet' in args
    if len(paths) != 1:
        usage_error('create', 1)
    path = paths[0]
    if FLAVOUR == 'xl':
        cfg = read_config_xl(path, extra)
    else:
        cfg = read_config_xm(path, extra)
    name = config_value(cfg, 'name', str)
    if not name:
        if FLAVOUR == 'xl':
            raise Exit(1, 'Domain name must be specified.\n')
        raise Exit(1, 'Error: Domain name must be specified.\n')
    if FLAVOUR == 'xm':
        if not all(c.isalnum() and c.isascii() or c in '_-.:/+' for c in name):
            raise Exit(1, 'Error: invalid vm name\n')
    memory = config_value(cfg, 'memory', int, 128)
    vcpus = config_value(cfg, 'vcpus', int, 1)
    kernel = config_value(cfg, 'kernel', str)
    bootloader = config_value(cfg, 'bootloader', str)
    if bootloader and not kernel:
        boot_from_disk(config_value(cfg, 'disk', list, []))
    elif not kernel:
        if FLAVOUR == 'xm':
            raise Exit(1, 'Error: No kernel specified\n')
        raise Exit(1, 'libxl: error: libxl_dom.c:700:libxl__build_pv: no kernel specified\n'
                      'libxl: error: libxl_create.c:1900:domcreate_rebuild_done: cannot (re-)build domain: -3\n')
    disks = config_value(cfg, 'disk', list, [])
    vifs = config_value(cfg, 'vif', list, [])
    nics = []
    for v in vifs:
        if not isinstance(v, str):
            raise Exit(1, 'Error: Invalid vif specification\n')
        nic = {}
        for item in v.split(','):
            k, _, val = item.strip().partition('=')
            nic[k] = val
        nics.append(nic)
    with State() as st:
        other = st.find(name)
        if other is not None:
            if FLAVOUR == 'xl':
                raise Exit(3, 'libxl: error: libxl_domain.c:1003:libxl__domain_make: Domain with name "%s" '
                              'already exists.\nlibxl: error: libxl_create.c:1264:initiate_domain_create: '
                              'cannot make domain: -6\n' % name)
            raise Exit(1, "Error: VM name '%s' already in use by domain %d\n" % (name, other['domid']))
        domid = st.data['next_id']
        st.data['next_id'] = domid + 1
        st.save()
        d = {'name': name, 'domid': domid, 'memory': memory, 'vcpus': vcpus, 'flags': '-b----',
             'created': time.time(), 'down_at': None, 'kernel': kernel, 'ramdisk': cfg.get('ramdisk', ''),
             'root': cfg.get('root', ''), 'args': cfg.get('extra', ''), 'disks': disks, 'nics': nics,
             'vif': False, 'config': os.path.abspath(path), 'bootloader': bootloader or ''}
        if nics and vifs_wanted() and not NO_VIF:
            if not vif_add(domid):
                if FLAVOUR == 'xl':
                    raise Exit(3, 'libxl: error: libxl_device.c:1286:device_hotplug_child_death_cb: script: '
                                  'ip link add vif%d.0 failed\nlibxl: error: libxl_create.c:1901:'
                                  'domcreate_attach_devices: unable to add nic devices\n' % domid)
                raise Exit(1, 'Error: Device 0 (vif) could not be connected. Hotplug scripts not working.\n')
            d['vif'] = True
        st.domains.append(d)
    if FLAVOUR == 'xm' and not quiet:
        return 'Using config file "%s".\nStarted domain %s\n' % (path, name)
    return ''


# ---------------------------------------------------------------- shutdown / destroy

def spawn_reaper(delay):
    # The domain goes away on its own after it has shut down, whether or not
    # anyone asks: a detached child does the bookkeeping (and vif removal).
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid != 0:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        nul = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(nul, fd)
        os.closerange(3, 1024)
        time.sleep(max(0.0, delay) + 0.01)
        State().close()
    finally:
        os._exit(0)


def cmd_shutdown(st_unused, args):
    wait = any(a in ('-w', '--wait') or (a.startswith('-') and not a.startswith('--') and 'w' in a) for a in args)
    idents = [a for a in args if not a.startswith('-')]
    if len(idents) != 1:
        usage_error('shutdown', 1)
    ident = idents[0]
    with State() as st:
        d = need_domain(st, ident)
        if d['domid'] == 0:
            if FLAVOUR == 'xl':
                raise Exit(1, 'shutdown failed (rc=-3)\n')
            raise Exit(1, 'Error: Cannot shutdown privileged domain Domain-0\n')
        name, domid = d['name'], d['domid']
        delay, linger = st.shutdown_delay(), st.shutdown_linger()
        reaper = d.get('down_at') is None
        if reaper:
            d['down_at'] = time.time() + delay
            d['gone_at'] = d['down_at'] + linger
            st.save()
    if reaper:
        spawn_reaper(delay + linger)
    if FLAVOUR == 'xl':
        sys.stderr.write('Shutting down domain %d\n' % domid)
        sys.stderr.flush()
    if not wait:
        return ''
    if FLAVOUR == 'xl':
        sys.stderr.write('Waiting for 1 domains\n')
        sys.stderr.flush()
    # Like xm -w: poll until the domain has shut down (it may stay listed a
    # while longer), with no timeout of its own. Like xm, a numeric id is
    # never "alive" by name, so -w returns at once.
    while not ident.isdigit() or FLAVOUR == 'xl':
        with State() as st:
            cur = st.find(ident if FLAVOUR == 'xm' else str(domid))
            if cur is None or cur['domid'] != domid or cur['flags'] == SHUT_DOWN:
                break
        time.sleep(0.05)
    if FLAVOUR == 'xl':
        sys.stderr.write('Domain %d has been shut down, reason code 0\n' % domid)
        return ''
    return 'Domain %s terminated\nAll domains terminated\n' % name


def cmd_destroy(st_unused, args):
    idents = [a for a in args if not a.startswith('-')]
    force = '-f' in args
    if len(idents) != 1:
        usage_error('destroy', 1)
    ident = idents[0]
    with State() as st:
        d = st.find(ident)
        if d is None:
            if FLAVOUR == 'xl' and ident.isdigit():
                raise Exit(1, 'libxl: error: libxl_domain.c:1181:libxl__destroy_domid: Domain %s:Non-existant '
                              'domain\nlibxl: error: libxl_domain.c:1137:domain_destroy_callback: Domain %s:'
                              'Unable to destroy guest\ndestroy failed (rc=-21)\n' % (ident, ident))
            not_found(ident)
        if d['domid'] == 0:
            if FLAVOUR == 'xl' and not force:
                raise Exit(1, 'Not destroying domain 0; use -f to force.\n')
            raise Exit(1, 'Error: Cannot destroy privileged domain Domain-0\n')
        st.remove(d)
    return ''


# ---------------------------------------------------------------- small queries

def one_arg(cmd, args):
    if len(args) != 1:
        usage_error(cmd, 1)
    return args[0]


def cmd_domid(st, args):
    name = one_arg('domid', args)
    d = st.find(name)
    if d is None or (FLAVOUR == 'xl' and name.isdigit() and d['name'] != name):
        if FLAVOUR == 'xl':
            raise Exit(1, "Can't get domid of domain name '%s', maybe this domain does not exist.\n" % name)
        not_found(name)
    return '%d\n' % d['domid']


def cmd_domname(st, args):
    ident = one_arg('domname', args)
    if FLAVOUR == 'xl' and not ident.isdigit():
        raise Exit(1, 'Invalid domain id.\n')
    d = st.find(ident)
    if d is None:
        if FLAVOUR == 'xl':
            raise Exit(1, "Can't get domain name of domain id '%s', maybe this domain does not exist.\n" % ident)
        not_found(ident)
    return d['name'] + '\n'


def cmd_network_list(st, args):
    idents = [a for a in args if not a.startswith('-')]
    if len(idents) < 1:
        usage_error('network-list', 1)
    out = []
    if FLAVOUR == 'xl':
        out.append('Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path')
    for ident in idents:
        d = need_domain(st, ident)
        nics = d.get('nics', [])
        if FLAVOUR == 'xm' and nics and len(out) == 0:
            out.append('Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path')
        for i, n in enumerate(nics):
            mac = n.get('mac', '00:16:3e:00:00:%02x' % i)
            path = '/local/domain/0/backend/vif/%d/%d' % (d['domid'], i)
            if FLAVOUR == 'xl':
                out.append('%-3d %-2d %-17s %6d %5d %6d %5d/%-5d %-30s' % (i, 0, mac, i, 4, 9, 1280, 1281, path))
            else:
                out.append('%-3d %-3d%-17s    %-3d   %-3d    %-3d  %-5d/%-5d   %-30s  ' %
                           (i, 0, mac, i, 4, 8, 521, 522, path))
    return ''.join(line + '\n' for line in out)


# ---------------------------------------------------------------- control commands (not in xm/xl)

def ctl_fault(args):
    import argparse
    p = argparse.ArgumentParser(prog='xm-sim fault')
    p.add_argument('sub')
    g = p.add_mutually_exclusive_group()
    g.add_argument('--fail', type=int, metavar='N')
    g.add_argument('--hang', action='store_true')
    g.add_argument('--delay', type=int, metavar='MS')
    g.add_argument('--garbage', action='store_true')
    p.add_argument('--no-vif', action='store_true')
    g.add_argument('--clear', action='store_true')
    p.add_argument('--status', type=int, default=1)
    p.add_argument('--text', default='Error: simulated failure')
    p.add_argument('--times', type=int)
    p.add_argument('--ignore-term', action='store_true')
    p.add_argument('--seed', type=int)
    a = p.parse_args(args)
    if a.no_vif and a.sub != 'create':
        p.error('--no-vif is a fault of create only')
    if a.no_vif and (a.fail is not None or a.hang or a.garbage or a.clear):
        p.error('--no-vif goes alone or with --delay')
    with State() as st:
        faults = st.data['faults']
        if a.sub == 'all' and a.clear:
            faults.clear()
        elif a.clear:
            faults.pop(a.sub, None)
        elif a.fail is not None:
            faults[a.sub] = {'kind': 'fail', 'times': a.fail, 'status': a.status, 'text': a.text}
        elif a.hang:
            faults[a.sub] = {'kind': 'hang', 'times': a.times, 'ignore_term': a.ignore_term}
        elif a.delay is not None:
            faults[a.sub] = {'kind': 'delay', 'times': a.times, 'ms': a.delay, 'novif': a.no_vif}
        elif a.garbage:
            faults[a.sub] = {'kind': 'garbage', 'times': a.times, 'seed': a.seed}
        elif a.no_vif:
            faults[a.sub] = {'kind': 'novif', 'times': a.times}
        else:
            p.error('one of --fail, --hang, --delay, --garbage, --no-vif, --clear is required')
        st.save()
    return ''


def ctl_poke(kind, args):
    if len(args) != 1:
        raise Exit(2, 'usage: xm-sim %s NAME\n' % kind)
    with State() as st:
        d = need_domain(st, args[0])
        if d['domid'] == 0:
            raise Exit(2, 'xm-sim: leave Domain-0 alone\n')
        if kind == 'vanish':
            st.remove(d)
        else:
            d['flags'] = {'crash': '---sc-', 'pause': '--p---', 'resume': '-b----'}[kind]
            st.save()
    return ''


def ctl_state(args):
    import json
    if args:
        raise Exit(2, 'usage: xm-sim state\n')
    with State() as st:
        return json.dumps(st.data, sort_keys=True) + '\n'


def ctl_set(args):
    if len(args) != 2 or args[0] not in ('shutdown-delay', 'shutdown-linger') or not args[1].isdigit():
        raise Exit(2, 'usage: xm-sim set shutdown-delay|shutdown-linger MS\n')
    with State() as st:
        st.data[args[0].replace('-', '_') + '_ms'] = int(args[1])
        st.save()
    return ''


# ---------------------------------------------------------------- main

COMMANDS = {
    'list': cmd_list, 'info': cmd_info, 'create': cmd_create, 'shutdown': cmd_shutdown,
    'destroy': cmd_destroy, 'domid': cmd_domid, 'domname': cmd_domname, 'network-list': cmd_network_list,
}
# These manage their own locking (they sleep, or fork, or run ip).
UNLOCKED = ('create', 'shutdown', 'destroy')
CONTROL = ('fault', 'crash', 'vanish', 'pause', 'resume', 'set', 'state')


def lookup(sub):
    if sub in COMMANDS:
        return sub
    if FLAVOUR == 'xm':
        # xm accepts any unique prefix of a subcommand.
        hits = [c for c in COMMANDS if c.startswith(sub)]
        if len(hits) == 1:
            return hits[0]
    return None


def run(argv):
    if not STATE_DIR or not os.path.isdir(STATE_DIR):
        raise Exit(2, 'xm-sim: set XMSIM_STATE to an existing directory\n')
    if not argv:
        if FLAVOUR == 'xl':
            raise Exit(1, '', 'Usage xl [-vfNtT] <subcommand> [args]\n')
        raise Exit(1, '', 'Usage: xm <subcommand> [args]\n')
    sub, args = argv[0], argv[1:]
    if sub in CONTROL:
        if sub == 'fault':
            return ctl_fault(args)
        if sub == 'set':
            return ctl_set(args)
        if sub == 'state':
            return ctl_state(args)
        return ctl_poke(sub, args)
    cmd = lookup(sub)
    if cmd is None:
        if FLAVOUR == 'xl':
            raise Exit(1, 'command not implemented\n')
        raise Exit(1, 'Error: %s %s not found!\n' % ('Sub Command' if OLD_XM else 'Subcommand', sub),
                   'Usage: xm <subcommand> [args]\n')
    f = take_fault(cmd)
    if f is not None:
        apply_fault(f)
    if cmd in UNLOCKED:
        return COMMANDS[cmd](None, args)
    with State() as st:
        return COMMANDS[cmd](st, args)


def trace(what):
    # XMSIM_TRACE=FILE: one line per call start/end, for tests that check
    # which calls overlapped. Short O_APPEND writes do not interleave.
    path = os.environ.get('XMSIM_TRACE')
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, ('%s %d %.6f %s\n' % (what, os.getpid(), time.time(), ' '.join(sys.argv[1:]))).encode())
        os.close(fd)


def main():
    trace('start')
    try:
        out = run(sys.argv[1:])
        status = 0
        err = ''
    except Exit as e:
        out, err, status = e.out, e.err, e.status
    if out:
        sys.stdout.write(out)
    if err:
        sys.stderr.write(err)
    sys.stdout.flush()
    sys.stderr.flush()
    trace('end')
    return status


if __name__ == '__main__':
    sys.exit(main())
