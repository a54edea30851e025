#!/usr/bin/env node
// Checks Mermaid diagrams with Mermaid's own parser (mermaid.parse), headless, no browser.
//
// Usage:  node mermaid-check.mjs [--expect-type TYPE] FILE...
//   FILE is a diagram source (e.g. `flowchart TD ...`), or a Markdown file (*.md, *.markdown)
//   whose ```mermaid fenced blocks are each checked.  "-" reads standard input.
//   --expect-type TYPE additionally requires every diagram to be of that type, matched as a
//   prefix of Mermaid's detected type (`flowchart` matches `flowchart-v2`).
// Prints "ok FILE (type)" on stdout per valid diagram; for an invalid one prints
// "FILE: <parser message>" on stderr.  Exit status: 0 all valid, 1 some invalid, 2 usage or
// setup error (npm packages not found).
//
// Needs the npm packages `mermaid` (11.x: 12.x requires Node >= 22) and `jsdom`, installed by
// scripts/install-test-tools.sh under $FLOW_TOOLS_CACHE/node.  ESM `import` ignores NODE_PATH,
// so they are resolved explicitly, from the first of:
//   $FLOW_NODE_MODULES, <this script's dir>/../node/node_modules (the installed copy),
//   each entry of $NODE_PATH, ${FLOW_TOOLS_CACHE:-~/.cache/flowrs-tools}/node/node_modules.
//
// Why jsdom: mermaid sanitizes labels with DOMPurify while parsing (flowchart's db calls
// sanitizeText).  DOMPurify binds to `window` when it is first imported; without one its
// `sanitize`/`addHook` are missing and every flowchart with a node fails to "parse".  So a
// jsdom window is installed as a global *before* mermaid is imported (dynamic import below).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  if (msg) console.error(`mermaid-check: ${msg}`);
  console.error("usage: node mermaid-check.mjs [--expect-type TYPE] FILE...");
  process.exit(2);
}

let expectType = null;
const files = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--expect-type") {
    if (i + 1 >= argv.length) usage("--expect-type needs a value");
    expectType = argv[++i];
  } else if (a === "-h" || a === "--help") usage();
  else if (a === "--") files.push(...argv.slice(i + 1)), (i = argv.length);
  else if (a.startsWith("--")) usage(`unknown option ${a}`);
  else files.push(a);
}
if (files.length === 0) usage("no input files");

// ---- locate node_modules holding mermaid + jsdom
const cacheDir = process.env.FLOW_TOOLS_CACHE || path.join(os.homedir(), ".cache", "flowrs-tools");
const candidates = [
  process.env.FLOW_NODE_MODULES,
  path.join(here, "..", "node", "node_modules"),
  ...(process.env.NODE_PATH || "").split(path.delimiter),
  path.join(cacheDir, "node", "node_modules"),
].filter(Boolean);
const modulesDir = candidates.find(
  (d) => fs.existsSync(path.join(d, "mermaid", "package.json")) && fs.existsSync(path.join(d, "jsdom", "package.json")),
);
if (!modulesDir) {
  console.error(`mermaid-check: npm packages mermaid + jsdom not found in any of:\n  ${candidates.join("\n  ")}`);
  console.error("run scripts/install-test-tools.sh (or set FLOW_NODE_MODULES)");
  process.exit(2);
}
// createRequire needs a file path inside the directory; the file itself need not exist.
const req = createRequire(path.join(modulesDir, "_resolve_from_here.js"));

// ---- headless DOM for DOMPurify, then mermaid
const { JSDOM } = req("jsdom");
const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import(pathToFileURL(req.resolve("mermaid")).href);
// logLevel 5 = fatal only: keep mermaid's own console chatter out of the report.
mermaid.initialize({ startOnLoad: false, logLevel: 5 });

// ---- inputs: [label, text] pairs
function diagramsOf(file) {
  const text = file === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(file, "utf8");
  if (!/\.(md|markdown)$/i.test(file)) return [[file, text]];
  const out = [];
  const re = /^([ \t]*)(`{3,}|~{3,})[ \t]*mermaid[ \t]*\r?\n([\s\S]*?)^\1\2[ \t]*$/gm;
  for (let m; (m = re.exec(text)); ) {
    const line = text.slice(0, m.index).split("\n").length;
    out.push([`${file}:${line}`, m[3]]);
  }
  if (out.length === 0) out.push([file, null]); // a Markdown file without diagrams is an error
  return out;
}

let bad = 0;
for (const file of files) {
  let diagrams;
  try {
    diagrams = diagramsOf(file);
  } catch (e) {
    console.error(`${file}: cannot read: ${e.message}`);
    bad++;
    continue;
  }
  for (const [label, text] of diagrams) {
    if (text === null) {
      console.error(`${label}: no \`\`\`mermaid block found`);
      bad++;
      continue;
    }
    try {
      // suppressErrors defaults to false: invalid input throws the parser's error.
      const res = await mermaid.parse(text);
      const type = res && res.diagramType;
      if (expectType && !(type || "").startsWith(expectType)) {
        console.error(`${label}: diagram type is ${type}, expected ${expectType}`);
        bad++;
      } else console.log(`ok ${label} (${type})`);
    } catch (e) {
      const msg = (e && (e.message || e.str)) || String(e);
      console.error(`${label}: ${msg}`);
      bad++;
    }
  }
}
dom.window.close();
process.exitCode = bad ? 1 : 0;
