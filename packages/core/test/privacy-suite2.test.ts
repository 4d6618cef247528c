import { expect } from "chai";
import { createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from "node:crypto";
import {
  contentKeyOf,
  DEFAULT_PRIVACY_SUITE,
  ENVELOPE_HEADER_SIZE,
  ENVELOPE_LAYOUT,
  envelopeContext,
  EnvelopeCorruptedError,
  EnvelopeFormatError,
  EnvelopeKeyError,
  formatDisclosureKey,
  formatPrivacyPrivateKey,
  formatPrivacyPublicKey,
  generatePrivacyKey,
  openEnvelope,
  openWithContentKey,
  parseEnvelope,
  parsePrivacyPublicKey,
  privacyPublicKeyOf,
  sealTensors,
} from "../src";

const AAD = envelopeContext({ chainId: 31337, n: 1 });
const TENSORS = [
  { name: "input", bytes: new Uint8Array([1, 2, 3, 4, 5]) },
  { name: "output", bytes: new Uint8Array(1000).map((_, i) => i & 0xff) },
];
const AT = Object.fromEntries(ENVELOPE_LAYOUT.map((f) => [f.field, f]));

async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

/** The header checksum recomputed after an edit (what an attacker who edits fields would do). */
function rechecksum(envelope: Uint8Array): void {
  const sum = createHash("sha256").update(envelope.subarray(0, AT.headerChecksum.offset)).digest();
  envelope.set(sum.subarray(0, 16), AT.headerChecksum.offset);
}

describe("core privacy envelopes, suite 2 (X25519, HKDF-SHA256, AES-256-GCM through node:crypto)", function () {
  const recipient = generatePrivacyKey();

  it("new keys are X25519 (strata-pk2 / strata-sk2), and envelopes sealed to them are suite 2", async function () {
    expect(DEFAULT_PRIVACY_SUITE).to.equal(2);
    expect(recipient.suite).to.equal(2);
    expect(recipient.publicKey).to.have.length(32);
    const publicText = formatPrivacyPublicKey(recipient.publicKey);
    const privateText = formatPrivacyPrivateKey(recipient);
    expect(publicText).to.match(/^strata-pk2:[0-9a-f]{64}$/);
    expect(privateText).to.match(/^strata-sk2:[0-9a-f]{64}$/);
    expect(Buffer.from(parsePrivacyPublicKey(publicText))).to.deep.equal(Buffer.from(recipient.publicKey));
    expect(Buffer.from(privacyPublicKeyOf(privateText))).to.deep.equal(Buffer.from(recipient.publicKey));

    const envelope = await sealTensors(TENSORS, publicText, { aad: AAD });
    const parsed = parseEnvelope(envelope);
    expect(parsed.suite).to.equal(2);
    expect(envelope.length).to.equal(ENVELOPE_HEADER_SIZE + 1 + 4 + (2 + 5 + 4 + 5) + (2 + 6 + 4 + 1000) + 16);
    for (const key of [privateText, recipient.privateKey]) {
      const opened = await openEnvelope(envelope, key, { aad: AAD });
      expect(opened).to.deep.equal({ kind: "tensors", tensors: TENSORS });
    }
    const disclosure = formatDisclosureKey(contentKeyOf(envelope, privateText));
    expect(await openWithContentKey(envelope, disclosure, { aad: AAD })).to.deep.equal({
      kind: "tensors",
      tensors: TENSORS,
    });
  });

  it("is standard: the test opens it with node:crypto's X25519, HKDF-SHA256 and AES-256-GCM alone", async function () {
    const envelope = await sealTensors(TENSORS, recipient.publicKey, { aad: AAD });
    const field = (name: string) => envelope.subarray(AT[name].offset, AT[name].offset + AT[name].size);
    const der = (prefix: string, key: Uint8Array) => Buffer.concat([Buffer.from(prefix, "hex"), key]);
    const ephemeral = field("ephemeralPublicKey");
    expect(ephemeral[0]).to.equal(0);
    const shared = diffieHellman({
      privateKey: createPrivateKey({
        key: der("302e020100300506032b656e04220420", recipient.privateKey),
        format: "der",
        type: "pkcs8",
      }),
      publicKey: createPublicKey({
        key: der("302a300506032b656e032100", ephemeral.subarray(1)),
        format: "der",
        type: "spki",
      }),
    });
    const info = Buffer.concat([Buffer.from("strata-envelope-v1/wrap"), Buffer.of(2), ephemeral, recipient.publicKey]);
    const wrap = Buffer.from(hkdfSync("sha256", shared, Buffer.alloc(0), info, 60));
    expect(wrap.subarray(44, 60)).to.deep.equal(Buffer.from(field("keyCheck")));
    const open = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array) => {
      const d = createDecipheriv("aes-256-gcm", key, nonce);
      d.setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
    };
    const contentKey = open(
      wrap.subarray(0, 32),
      wrap.subarray(32, 44),
      envelope.subarray(0, AT.wrappedKey.offset),
      field("wrappedKey"),
    );
    const payload = Buffer.from(hkdfSync("sha256", contentKey, Buffer.alloc(0), "strata-envelope-v1/payload", 64));
    expect(payload.subarray(32)).to.deep.equal(Buffer.from(field("keyCommitment")));
    const framed = open(
      payload.subarray(0, 32),
      field("nonce"),
      envelope.subarray(0, ENVELOPE_HEADER_SIZE),
      envelope.subarray(ENVELOPE_HEADER_SIZE),
    );
    expect(framed[0]).to.equal(1);
    expect(framed.readUInt32BE(1)).to.equal(2);
    expect(framed.subarray(framed.length - 1000)).to.deep.equal(Buffer.from(TENSORS[1].bytes));
  });

  it("suite 1 envelopes stay readable beside suite 2 ones: the recipient's key decides the suite", async function () {
    const old = generatePrivacyKey({ suite: 1 });
    const envelope = await sealTensors(TENSORS, formatPrivacyPublicKey(old.publicKey), { aad: AAD });
    expect(parseEnvelope(envelope).suite).to.equal(1);
    expect(formatPrivacyPrivateKey(old)).to.match(/^strata-sk1:/);
    const opened = await openEnvelope(envelope, formatPrivacyPrivateKey(old), { aad: AAD });
    expect(opened).to.deep.equal({ kind: "tensors", tensors: TENSORS });
  });

  it("a key that is not the recipient's fails clearly: another X25519 key, or a key of the other suite", async function () {
    const envelope = await sealTensors(TENSORS, recipient.publicKey, { aad: AAD });
    const other = generatePrivacyKey();
    const wrong = await caught(() => openEnvelope(envelope, formatPrivacyPrivateKey(other), { aad: AAD }));
    expect(wrong).to.be.instanceOf(EnvelopeKeyError);
    expect((wrong as Error).message).to.contain(formatPrivacyPublicKey(other.publicKey));
    const suite1 = formatPrivacyPrivateKey(generatePrivacyKey({ suite: 1 }));
    const crossed = await caught(() => openEnvelope(envelope, suite1, { aad: AAD }));
    expect(crossed).to.be.instanceOf(EnvelopeKeyError);
    expect((crossed as Error).message).to.match(/sealed with suite 2 \(X25519\).*suite 1 key/);
    expect((crossed as Error).message).to.not.contain(suite1.slice(11));
  });

  it("catches a flipped payload byte, an edited wrapped key, and a malformed ephemeral key", async function () {
    const envelope = await sealTensors(TENSORS, recipient.publicKey, { aad: AAD });
    const payload = envelope.slice();
    payload[payload.length - 30] ^= 1;
    const e1 = await caught(() => openEnvelope(payload, recipient.privateKey, { aad: AAD }));
    expect((e1 as EnvelopeCorruptedError).region).to.equal("payload");

    const wrapped = envelope.slice();
    wrapped[AT.wrappedKey.offset] ^= 1;
    rechecksum(wrapped);
    const e2 = await caught(() => openEnvelope(wrapped, recipient.privateKey, { aad: AAD }));
    expect(e2).to.be.instanceOf(EnvelopeCorruptedError);
    expect((e2 as EnvelopeCorruptedError).region).to.equal("wrapped key");

    const marked = envelope.slice();
    marked[AT.ephemeralPublicKey.offset] = 2;
    rechecksum(marked);
    const e3 = await caught(() => parseEnvelope(marked));
    expect((e3 as EnvelopeFormatError).field).to.equal("ephemeralPublicKey");

    const lowOrder = envelope.slice();
    lowOrder.fill(0, AT.ephemeralPublicKey.offset + 1, AT.ephemeralPublicKey.offset + 33);
    rechecksum(lowOrder);
    const e4 = await caught(() => openEnvelope(lowOrder, recipient.privateKey, { aad: AAD }));
    expect(e4).to.be.instanceOf(EnvelopeFormatError);
    expect((e4 as EnvelopeFormatError).message).to.match(/no shared secret/);
  });
});
