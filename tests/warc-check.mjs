// The project's WARC checker, on top of warcio (a real consumer) for reading:
//
//   node warc-check.mjs WARCIO_DIR FILE.warc[.gz] [FILE.cdxj]
//   node warc-check.mjs WARCIO_DIR [--cdx FILE.cdxj] [--jsonl RECORDS.jsonl]
//                       [--prev OLD.warc.gz]... [--pairs] FILE.warc.gz...
//
// warcio's parser must read every record; then each record's own bytes (its gzip member alone,
// at the offset warcio reports) are checked here: Content-Length, WARC-Block-Digest, and for a
// response WARC-Payload-Digest over the body as stored; every request names a response with
// WARC-Concurrent-To; every revisit refers to an earlier response with the same payload digest
// by ID, URI and date. With a CDXJ file: it must be sorted, equal (as a set of lines) to what
// `warcio cdx-index` makes of the same file, and each line's offset and length must cut out
// exactly its record. Several files (a rollover series) are checked as one archive; `warcio
// index` must list every record of each. With --jsonl (a crawl's records): each URL's
// warc_file/warc_offset/warc_record_id must name its response or revisit, and the payload,
// decoded from its Content-Encoding (the original's, for a revisit), must have the record's md5
// and byte count. --prev names the WARC(s) of an earlier crawl that revisits without
// WARC-Refers-To (from --warc-dedup) point into. Prints a JSON summary; exits 1 on the first
// problem.
import { createHash } from "node:crypto";
import { readFileSync, createReadStream } from "node:fs";
import { gunzipSync, inflateSync, inflateRawSync, brotliDecompressSync, constants } from "node:zlib";
import { basename, join } from "node:path";
import { execFileSync } from "node:child_process";


const args = process.argv.slice(2);
const dir = args.shift();
let cdxFile = null, jsonlFile = null, pairs = false;
const files = [], prevFiles = [];
if (args.length > 0 && !args.some((a) => a.startsWith("--"))) {
  files.push(args[0]);
  cdxFile = args[1] || null;
} else {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--cdx") cdxFile = args[++i];
    else if (args[i] === "--jsonl") jsonlFile = args[++i];
    else if (args[i] === "--prev") prevFiles.push(args[++i]);
    else if (args[i] === "--pairs") pairs = true; // revisits need their request too
    else files.push(args[i]);
  }
}
const warcio = await import(join(dir, "node_modules", "warcio", "dist", "index.js"));
const cli = join(dir, "node_modules", ".bin", "warcio");

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


function httpHead(block) {
  const e = block.indexOf("\r\n\r\n");
  if (e < 0) return null;
  const lines = block.subarray(0, e).toString("latin1").split("\r\n");
  const h = new Map();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i > 0) h.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
  }
  return { status: lines[0], h, payload: block.subarray(e + 4) };
}

// Every record of one file, read by warcio, each re-read from its own bytes and checked.
async function readWarc(file) {
  const bytes = readFileSync(file);
  const gz = file.endsWith(".gz");
  const parser = new warcio.WARCParser(createReadStream(file));
  const records = [];
  for await (const rec of parser) {
    await rec.readFully(false);
    // warcio.js counts a plain record without its closing CRLF CRLF; the length here (and in
    // the project's CDXJ, as Python warcio and pywb have it) runs to the next record.
    const offset = parser.offset, length = parser.recordLength + (gz ? 0 : 4);
    let raw = bytes.subarray(offset, offset + length);
    if (gz) raw = gunzipSync(raw); // exactly one member: gunzip of the slice alone must work
    const where = `${basename(file)}: record at ${offset}`;
    const { h, block } = parseRecord(raw, where);
    if (h.get("warc-type") !== rec.warcType) fail(`${where}: warcio says ${rec.warcType}`);
    if (h.get("warc-record-id") !== rec.warcHeaders.headers.get("WARC-Record-ID"))
      fail(`${where}: record ID differs from warcio's`);
    if (sha1b32(block) !== h.get("warc-block-digest")) fail(`${where}: block digest`);
    let payload = null, http = null;
    if (rec.warcType === "response" || rec.warcType === "revisit" || rec.warcType === "request") {
      http = httpHead(block);
      if (!http) fail(`${where}: no end of HTTP head`);
    }
    if (rec.warcType === "response") {
      payload = http.payload;
      if (sha1b32(payload) !== h.get("warc-payload-digest")) fail(`${where}: payload digest`);
      const wp = Buffer.from(await rec.readFully(false));
      if (!wp.equals(payload)) fail(`${where}: warcio reads another payload`);
      if (http.h.has("transfer-encoding"))
        fail(`${where}: Transfer-Encoding kept over a decoded body`);
      const cl = http.h.get("content-length");
      if (cl !== undefined && !h.has("warc-truncated") &&
          Number(cl) !== payload.length && payload.length !== 0)
        fail(`${where}: Content-Length ${cl} but ${payload.length} bytes stored`);
    }
    if (rec.warcType === "revisit" && http.payload.length !== 0)
      fail(`${where}: a revisit holds a payload`);
    records.push({ file: basename(file), path: file, offset, length, h, http, payload,
                   type: rec.warcType });
  }
  // warcio's own indexer must list the same records.
  const listed = execFileSync(cli, ["index", file], { encoding: "utf8", maxBuffer: 1 << 28 })
    .split("\n").filter((l) => l).map((l) => JSON.parse(l));
  if (listed.length !== records.length || listed.some((l, i) => l.offset !== records[i].offset))
    fail(`${basename(file)}: warcio index lists ${listed.length} records, the parser ${records.length}`);
  if (records.length === 0) fail(`${basename(file)}: no records`);
  if (records[0].type !== "warcinfo") fail(`${basename(file)}: the first record is not warcinfo`);
  return records;
}

const records = [];
for (const f of files) records.push(...await readWarc(f));
const prev = [];
for (const f of prevFiles) prev.push(...await readWarc(f));
const byId = new Map(records.map((r) => [r.h.get("warc-record-id"), r]));
const prevById = new Map(prev.map((r) => [r.h.get("warc-record-id"), r]));
const byFileOffset = new Map(records.map((r) => [`${r.file}@${r.offset}`, r]));
const counts = {};
const requestsFor = new Map();
let crossRevisits = 0;
for (const r of records) {
  counts[r.type] = (counts[r.type] || 0) + 1;
  if (r.type === "request") {
    const resp = byId.get(r.h.get("warc-concurrent-to"));
    if (!resp || (resp.type !== "response" && resp.type !== "revisit"))
      fail(`request at ${r.offset}: WARC-Concurrent-To names no response`);
    if (resp.h.get("warc-target-uri") !== r.h.get("warc-target-uri"))
      fail(`request at ${r.offset}: its response is for another URI`);
    if (resp.h.get("warc-date") !== r.h.get("warc-date"))
      fail(`request at ${r.offset}: another WARC-Date than its response's`);
    requestsFor.set(resp, (requestsFor.get(resp) || 0) + 1);
  }
  if (r.type === "revisit") {
    if (!/identical-payload-digest$/.test(r.h.get("warc-profile") || ""))
      fail(`revisit at ${r.offset}: WARC-Profile`);
    let orig;
    if (r.h.has("warc-refers-to")) {
      orig = byId.get(r.h.get("warc-refers-to")) || prevById.get(r.h.get("warc-refers-to"));
      if (!orig || (byId.has(r.h.get("warc-refers-to")) && records.indexOf(orig) >= records.indexOf(r)))
        fail(`revisit at ${r.offset}: no earlier original`);
      if (orig.h.get("warc-date") !== r.h.get("warc-refers-to-date"))
        fail(`revisit at ${r.offset}: WARC-Refers-To-Date`);
    } else {
      // From --warc-dedup: the index gives URI, digest and the date to the second.
      orig = prev.find((o) => o.type === "response" &&
                       o.h.get("warc-target-uri") === r.h.get("warc-refers-to-target-uri") &&
                       o.h.get("warc-payload-digest") === r.h.get("warc-payload-digest"));
      if (!orig) fail(`revisit at ${r.offset}: nothing in --prev it can refer to`);
      if (orig.h.get("warc-date").slice(0, 19) !== (r.h.get("warc-refers-to-date") || "").slice(0, 19))
        fail(`revisit at ${r.offset}: WARC-Refers-To-Date ${r.h.get("warc-refers-to-date")}`);
      crossRevisits++;
    }
    if (orig.h.get("warc-target-uri") !== r.h.get("warc-refers-to-target-uri"))
      fail(`revisit at ${r.offset}: WARC-Refers-To-Target-URI`);
    if (orig.h.get("warc-payload-digest") !== r.h.get("warc-payload-digest"))
      fail(`revisit at ${r.offset}: payload digest differs from the original's`);
    r.orig = orig;
  }
}
for (const r of records)
  if ((r.type === "response" || (pairs && r.type === "revisit")) && requestsFor.get(r) !== 1)
    fail(`${r.type} at ${r.offset} (${r.h.get("warc-target-uri")}): ${requestsFor.get(r) || 0} requests`);

let cdxLines = 0;
if (cdxFile) {
  const ours = readFileSync(cdxFile, "utf8").split("\n").filter((l) => l);
  const sorted = [...ours].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  if (ours.join("\n") !== sorted.join("\n")) fail("CDXJ is not sorted");
  let theirs = [];
  for (const f of files)
    theirs.push(...execFileSync(cli, ["cdx-index", f], { encoding: "utf8", maxBuffer: 1 << 28 })
      .split("\n").filter((l) => l)
      .map((l) => f.endsWith(".gz") ? l : l.replace(/"length":"(\d+)"/, (_, n) => `"length":"${Number(n) + 4}"`)));
  theirs.sort();
  const a = [...ours].sort();
  if (a.join("\n") !== theirs.join("\n"))
    fail(`CDXJ differs from warcio cdx-index:\nours:\n${a.slice(0, 20).join("\n")}\ntheirs:\n${theirs.slice(0, 20).join("\n")}`);
  for (const line of ours) {
    const j = JSON.parse(line.slice(line.indexOf("{")));
    const rec = byFileOffset.get(`${j.filename}@${Number(j.offset)}`);
    if (!rec || rec.length !== Number(j.length)) fail(`CDXJ offset/length of ${j.url}`);
    if (rec.h.get("warc-target-uri") !== j.url) fail(`CDXJ line for ${j.url} cuts out another record`);
  }
  cdxLines = ours.length;
}

// The payload as the server meant it: Content-Encoding undone (null: a coding node lacks).
function decoded(rec) {
  const src = rec.type === "revisit" ? rec.orig : rec;
  let body = src.payload;
  const ce = (src.http.h.get("content-encoding") || "").toLowerCase();
  const flush = { finishFlush: constants.Z_SYNC_FLUSH }; // a truncated body decodes so far
  for (const c of ce.split(",").map((x) => x.trim()).filter((x) => x && x !== "identity").reverse()) {
    if (c === "gzip" || c === "x-gzip") body = gunzipSync(body, flush);
    else if (c === "deflate") {
      try { body = inflateSync(body, flush); } catch { body = inflateRawSync(body, flush); }
    } else if (c === "br") body = brotliDecompressSync(body);
    else return null;
  }
  return body;
}

let jsonl = 0, coded = 0;
if (jsonlFile) {
  for (const line of readFileSync(jsonlFile, "utf8").split("\n").filter((l) => l)) {
    const j = JSON.parse(line);
    if (j.warc_record_id == null) continue;
    const rec = byFileOffset.get(`${basename(j.warc_file)}@${j.warc_offset}`);
    if (!rec) fail(`${j.url}: nothing at ${j.warc_file}@${j.warc_offset}`);
    if (rec.h.get("warc-record-id") !== j.warc_record_id) fail(`${j.url}: another record ID there`);
    if (rec.h.get("warc-target-uri") !== j.url) fail(`${j.url}: the record is for ${rec.h.get("warc-target-uri")}`);
    if (rec.type !== "response" && rec.type !== "revisit") fail(`${j.url}: a ${rec.type} record`);
    const src = rec.type === "revisit" ? rec.orig : rec;
    if (src.http.h.has("content-encoding")) coded++;
    if (j.external || rec.h.has("warc-truncated")) { jsonl++; continue; }
    // A body the crawler could not decode: its md5 is of the bytes as received.
    const body = /^content decoding failed/.test(j.error || "") ? src.payload : decoded(rec);
    if (body === null) { jsonl++; continue; }
    const md5 = body.length ? createHash("md5").update(body).digest("hex") : null;
    if (md5 !== j.md5) fail(`${j.url}: md5 ${j.md5} in the records, ${md5} decoded from the WARC`);
    if (body.length !== j.bytes) fail(`${j.url}: ${j.bytes} bytes in the records, ${body.length} in the WARC`);
    jsonl++;
  }
}
console.log(JSON.stringify({ records: records.length, counts, cdxj: cdxLines, jsonl, coded,
                             cross_revisits: crossRevisits }));
