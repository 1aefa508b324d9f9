/**
 * A bounded, in-process record of what a service did for each project, newest
 * first, served on the federated `Project` entity. It holds at most
 * `maxProjects` projects (the least recently touched are dropped) and
 * `perProject` entries each; it is lost when the process restarts. Durable
 * records of data access are the audit log's job, not this one's.
 */
export class ProjectLog<T> {
  private readonly entries = new Map<string, T[]>();

  constructor(
    private readonly maxProjects = 1000,
    private readonly perProject = 20,
  ) {}

  private static key(projectName: string, projectStartTime: string): string {
    return `${projectName}\u0000${projectStartTime}`;
  }

  add(projectName: string, projectStartTime: string, entry: T): void {
    const key = ProjectLog.key(projectName, projectStartTime);
    const list = this.entries.get(key) ?? [];
    this.entries.delete(key);
    list.unshift(entry);
    if (list.length > this.perProject) list.length = this.perProject;
    this.entries.set(key, list);
    if (this.entries.size > this.maxProjects) this.entries.delete(this.entries.keys().next().value as string);
  }

  list(projectName: string, projectStartTime: string): readonly T[] {
    return this.entries.get(ProjectLog.key(projectName, projectStartTime)) ?? [];
  }
}
