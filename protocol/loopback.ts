// Whether a host name or address is this machine's own: what is sent to it never crosses a
// network, so a password may go there without TLS. No I/O: no name is looked up.

/** Whether `host` ("localhost", "127.0.0.1", "::1", "[::1]") names the loopback interface. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const name = bare.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(name) ||
    /^(0*:)*:?0*1$/.test(name) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(name);
}
