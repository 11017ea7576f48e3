// The configuration of a private dbus-daemon that behaves like Debian's
// system bus (/usr/share/dbus-1/system.conf): method calls are denied unless
// a service's policy file, included here, allows them.

export interface BusConfigOptions {
  /** Socket path to listen on. */
  readonly socket: string;
  /** Policy files (like org.domud.Domud1.conf) to include. */
  readonly policyFiles?: readonly string[];
  /** Directories of activation files (like org.domud.Domud1.service). */
  readonly serviceDirs?: readonly string[];
  /** How long an activated service may take to own its name (dbus-daemon's default: 25 s). */
  readonly serviceStartTimeoutMs?: number;
}

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function systemBusConfig(o: BusConfigOptions): string {
  return [
    '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"',
    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">',
    '<busconfig>',
    '  <type>system</type>',
    `  <listen>unix:path=${xmlText(o.socket)}</listen>`,
    '  <auth>EXTERNAL</auth>',
    ...(o.serviceDirs ?? []).map((d) => `  <servicedir>${xmlText(d)}</servicedir>`),
    ...(o.serviceStartTimeoutMs === undefined ? [] : [`  <limit name="service_start_timeout">${o.serviceStartTimeoutMs}</limit>`]),
    '  <policy context="default">',
    '    <allow user="*"/>',
    '    <deny own="*"/>',
    '    <deny send_type="method_call"/>',
    '    <allow send_type="signal"/>',
    '    <allow send_requested_reply="true" send_type="method_return"/>',
    '    <allow send_requested_reply="true" send_type="error"/>',
    '    <allow receive_type="method_call"/>',
    '    <allow receive_type="method_return"/>',
    '    <allow receive_type="error"/>',
    '    <allow receive_type="signal"/>',
    '    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>',
    '    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>',
    '    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>',
    '    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>',
    '  </policy>',
    '  <policy user="root">',
    '    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>',
    '  </policy>',
    ...(o.policyFiles ?? []).map((f) => `  <include>${xmlText(f)}</include>`),
    '</busconfig>',
    '',
  ].join('\n');
}

/** A service's policy file: root may own `name`, anyone may call it (as org.domud.Domud1.conf does). */
export function servicePolicy(name: string): string {
  return [
    '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"',
    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">',
    '<busconfig>',
    `  <policy user="root"><allow own="${xmlText(name)}"/></policy>`,
    `  <policy context="default"><allow send_destination="${xmlText(name)}"/></policy>`,
    '</busconfig>',
    '',
  ].join('\n');
}
