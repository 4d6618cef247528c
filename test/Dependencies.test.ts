/**
 * Dependency hygiene: every package imports only what its own package.json declares (src: dependencies; tests:
 * dependencies or devDependencies), declares nothing it never imports, and imports packages of the workspace only
 * downwards (the devkit never imports the CLI or the verifier; nothing imports the CLI).
 */
import { expect } from "chai";
import { builtinModules } from "node:module";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(__dirname, "..");
const PACKAGES = join(ROOT, "packages");
const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** The files of `dir` (recursively) that end in .ts or .js, outside node_modules and generated code. */
function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === "node_modules" || entry === "typechain") return [];
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|js|mjs|cjs)$/.test(entry) ? [path] : [];
  });
}

/** The module specifiers `text` imports: import/export ... from, import(), require(), require.resolve(). */
export function importedSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\sfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire(?:\.resolve)?\s*\(\s*[`"']([^`"'$]+)[`"']/g,
  ];
  for (const pattern of patterns) for (const match of code.matchAll(pattern)) found.push(match[1]);
  return found;
}

/** The package a specifier names (`@scope/name/sub` -> `@scope/name`), or undefined for a relative path or a built-in. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || BUILTINS.has(specifier)) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** The packages the files import, each with the first file that imports it. */
function importsOf(files: string[]): Map<string, string> {
  const used = new Map<string, string>();
  for (const file of files) {
    for (const specifier of importedSpecifiers(readFileSync(file, "utf8"))) {
      const name = packageOf(specifier);
      if (name !== undefined && !used.has(name)) used.set(name, relative(ROOT, file));
    }
  }
  return used;
}

/** `@types/x` is used when `x` is (`@types/scope__name` for `@scope/name`), or when node's types are. */
function typesPackageUsed(name: string, used: Map<string, string>): boolean {
  const target = name.slice("@types/".length);
  const module = target.includes("__") ? `@${target.replace("__", "/")}` : target;
  return used.has(module) || (module === "node" && used.size >= 0);
}

const packages = readdirSync(PACKAGES)
  .filter((dir) => existsSync(join(PACKAGES, dir, "package.json")))
  .map((dir) => ({
    dir,
    manifest: JSON.parse(readFileSync(join(PACKAGES, dir, "package.json"), "utf8")) as Manifest,
    src: importsOf([...sources(join(PACKAGES, dir, "src")), ...sources(join(PACKAGES, dir, "bin"))]),
    test: importsOf(sources(join(PACKAGES, dir, "test"))),
  }));

describe("dependency hygiene", function () {
  it("finds the imports of each form (the scanner itself)", function () {
    const text = [
      'import { a } from "@scope/one/sub";',
      'import type { B } from "two";',
      'export * from "./local";',
      'export { c } from "three";',
      'import "four/register";',
      'const five = await import("five");',
      "require.resolve(`six/package.json`);",
      'const seven = require("seven");',
      '// import { x } from "commented";',
      'import { readFile } from "node:fs/promises";',
    ].join("\n");
    const names = importedSpecifiers(text)
      .map(packageOf)
      .filter((n) => n !== undefined);
    expect(names.sort()).to.deep.equal(["@scope/one", "five", "four", "seven", "six", "three", "two"]);
  });

  for (const { dir, manifest, src, test } of packages) {
    const deps = { ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies };
    const devDeps = manifest.devDependencies ?? {};

    it(`${manifest.name}: src imports only its dependencies`, function () {
      const undeclared = [...src].filter(([name]) => name !== manifest.name && !(name in deps));
      expect(
        undeclared.map(([name, file]) => `${name} (imported by ${file})`),
        `add them to packages/${dir}/package.json dependencies`,
      ).to.deep.equal([]);
    });

    it(`${manifest.name}: tests import only its dependencies and devDependencies`, function () {
      const undeclared = [...test].filter(([name]) => name !== manifest.name && !(name in deps) && !(name in devDeps));
      expect(
        undeclared.map(([name, file]) => `${name} (imported by ${file})`),
        `add them to packages/${dir}/package.json devDependencies`,
      ).to.deep.equal([]);
    });

    it(`${manifest.name}: every dependency is imported by src, every devDependency by src or tests`, function () {
      const all = new Map([...src, ...test]);
      const unused = [
        ...Object.keys(deps).filter((name) =>
          name.startsWith("@types/") ? !typesPackageUsed(name, src) : !src.has(name),
        ),
        ...Object.keys(devDeps).filter((name) =>
          name.startsWith("@types/") ? !typesPackageUsed(name, all) : !all.has(name),
        ),
      ];
      expect(
        unused,
        `remove them from packages/${dir}/package.json, or move a test-only one to devDependencies`,
      ).to.deep.equal([]);
    });
  }

  it("keeps the workspace graph downwards: nothing imports the CLI, the devkit never imports the verifier", function () {
    const offenders: string[] = [];
    for (const { manifest, src, test } of packages) {
      for (const [name, file] of [...src, ...test]) {
        if (name === "@strata/cli" && manifest.name !== "@strata/cli") offenders.push(`${file} imports ${name}`);
        if (manifest.name === "@strata/devkit" && (name === "@strata/verifier" || name === "@strata/cli")) {
          offenders.push(`${file} imports ${name}`);
        }
      }
    }
    const outside = importsOf([...sources(join(ROOT, "scripts")), ...sources(join(ROOT, "bench"))]);
    if (outside.has("@strata/cli")) offenders.push(`${outside.get("@strata/cli")} imports @strata/cli`);
    expect(offenders).to.deep.equal([]);
  });
});
