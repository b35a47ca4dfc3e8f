// Parse every ```mermaid block in the given Markdown files with Mermaid itself.
//
//     node tools/figures/check.mjs docs/*.md
//
// For each file with diagrams it prints "FILE: N diagrams parsed". A block
// that Mermaid rejects (or a mermaid fence that is never closed) is reported
// as "FILE:LINE: ..." with Mermaid's own message, LINE being the line of the
// block's opening fence, and the exit status is then 1. Exit status 2 means
// the command line was wrong or a file could not be read.
//
// `make figures` installs the exact versions in package-lock.json with
// `npm ci` and runs this on docs/*.md.

import { readFile } from "node:fs/promises";
import { JSDOM } from "jsdom";

// Mermaid and the DOMPurify it sanitises labels with look for a browser when
// they are loaded, so the DOM must be in place before the (dynamic) import.
const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>", {
  pretendToBeVisual: true,
});
globalThis.window = dom.window;
globalThis.document = dom.window.document;

const { default: mermaid } = await import("mermaid");
// Errors come back to us through parse(); mermaid's own console log would
// only repeat them.
mermaid.initialize({ startOnLoad: false, logLevel: "fatal" });

// An opening fence: up to three spaces, three or more backticks or tildes,
// then the info string "mermaid" (CommonMark, as GitHub reads it).
const OPEN = /^( {0,3})(`{3,}|~{3,})[ \t]*mermaid(?:[ \t].*)?$/;
const ANY_OPEN = /^( {0,3})(`{3,}|~{3,})(.*)$/;

/** The mermaid blocks of a Markdown text, each {line, text}; lines count from 1. */
function mermaidBlocks(markdown) {
  const lines = markdown.split(/\r?\n/);
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const open = ANY_OPEN.exec(lines[i]);
    // A backtick fence's info string may not contain a backtick.
    if (!open || (open[2][0] === "`" && open[3].includes("`"))) {
      i += 1;
      continue;
    }
    const [, indent, fence] = open;
    const isMermaid = OPEN.test(lines[i]);
    const close = new RegExp(`^ {0,3}${fence[0]}{${fence.length},}[ \\t]*$`);
    const start = i;
    const body = [];
    i += 1;
    while (i < lines.length && !close.test(lines[i])) {
      // Content lines lose as much indentation as the fence had.
      body.push(lines[i].replace(new RegExp(`^ {0,${indent.length}}`), ""));
      i += 1;
    }
    if (isMermaid) {
      blocks.push({ line: start + 1, text: body.join("\n"), closed: i < lines.length });
    }
    i += 1; // past the closing fence
  }
  return blocks;
}

async function checkFile(path) {
  let markdown;
  try {
    markdown = await readFile(path, "utf8");
  } catch (error) {
    console.error(`${path}: cannot read: ${error.message}`);
    return { parsed: 0, bad: 0, unreadable: true };
  }
  let parsed = 0;
  let bad = 0;
  for (const block of mermaidBlocks(markdown)) {
    if (!block.closed) {
      console.error(`${path}:${block.line}: this mermaid block is never closed`);
      bad += 1;
      continue;
    }
    try {
      await mermaid.parse(block.text);
      parsed += 1;
    } catch (error) {
      const message = String(error?.message ?? error).trimEnd();
      console.error(
        `${path}:${block.line}: mermaid cannot parse this diagram:\n` +
          message.replace(/^/gm, "    "),
      );
      bad += 1;
    }
  }
  if (parsed + bad > 0) {
    const failed = bad ? `, ${bad} failed` : "";
    console.log(`${path}: ${parsed} diagram${parsed === 1 ? "" : "s"} parsed${failed}`);
  }
  return { parsed, bad, unreadable: false };
}

async function main(paths) {
  if (paths.length === 0) {
    console.error("usage: node tools/figures/check.mjs FILE.md ...");
    return 2;
  }
  let bad = 0;
  let unreadable = false;
  for (const path of paths) {
    const result = await checkFile(path);
    bad += result.bad;
    unreadable ||= result.unreadable;
  }
  if (unreadable) return 2;
  return bad ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
