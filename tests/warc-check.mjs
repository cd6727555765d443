// The project's WARC checker, on top of warcio (a real consumer) for reading:
//
//   node warc-check.mjs WARCIO_DIR FILE.warc[.gz] [FILE.cdxj]
//
// warcio's parser must read every record; then each record's own bytes (its gzip member alone,
// at the offset warcio reports) are checked here: Content-Length, WARC-Block-Digest, and for a
// response WARC-Payload-Digest over the body as stored; every request names a response with
// WARC-Concurrent-To; every revisit refers to an earlier response with the same payload digest
// by ID, URI and date. With a CDXJ file: it must be sorted, equal (as a set of lines) to what
// `warcio cdx-index` makes of the same file, and each line's offset and length must cut out
// exactly its record. Prints a JSON summary; exits 1 on the first problem.
import { createHash } from "node:crypto";
import { readFileSync, createReadStream } from "node:fs";
import { gunzipSync } from "node:zlib";
import { basename, join } from "node:path";
import { execFileSync } from "node:child_process";

const [dir, file, cdxFile] = process.argv.slice(2);
const warcio = await import(join(dir, "node_modules", "warcio", "dist", "index.js"));
const bytes = readFileSync(file);
const gz = file.endsWith(".gz");

function fail(msg) {
  console.error(`warc-check: ${msg}`);
  process.exit(1);
}

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
function sha1b32(buf) {
  const d = createHash("sha1").update(buf).digest();
  let bits = 0, value = 0, out = "";
  for (const b of d) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return "sha1:" + out;
}

// One record's bytes -> {headers, block}, checking the framing.
function parseRecord(raw, where) {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) fail(`${where}: no end of WARC headers`);
  const lines = raw.subarray(0, end).toString("latin1").split("\r\n");
  if (lines[0] !== "WARC/1.1") fail(`${where}: version line ${lines[0]}`);
  const h = new Map();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i <= 0) fail(`${where}: bad header line ${l}`);
    h.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
  }
  const len = Number(h.get("content-length"));
  const block = raw.subarray(end + 4, end + 4 + len);
  if (block.length !== len) fail(`${where}: block shorter than Content-Length`);
  const tail = raw.subarray(end + 4 + len);
  if (tail.toString("latin1") !== "\r\n\r\n") fail(`${where}: record does not end in CRLF CRLF`);
  return { h, block };
}

// Records as warcio reports them (offset, length), each re-read from its own bytes.
const parser = new warcio.WARCParser(createReadStream(file));
const records = [];
for await (const rec of parser) {
  await rec.readFully(false);
  // warcio.js counts a plain record without its closing CRLF CRLF; the length here (and in the
  // project's CDXJ, as Python warcio and pywb have it) runs to the next record.
  const offset = parser.offset, length = parser.recordLength + (gz ? 0 : 4);
  let raw = bytes.subarray(offset, offset + length);
  if (gz) raw = gunzipSync(raw); // exactly one member: gunzip of the slice alone must work
  const where = `record at ${offset}`;
  const { h, block } = parseRecord(raw, where);
  if (h.get("warc-type") !== rec.warcType) fail(`${where}: warcio says ${rec.warcType}`);
  if (h.get("warc-record-id") !== rec.warcHeaders.headers.get("WARC-Record-ID"))
    fail(`${where}: record ID differs from warcio's`);
  if (sha1b32(block) !== h.get("warc-block-digest")) fail(`${where}: block digest`);
  let payload = null;
  if (rec.warcType === "response") {
    const e = block.indexOf("\r\n\r\n");
    if (e < 0) fail(`${where}: no end of HTTP head`);
    payload = block.subarray(e + 4);
    if (sha1b32(payload) !== h.get("warc-payload-digest")) fail(`${where}: payload digest`);
    const wp = Buffer.from(await rec.readFully(false));
    if (!wp.equals(payload)) fail(`${where}: warcio reads another payload`);
    if (/^transfer-encoding:/im.test(block.subarray(0, e).toString("latin1")))
      fail(`${where}: Transfer-Encoding kept over a decoded body`);
  }
  records.push({ offset, length, h, payload, type: rec.warcType });
}
if (records.length === 0) fail("no records");
if (records[0].type !== "warcinfo") fail("the first record is not warcinfo");
const byId = new Map(records.map((r) => [r.h.get("warc-record-id"), r]));
const counts = {};
for (const r of records) {
  counts[r.type] = (counts[r.type] || 0) + 1;
  if (r.type === "request") {
    const resp = byId.get(r.h.get("warc-concurrent-to"));
    if (!resp || (resp.type !== "response" && resp.type !== "revisit"))
      fail(`request at ${r.offset}: WARC-Concurrent-To names no response`);
    if (resp.h.get("warc-target-uri") !== r.h.get("warc-target-uri"))
      fail(`request at ${r.offset}: its response is for another URI`);
  }
  if (r.type === "revisit") {
    const orig = byId.get(r.h.get("warc-refers-to"));
    if (!orig || orig.offset >= r.offset) fail(`revisit at ${r.offset}: no earlier original`);
    if (orig.h.get("warc-target-uri") !== r.h.get("warc-refers-to-target-uri"))
      fail(`revisit at ${r.offset}: WARC-Refers-To-Target-URI`);
    if (orig.h.get("warc-date") !== r.h.get("warc-refers-to-date"))
      fail(`revisit at ${r.offset}: WARC-Refers-To-Date`);
    if (orig.h.get("warc-payload-digest") !== r.h.get("warc-payload-digest"))
      fail(`revisit at ${r.offset}: payload digest differs from the original's`);
    if (!/identical-payload-digest$/.test(r.h.get("warc-profile") || ""))
      fail(`revisit at ${r.offset}: WARC-Profile`);
  }
}

let cdxLines = 0;
if (cdxFile) {
  const ours = readFileSync(cdxFile, "utf8").split("\n").filter((l) => l);
  const sorted = [...ours].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  if (ours.join("\n") !== sorted.join("\n")) fail("CDXJ is not sorted");
  const cli = join(dir, "node_modules", ".bin", "warcio");
  const theirs = execFileSync(cli, ["cdx-index", file], { encoding: "utf8" })
    .split("\n").filter((l) => l)
    .map((l) => gz ? l : l.replace(/"length":"(\d+)"/, (_, n) => `"length":"${Number(n) + 4}"`))
    .sort();
  const a = [...ours].sort();
  if (a.join("\n") !== theirs.join("\n"))
    fail(`CDXJ differs from warcio cdx-index:\nours:\n${a.join("\n")}\ntheirs:\n${theirs.join("\n")}`);
  for (const line of ours) {
    const j = JSON.parse(line.slice(line.indexOf("{")));
    const rec = records.find((r) => r.offset === Number(j.offset));
    if (!rec || rec.length !== Number(j.length)) fail(`CDXJ offset/length of ${j.url}`);
    if (rec.h.get("warc-target-uri") !== j.url) fail(`CDXJ line for ${j.url} cuts out another record`);
    if (j.filename !== basename(file)) fail(`CDXJ filename ${j.filename}`);
  }
  cdxLines = ours.length;
}
console.log(JSON.stringify({ records: records.length, counts, cdxj: cdxLines }));
