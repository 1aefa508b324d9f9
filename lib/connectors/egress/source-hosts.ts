import net from 'node:net';
import { ConfigError } from '../../config/env.js';

/** A port range an entry allows; absent bounds mean every port. */
interface Ports {
  from: number;
  to: number;
}

/** One entry of SOURCE_ALLOWED_HOSTS: a host name or wildcard, or an address or CIDR range, with its ports. */
type Entry = { kind: 'name'; name: string; ports: Ports } | { kind: 'wildcard'; suffix: string; ports: Ports } | { kind: 'range'; text: string; block: net.BlockList; ports: Ports };

const ANY_PORT: Ports = { from: 1, to: 65535 };

/** Link-local ranges, where clouds serve instance metadata and identity tokens (169.254.169.254). */
const LINK_LOCAL = new net.BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return net.isIPv4(address) ? 'ipv4' : 'ipv6';
}

/** A host name as compared: lower case, without a trailing dot. */
export function canonicalHostName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function parsePorts(text: string | undefined, entry: string): Ports {
  if (text === undefined) return ANY_PORT;
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const from = Number(match?.[1]);
  const to = match?.[2] === undefined ? from : Number(match[2]);
  if (!match || from < 1 || to > 65535 || from > to) throw new ConfigError(`Invalid setting SOURCE_ALLOWED_HOSTS: ${JSON.stringify(entry)} has an invalid port or port range (1-65535, low-high).`);
  return { from, to };
}

/** Splits `host[:ports]`, with an IPv6 address or range in brackets when ports follow. */
function splitPorts(entry: string): [string, string | undefined] {
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    const rest = entry.slice(close + 1);
    if (close < 0 || (rest !== '' && !rest.startsWith(':'))) throw new ConfigError(`Invalid setting SOURCE_ALLOWED_HOSTS: ${JSON.stringify(entry)} is not [IPv6 address or range]:port.`);
    return [entry.slice(1, close), rest === '' ? undefined : rest.slice(1)];
  }
  // A bare IPv6 address or range has several colons and no port.
  if ((entry.match(/:/g) ?? []).length > 1) return [entry, undefined];
  const colon = entry.indexOf(':');
  return colon < 0 ? [entry, undefined] : [entry.slice(0, colon), entry.slice(colon + 1)];
}

function parseEntry(entry: string): Entry {
  const [host, portText] = splitPorts(entry);
  const ports = parsePorts(portText, entry);
  const slash = host.indexOf('/');
  const address = slash < 0 ? host : host.slice(0, slash);
  if (net.isIP(address)) {
    const family = familyOf(address);
    const max = family === 'ipv4' ? 32 : 128;
    const prefix = slash < 0 ? max : Number(host.slice(slash + 1));
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (slash >= 0 && !/^\d+$/.test(host.slice(slash + 1)))) {
      throw new ConfigError(`Invalid setting SOURCE_ALLOWED_HOSTS: ${JSON.stringify(entry)} has an invalid prefix length (0-${max}).`);
    }
    const block = new net.BlockList();
    block.addSubnet(address, prefix, family);
    return { kind: 'range', text: `${address}/${prefix}`, block, ports };
  }
  const name = canonicalHostName(host);
  const wildcard = name.startsWith('*.');
  const labels = (wildcard ? name.slice(2) : name).split('.');
  if (labels.length === 0 || !labels.every((l) => LABEL.test(l)) || (wildcard && labels.length < 2)) {
    throw new ConfigError(`Invalid setting SOURCE_ALLOWED_HOSTS: ${JSON.stringify(entry)} is not a host name, *.domain wildcard, IP address or CIDR range.`);
  }
  return wildcard ? { kind: 'wildcard', suffix: name.slice(1), ports } : { kind: 'name', name, ports };
}

/**
 * The sources the services may connect to (SOURCE_ALLOWED_HOSTS): host names,
 * `*.domain` wildcards (one or more labels), IP addresses and CIDR ranges
 * (IPv4 and IPv6), each optionally with `:port` or `:low-high` (an IPv6 entry
 * with ports in brackets). Unset, every host is allowed except the link-local
 * ranges (169.254.0.0/16, fe80::/10: cloud instance metadata). Set, only what
 * it lists; a link-local address even then only through an address or range
 * entry that covers it (a name entry never opens the metadata service).
 */
export class SourceHosts {
  private constructor(
    private readonly entries: readonly Entry[] | undefined,
  ) {}

  /** Every host but the link-local ranges: SOURCE_ALLOWED_HOSTS unset. */
  static unrestricted(): SourceHosts {
    return new SourceHosts(undefined);
  }

  /** Parses the setting's comma-separated entries; a bad entry is a ConfigError naming it. */
  static parse(text: string | undefined): SourceHosts {
    if (text === undefined || text.trim() === '') return SourceHosts.unrestricted();
    const entries = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
    if (entries.length === 0) throw new ConfigError('Invalid setting SOURCE_ALLOWED_HOSTS: lists no host.');
    return new SourceHosts(entries.map(parseEntry));
  }

  /** Whether the setting restricts anything beyond the link-local ranges. */
  get restricted(): boolean {
    return this.entries !== undefined;
  }

  /** The address and range entries as CIDRs (`10.20.0.0/16`) with their ports, for checking the network policies against them. */
  get ranges(): Array<{ cidr: string; from: number; to: number }> {
    return (this.entries ?? []).flatMap((e) => (e.kind === 'range' ? [{ cidr: e.text, ...e.ports }] : []));
  }

  /**
   * Whether a connection to `address` on `port` is allowed, for a source the
   * request named `name` (undefined when it named an address): a name or
   * wildcard entry matches the name, an address or range entry the address.
   */
  allows(name: string | undefined, address: string, port: number): boolean {
    const family = familyOf(address);
    const inPorts = (p: Ports) => port >= p.from && port <= p.to;
    const byAddress = (e: Entry) => e.kind === 'range' && inPorts(e.ports) && e.block.check(address, family);
    if (LINK_LOCAL.check(address, family)) return (this.entries ?? []).some(byAddress);
    if (!this.entries) return true;
    const host = name === undefined ? undefined : canonicalHostName(name);
    return this.entries.some((e) => {
      if (e.kind === 'range') return byAddress(e);
      if (host === undefined || !inPorts(e.ports)) return false;
      return e.kind === 'name' ? host === e.name : host.endsWith(e.suffix) && host.length > e.suffix.length;
    });
  }
}
