/**
 * `npm run docs:settings`: writes the settings and secrets tables of
 * docs/configuration.md, between its markers, from the registry in
 * lib/config/settings. test/unit/settings.test.ts fails when the committed
 * tables differ from what this would write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { apiKeySecretNames, type ServiceName } from '../lib/auth/api-key.js';
import { ALL_SERVICES, type SettingSpec } from '../lib/config/env.js';
import { defaultOf, SETTING_FAMILIES, SETTINGS } from '../lib/config/settings/index.js';
import { fromRoot } from '../lib/paths.js';

export const CONFIGURATION_DOC = fromRoot('docs', 'configuration.md');
export const BEGIN_MARKER = '<!-- settings:begin (generated from lib/config/settings by `npm run docs:settings`; edit the code, not this table) -->';
export const END_MARKER = '<!-- settings:end -->';

/** A Markdown table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function servicesCell(services: readonly ServiceName[]): string {
  return ALL_SERVICES.every((s) => services.includes(s)) ? 'all' : services.join(', ');
}

function row(name: string, spec: SettingSpec): string {
  const value = spec.secretName ? `${spec.type} (never the secret itself)` : spec.type;
  return `| \`${name}\` | ${servicesCell(spec.services)} | ${cell(defaultOf(spec))} | ${cell(value)} | ${cell(spec.description)} |`;
}

/** What an API key is for, by the service that checks it. */
const API_KEY_USE: Record<ServiceName, string> = {
  approval: 'The key clients (the CR8TOR CLI) send the gateway in `x-api-key`.',
  metadata: 'The key the gateway sends the metadata service; only the gateway and the metadata service hold it.',
  publish: 'The key the gateway sends the publish service; only the gateway and the publish service hold it.',
};

/** The generated text between the markers. */
export function settingsSection(): string {
  const lines = [
    '| setting | read by | default | value | meaning |',
    '|---|---|---|---|---|',
    ...SETTINGS.map(({ name, spec }) => row(name, spec)),
    ...SETTING_FAMILIES.map((family) => row(family.name, family)),
    '',
    'The secrets the services read from the secret store (`SECRETS_PROVIDER`), besides the source credentials requests name:',
    '',
    '| secret | read by | what |',
    '|---|---|---|',
    ...(Object.entries(apiKeySecretNames) as Array<[ServiceName, string]>).map(
      ([service, secret]) => `| \`${secret}\` | ${servicesCell(service === 'approval' ? ['approval'] : ['approval', service])} | ${cell(API_KEY_USE[service])} |`,
    ),
    ...SETTINGS.filter(({ spec }) => spec.secretName).map(({ name, spec }) => `| the one \`${name}\` names | ${servicesCell(spec.services)} | ${cell(spec.description)} |`),
  ];
  return lines.join('\n');
}

/** The document with the section between its markers replaced; throws when the markers are missing. */
export function withSettingsSection(document: string): string {
  const begin = document.indexOf(BEGIN_MARKER);
  const end = document.indexOf(END_MARKER);
  if (begin < 0 || end < begin) throw new Error(`${CONFIGURATION_DOC} has no ${BEGIN_MARKER} … ${END_MARKER} markers.`);
  return `${document.slice(0, begin + BEGIN_MARKER.length)}\n${settingsSection()}\n${document.slice(end)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const before = readFileSync(CONFIGURATION_DOC, 'utf8');
    const after = withSettingsSection(before);
    if (after === before) console.log(`${CONFIGURATION_DOC} is up to date`);
    else {
      writeFileSync(CONFIGURATION_DOC, after);
      console.log(`wrote ${CONFIGURATION_DOC}`);
    }
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
