import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { StrataError } from "@strata/errors";

const PACKAGES = join(__dirname, "..", "packages");
const ROOT_FILE = join("errors", "src", "index.ts");

/** Every TypeScript source file under packages/<name>/src, relative to packages/. */
function sources(): { file: string; text: string }[] {
  const files: { file: string; text: string }[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".ts")) files.push({ file: relative(PACKAGES, path), text: readFileSync(path, "utf8") });
    }
  };
  for (const name of readdirSync(PACKAGES)) {
    const src = join(PACKAGES, name, "src");
    if (statSync(join(PACKAGES, name)).isDirectory() && exists(src)) walk(src);
  }
  return files;
}

function exists(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `file:line` of every match of `pattern` in the sources. */
function where(pattern: RegExp, files = sources()): string[] {
  const hits: string[] = [];
  for (const { file, text } of files) {
    text.split("\n").forEach((line, i) => {
      if (pattern.test(line)) hits.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  return hits;
}

/** The workspace packages that are libraries (a `main` entry; the CLI is a program, not imported), by package name. */
function packageNames(): string[] {
  return readdirSync(PACKAGES)
    .filter((name) => exists(join(PACKAGES, name, "src")))
    .map(
      (name) =>
        JSON.parse(readFileSync(join(PACKAGES, name, "package.json"), "utf8")) as { name: string; main?: string },
    )
    .filter((manifest) => manifest.main !== undefined)
    .map((manifest) => manifest.name);
}

describe("one error root", function () {
  it("extends Error once in packages/*/src: StrataError in @strata/errors", function () {
    const hits = where(/\bextends\s+(Error|RangeError|TypeError|SyntaxError)\b/);
    expect(hits).to.have.length(1, hits.join("\n"));
    expect(hits[0]).to.match(new RegExp(`^${ROOT_FILE.replace(/[/\\]/g, "[/\\\\]")}:`));
  });

  it("throws no bare Error in packages/*/src: every throw is a typed error with a code", function () {
    const hits = where(/\bnew\s+Error\s*\(/);
    expect(hits, hits.join("\n")).to.deep.equal([]);
  });

  it("roots every error class declared in packages/*/src in StrataError", function () {
    // Each class and the class it extends, over all packages (error classes extend across packages by name).
    const parents = new Map<string, { parent: string; at: string }>();
    for (const { file, text } of sources()) {
      for (const match of text.matchAll(/\bclass\s+(\w+)(?:<[^>{]*>)?\s+extends\s+(\w+)/g)) {
        parents.set(match[1], { parent: match[2], at: file });
      }
    }
    const unrooted: string[] = [];
    for (const [name, { at }] of parents) {
      const chain = [name];
      let current = name;
      while (parents.has(current) && chain.length < 20) chain.push((current = parents.get(current)!.parent));
      const isError = /Error$|Problem$|Failure$/.test(name) || chain.some((c) => /Error$/.test(c));
      if (isError && !chain.includes("StrataError")) unrooted.push(`${at}: ${chain.join(" -> ")}`);
    }
    expect(unrooted, unrooted.join("\n")).to.deep.equal([]);
  });

  it("makes every error class a package exports a StrataError with a code", async function () {
    const names = packageNames();
    expect(names).to.include.members(["@strata/errors", "@strata/core", "@strata/walrus", "@strata/node"]);
    const outside: string[] = [];
    let checked = 0;
    for (const name of names) {
      const exports = (await import(name)) as Record<string, unknown>;
      for (const [key, value] of Object.entries(exports)) {
        if (typeof value !== "function" || !(value.prototype instanceof Error || value === Error)) continue;
        checked++;
        if (!(value === StrataError || value.prototype instanceof StrataError)) outside.push(`${name}: ${key}`);
      }
    }
    expect(outside, outside.join("\n")).to.deep.equal([]);
    expect(checked).to.be.greaterThan(40);
  });
});
