/**
 * Label selectors and NetworkPolicy semantics, evaluated on rendered objects:
 * which pods a selector picks, and whether a connection from one pod to a port
 * of another is allowed (networking.k8s.io/v1 rules: a pod selected by no
 * policy of a direction is open in that direction; otherwise a connection needs
 * one rule of a selecting policy whose peers and ports both match), and whether
 * a pod may reach an address outside the cluster (ipBlock peers).
 */
import net from 'node:net';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';

export type Labels = Record<string, string>;

/** metav1.LabelSelector, as the Kubernetes models type it. */
export type LabelSelector = NonNullable<INetworkPolicyPeer['podSelector']>;

/** Whether a label selector selects a set of labels (matchLabels and matchExpressions, ANDed; `{}` selects everything). */
export function selects(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`Unknown label selector operator '${e.operator}'.`);
    }
  }
  return true;
}

/** A pod as network policies see it: its labels, its namespace's labels and its named ports. */
export interface PodEndpoint {
  /** For messages. */
  name: string;
  labels: Labels;
  namespace: string;
  namespaceLabels: Labels;
  /** Container port names → numbers (for named ports in rules). */
  ports: Record<string, number>;
}

export interface Connection {
  from: PodEndpoint;
  to: PodEndpoint;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

function peerMatches(peer: INetworkPolicyPeer, policyNamespace: string, pod: PodEndpoint): boolean {
  // An ipBlock may cover pod addresses: treat it as matching anything, so a
  // policy that relies on one cannot pass for a pod-level rule.
  if (peer.ipBlock) return true;
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, pod.namespaceLabels)) return false;
    return peer.podSelector ? selects(peer.podSelector, pod.labels) : true;
  }
  if (peer.podSelector) return pod.namespace === policyNamespace && selects(peer.podSelector, pod.labels);
  return false;
}

function portMatches(rulePorts: INetworkPolicyPort[] | undefined, target: PodEndpoint, port: number, protocol: string): boolean {
  if (!rulePorts || rulePorts.length === 0) return true;
  return rulePorts.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    const number = typeof p.port === 'number' ? p.port : target.ports[p.port];
    if (number === undefined) return false;
    return p.endPort !== undefined ? port >= number && port <= p.endPort : port === number;
  });
}

function policyNamespace(policy: INetworkPolicy, fallback: string): string {
  return policy.metadata?.namespace ?? fallback;
}

function types(policy: INetworkPolicy): string[] {
  return policy.spec?.policyTypes ?? (policy.spec?.egress ? ['Ingress', 'Egress'] : ['Ingress']);
}

/** The policies that select a pod for a direction. */
export function policiesSelecting(policies: readonly INetworkPolicy[], pod: PodEndpoint, direction: 'Ingress' | 'Egress'): INetworkPolicy[] {
  return policies.filter((p) => policyNamespace(p, pod.namespace) === pod.namespace && types(p).includes(direction) && selects(p.spec?.podSelector, pod.labels));
}

/** Whether the receiving pod's ingress policies let the connection in. */
export function ingressAllows(policies: readonly INetworkPolicy[], c: Connection): boolean {
  const selecting = policiesSelecting(policies, c.to, 'Ingress');
  if (selecting.length === 0) return true;
  const protocol = c.protocol ?? 'TCP';
  return selecting.some((p) =>
    (p.spec?.ingress ?? []).some(
      (rule) => (!rule.from || rule.from.length === 0 || rule.from.some((peer) => peerMatches(peer, policyNamespace(p, c.to.namespace), c.from))) && portMatches(rule.ports, c.to, c.port, protocol),
    ),
  );
}

/** Whether the sending pod's egress policies let the connection out. */
export function egressAllows(policies: readonly INetworkPolicy[], c: Connection): boolean {
  const selecting = policiesSelecting(policies, c.from, 'Egress');
  if (selecting.length === 0) return true;
  const protocol = c.protocol ?? 'TCP';
  return selecting.some((p) =>
    (p.spec?.egress ?? []).some(
      (rule) => (!rule.to || rule.to.length === 0 || rule.to.some((peer) => peerMatches(peer, policyNamespace(p, c.from.namespace), c.to))) && portMatches(rule.ports, c.to, c.port, protocol),
    ),
  );
}

/** Whether both ends allow the connection. */
export function connectionAllowed(policies: readonly INetworkPolicy[], c: Connection): boolean {
  return egressAllows(policies, c) && ingressAllows(policies, c);
}

/** Whether an ipBlock (CIDR minus its `except` ranges) contains an address. */
function blockContains(block: NonNullable<INetworkPolicyPeer['ipBlock']>, address: string): boolean {
  const family = (a: string) => (net.isIPv4(a) ? 'ipv4' : 'ipv6');
  const within = (cidr: string) => {
    const [base, prefix] = cidr.split('/');
    const list = new net.BlockList();
    list.addSubnet(base!, Number(prefix), family(base!));
    return list.check(address, family(address));
  };
  return within(block.cidr) && !(block.except ?? []).some(within);
}

/**
 * Whether a pod's egress policies let it connect to an address outside the
 * cluster (a source, a database, a cloud service): only ipBlock peers can
 * match one; a rule without peers matches every destination.
 */
export function egressAllowsAddress(policies: readonly INetworkPolicy[], from: PodEndpoint, address: string, port: number, protocol: 'TCP' | 'UDP' = 'TCP'): boolean {
  const selecting = policiesSelecting(policies, from, 'Egress');
  if (selecting.length === 0) return true;
  const target: PodEndpoint = { name: address, labels: {}, namespace: '', namespaceLabels: {}, ports: {} };
  return selecting.some((p) =>
    (p.spec?.egress ?? []).some(
      (rule) => (!rule.to || rule.to.length === 0 || rule.to.some((peer) => peer.ipBlock !== undefined && blockContains(peer.ipBlock, address))) && portMatches(rule.ports, target, port, protocol),
    ),
  );
}

/** Every ipBlock CIDR the egress rules of the policies selecting a pod name, and whether some rule has no peers at all (every destination). */
export function egressBlocks(policies: readonly INetworkPolicy[], from: PodEndpoint): { cidrs: string[]; unrestrictedRule: boolean } {
  const rules = policiesSelecting(policies, from, 'Egress').flatMap((p) => p.spec?.egress ?? []);
  return {
    cidrs: rules.flatMap((r) => (r.to ?? []).flatMap((peer) => (peer.ipBlock ? [peer.ipBlock.cidr] : []))),
    unrestrictedRule: rules.some((r) => !r.to || r.to.length === 0),
  };
}
