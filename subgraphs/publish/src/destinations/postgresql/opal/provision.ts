import { AppError } from '../../../../../../lib/errors.js';
import type { PublishedEntry } from '../../destination.js';
import { OPAL_DEFAULT_USER, OPAL_PROJECT_NAME, opalGroupName, opalResourceName, tableLabel } from '../names.js';
import type { DestinationTable } from '../tables.js';
import type { OpalClient } from './client.js';
import { generatePassword } from './password.js';

/** Where OPAL's R servers reach the tables, and as whom. */
export interface ResourceConnection {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

export interface ProvisionInput {
  project: string;
  tables: readonly DestinationTable[];
  connection: ResourceConnection;
}

/** What provisioning reports as it goes (never a password or a body). */
export interface ProvisionLog {
  info(details: object, message: string): void;
}

interface Acl {
  subject?: { principal?: string; type?: string };
  actions?: string[];
}

interface SubjectCredentials {
  name: string;
  authenticationType?: string;
  groups?: string[];
  enabled?: boolean;
}

interface ResourceReference {
  name: string;
  description?: string;
  project?: string;
  provider?: string;
  factory?: string;
  parameters?: string;
  credentials?: string;
}

/**
 * Makes OPAL hold what a published project needs, creating only what is
 * missing, so that running it again changes nothing:
 * 1. the project `{project}`;
 * 2. user `dsuser_default` (created with a random password if missing) as a
 *    member of group `{project}_group` (OPAL creates groups through membership);
 * 3. the group's DataSHIELD `use` permission (or `all`, kept if present);
 * 4. one resource per table, `tre_postgresql_{schema}_{table}`, reading the table
 *    through resourcer's `sql` factory as the read-only role; an existing
 *    resource whose provider, factory, parameters, description or (where OPAL
 *    shows them) credentials differ is updated in place;
 * 5. the group's `view` permission on the project's resources (or `all`).
 * The random password is sent once, to OPAL, and never logged or returned.
 */
export async function provisionOpal(client: OpalClient, input: ProvisionInput, log: ProvisionLog): Promise<PublishedEntry[]> {
  const { project } = input;
  if (!OPAL_PROJECT_NAME.test(project)) {
    throw new AppError('INVALID_REQUEST', `Project '${project}' cannot be published to OPAL: OPAL project names hold only letters, digits, ' ', '_' and '-'.`);
  }
  checkDistinctResources(input.tables);
  client.redact(input.connection.password);
  const group = opalGroupName(project);
  await ensureProject(client, project, log);
  await ensureMembership(client, group, log);
  await ensureDataShieldUse(client, group, log);
  const resources = await ensureResources(client, input, log);
  await ensureResourcesView(client, project, group, log);
  return input.tables.map((t, i) => ({
    postgresql_table_name: tableLabel(t.schema, t.table),
    opal_resource_name: resources[i]!,
    opal_project_name: project,
    opal_group_name: group,
  }));
}

/** Two tables whose resource names coincide (`a_b`.`c` and `a`.`b_c`) would share one resource: refuse. */
function checkDistinctResources(tables: readonly DestinationTable[]): void {
  const seen = new Map<string, DestinationTable>();
  for (const t of tables) {
    const name = opalResourceName(t.schema, t.table);
    const other = seen.get(name);
    if (other) {
      throw new AppError(
        'INVALID_REQUEST',
        `Tables '${tableLabel(other.schema, other.table)}' and '${tableLabel(t.schema, t.table)}' would both be OPAL resource '${name}'; rename one before publishing.`,
      );
    }
    seen.set(name, t);
  }
}

async function ensureProject(client: OpalClient, project: string, log: ProvisionLog): Promise<void> {
  const found = await client.expect('get project', 'GET', ['project', project], [200, 404]);
  if (found.status === 200) return;
  log.info({ opalProject: project }, 'OPAL: creating project');
  await client.expect('create project', 'POST', ['projects'], [200, 201], {
    body: { name: project, title: project, description: `Data Access Request for project ${project}` },
  });
}

async function getUser(client: OpalClient, step: string): Promise<SubjectCredentials | undefined> {
  const found = await client.expect(step, 'GET', ['system', 'subject-credential', OPAL_DEFAULT_USER], [200, 404]);
  return found.status === 200 ? (found.body as SubjectCredentials) : undefined;
}

async function ensureMembership(client: OpalClient, group: string, log: ProvisionLog): Promise<void> {
  let user = await getUser(client, `get user ${OPAL_DEFAULT_USER}`);
  if (!user) {
    log.info({ opalUser: OPAL_DEFAULT_USER, opalGroup: group }, 'OPAL: creating user in group');
    const password = generatePassword();
    client.redact(password);
    const created = await client.expect(`create user ${OPAL_DEFAULT_USER}`, 'POST', ['system', 'subject-credentials'], [200, 201, 409], {
      body: { name: OPAL_DEFAULT_USER, authenticationType: 'PASSWORD', password, groups: [group], enabled: true },
    });
    if (created.status !== 409) return;
    // Another publication created it meanwhile: join the group as for an existing user.
    user = await getUser(client, `get user ${OPAL_DEFAULT_USER}`);
    if (!user) throw new AppError('DESTINATION_FAILED', `OPAL reported user '${OPAL_DEFAULT_USER}' as existing, then as missing, at step 'create user ${OPAL_DEFAULT_USER}'.`);
  }
  const groups = user.groups ?? [];
  if (groups.includes(group)) return;
  log.info({ opalUser: OPAL_DEFAULT_USER, opalGroup: group }, 'OPAL: adding user to group');
  await client.expect(`add user ${OPAL_DEFAULT_USER} to group ${group}`, 'PUT', ['system', 'subject-credential', OPAL_DEFAULT_USER], [200, 204], {
    body: { name: OPAL_DEFAULT_USER, authenticationType: user.authenticationType ?? 'PASSWORD', groups: [...groups, group], enabled: user.enabled ?? true },
  });
}

function holds(acls: unknown, group: string, actions: readonly string[]): boolean {
  if (!Array.isArray(acls)) return false;
  return (acls as Acl[]).some(
    (acl) => acl.subject?.principal === group && acl.subject.type === 'GROUP' && (acl.actions ?? []).some((a) => actions.includes(a)),
  );
}

async function ensureDataShieldUse(client: OpalClient, group: string, log: ProvisionLog): Promise<void> {
  const path = ['system', 'permissions', 'datashield'];
  const acls = await client.expect('list DataSHIELD permissions', 'GET', path, [200], { query: [['type', 'GROUP']] });
  // Granting replaces a subject's permission on the node: never downgrade DATASHIELD_ALL.
  if (holds(acls.body, group, ['DATASHIELD_USE', 'DATASHIELD_ALL'])) return;
  log.info({ opalGroup: group }, 'OPAL: granting DataSHIELD use');
  await client.expect(`grant DataSHIELD use to group ${group}`, 'POST', path, [200, 201, 204], {
    query: [['type', 'GROUP'], ['permission', 'DATASHIELD_USE'], ['principal', group]],
  });
}

function desiredResource(project: string, table: DestinationTable, c: ResourceConnection): Required<ResourceReference> {
  return {
    name: opalResourceName(table.schema, table.table),
    description: `Resource for table ${table.table} in schema ${table.schema}`,
    project,
    provider: 'resourcer',
    factory: 'sql',
    // As the original wrote them: the port as text, the driver named after the database.
    parameters: JSON.stringify({ host: c.host, port: String(c.port), db: c.database, table: table.table, schema: table.schema, driver: 'postgresql' }),
    credentials: JSON.stringify({ username: c.username, password: c.password }),
  };
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Whether an existing resource differs from the wanted one in anything OPAL shows. */
function differs(existing: ResourceReference, wanted: ResourceReference): boolean {
  if (existing.provider !== wanted.provider || existing.factory !== wanted.factory || (existing.description ?? '') !== wanted.description) return true;
  if (!sameJson(parseJson(existing.parameters), parseJson(wanted.parameters))) return true;
  // OPAL shows credentials only to users who may edit the resource; unseen ones are left alone.
  return existing.credentials !== undefined && !sameJson(parseJson(existing.credentials), parseJson(wanted.credentials));
}

async function ensureResources(client: OpalClient, input: ProvisionInput, log: ProvisionLog): Promise<string[]> {
  const { project } = input;
  const listed = await client.expect('list project resources', 'GET', ['project', project, 'resources'], [200], { query: [['safe', 'false']] });
  const existing = new Map((Array.isArray(listed.body) ? (listed.body as ResourceReference[]) : []).map((r) => [r.name, r]));
  const names: string[] = [];
  for (const table of input.tables) {
    const wanted = desiredResource(project, table, input.connection);
    names.push(wanted.name);
    const found = existing.get(wanted.name);
    if (!found) {
      log.info({ opalProject: project, opalResource: wanted.name }, 'OPAL: creating resource');
      await client.expect(`create resource ${wanted.name}`, 'POST', ['project', project, 'resources'], [200, 201], { body: wanted });
      existing.set(wanted.name, wanted);
    } else if (differs(found, wanted)) {
      log.info({ opalProject: project, opalResource: wanted.name }, 'OPAL: updating resource');
      await client.expect(`update resource ${wanted.name}`, 'PUT', ['project', project, 'resource', wanted.name], [200, 204], { body: wanted });
      existing.set(wanted.name, wanted);
    }
  }
  return names;
}

async function ensureResourcesView(client: OpalClient, project: string, group: string, log: ProvisionLog): Promise<void> {
  const path = ['project', project, 'permissions', 'resources'];
  const acls = await client.expect('list resource permissions', 'GET', path, [200]);
  if (holds(acls.body, group, ['RESOURCES_VIEW', 'RESOURCES_ALL'])) return;
  log.info({ opalProject: project, opalGroup: group }, 'OPAL: granting view on the project resources');
  await client.expect(`grant resources view to group ${group}`, 'POST', path, [200, 201, 204], {
    query: [['type', 'GROUP'], ['permission', 'RESOURCES_VIEW'], ['principal', group]],
  });
}
