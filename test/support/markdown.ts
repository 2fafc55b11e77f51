import { readFileSync } from "node:fs";

/** A file of the repository, by its path from the root. */
export const readRepoFile = (path: string) =>
  readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

/** The text of one `## ` section of a Markdown file. */
export function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`no section "${title}"`);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}
