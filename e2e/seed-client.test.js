// The guide's own Node.js client, unchanged: npm `request` 2.88 with `JSON.stringify` string
// bodies (no Content-Type header at all), the S3-style form upload with the form fields then
// `file`, one second of patience, then the tag lookups. Runs against the server at the root
// and the one under the `/Prod` stage base path (e2e/run.sh starts both).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import request from "request";

const call = (opts) =>
  new Promise((resolve, reject) =>
    request(opts, (err, res, body) => (err ? reject(err) : resolve({ res, body }))),
  );
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const jpeg = readFileSync(new URL("../fixtures/images/chelsea.jpg", import.meta.url));

const servers = [
  ["root", process.env.IMGTAG_URL],
  ["stage /Prod", process.env.IMGTAG_BASE_URL],
];

for (const [where, api] of servers) {
  test(`the guide's request@2.88 client works unchanged (${where})`, async () => {
    assert.ok(api, "IMGTAG_URL / IMGTAG_BASE_URL (e2e/run.sh sets them)");
    const creds = JSON.stringify({ username: `guide${Date.now()}`, password: "Abc123!" });

    let r = await call({ method: "POST", url: `${api}/signup`, body: creds });
    assert.equal(r.res.request.headers["content-type"], undefined, "request sends none");
    assert.equal(r.res.statusCode, 201, r.body);
    assert.equal(JSON.parse(r.body).message, "Created");

    r = await call({ method: "POST", url: `${api}/signin`, body: creds });
    assert.equal(r.res.statusCode, 201, r.body);
    const headers = { Authorization: `Bearer ${JSON.parse(r.body).token}` };

    r = await call({ method: "POST", url: `${api}/images`, headers });
    assert.equal(r.res.statusCode, 201, r.body);
    const ticket = JSON.parse(r.body);
    const { uploadUrl, formFields } = ticket.formConfig;
    const key = formFields.key ?? formFields.Key;
    assert.ok(key, JSON.stringify(formFields));

    // Form fields first, then the file named after the key, as S3 requires.
    const formData = {
      ...formFields,
      file: {
        value: jpeg,
        options: { filename: key, contentType: "image/jpeg", knownLength: jpeg.length },
      },
    };
    r = await call({ method: "POST", url: uploadUrl, formData });
    assert.ok([200, 201, 204].includes(r.res.statusCode), `${r.res.statusCode} ${r.body}`);

    await sleep(1000);
    r = await call({ url: `${api}/tags`, headers });
    assert.equal(r.res.statusCode, 200, r.body);
    let { tags } = JSON.parse(r.body);
    // The guide waits one second; a debug build on a loaded CI machine may need longer.
    for (let i = 0; tags.length === 0 && i < 60; i++) {
      await sleep(500);
      tags = JSON.parse((await call({ url: `${api}/tags`, headers })).body).tags;
    }
    assert.ok(tags.length > 0, "the upload was tagged");

    // `request` follows the 308 to the filtered listing, Authorization included.
    const found = async (tag) => {
      const r = await call({ url: `${api}/tags/${tag}/images`, headers });
      assert.equal(r.res.statusCode, 200, `${tag}: ${r.body}`);
      assert.match(r.res.request.uri.href, /\/images\?tags=/);
      return JSON.parse(r.body).images.map((i) => i.id);
    };
    assert.ok((await found(tags[0])).includes(ticket.id), tags[0]);

    // A tag with a space, written raw into the URL as a client would (`request` escapes it).
    r = await call({ method: "PUT", url: `${api}/images/${ticket.id}/tags/my cat`, headers });
    assert.equal(r.res.statusCode, 200, r.body);
    assert.deepEqual(await found("my cat"), [ticket.id]);
    for (const tag of tags.filter((t) => t.includes(" "))) {
      assert.ok((await found(tag)).includes(ticket.id), tag);
    }
  });
}
