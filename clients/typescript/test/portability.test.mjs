// The package runs wherever `fetch` does (browsers, Node 20+, edge runtimes): the compiled code imports no
// Node module, and touches `process` only through `globalThis`, in the opt-in shutdown hook.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const dist = new URL("../dist/", import.meta.url);
const files = readdirSync(dist).filter((f) => f.endsWith(".js"));

test("the compiled code imports only its own modules", () => {
  for (const file of files) {
    const source = readFileSync(new URL(file, dist), "utf8");
    const imports = [...source.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]);
    assert.ok(imports.every((spec) => spec.startsWith("./")), `${file} imports ${imports}`);
    assert.doesNotMatch(source, /\brequire\(|\bBuffer\.|__dirname/, file);
  }
});

test("process is reached only through globalThis, in the shutdown hook", () => {
  for (const file of files) {
    const source = readFileSync(new URL(file, dist), "utf8").replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "");
    const bare = source.match(/(?<![.\w])process\./g) ?? [];
    assert.deepEqual(bare, [], `${file} uses process directly`);
  }
  assert.match(readFileSync(new URL("hooks.js", dist), "utf8"), /globalThis\.process/);
});
