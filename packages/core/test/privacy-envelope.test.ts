import { expect } from "chai";
import { keccak256 } from "ethers";
import { gcm } from "@noble/ciphers/aes";
import { chacha20poly1305 } from "@noble/ciphers/chacha";
import { secp256k1 } from "@noble/curves/secp256k1";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import {
  ciphertextHash,
  contentKeyOf,
  ENVELOPE_HEADER_SIZE,
  ENVELOPE_LAYOUT,
  envelopeContext,
  EnvelopeContextError,
  EnvelopeCorruptedError,
  EnvelopeFormatError,
  EnvelopeKeyError,
  formatDisclosureKey,
  formatPrivacyPrivateKey,
  formatPrivacyPublicKey,
  generatePrivacyKey,
  InvalidArgumentError,
  openEnvelope,
  openWithContentKey,
  parseEnvelope,
  PrivacyKeyError,
  sealTensors,
  StrataError,
  type EnvelopeContents,
  type EnvelopeField,
} from "../src";

const RECIPIENT = generatePrivacyKey({ suite: 1 });
const OTHER = generatePrivacyKey({ suite: 1 });
const AAD = envelopeContext({ chainId: 31337, proofRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3", n: 1 });
const OTHER_AAD = envelopeContext({
  chainId: 31337,
  proofRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  n: 2,
});

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** Deterministic pseudo-random bytes (a fixed LCG), so failures reproduce. */
function pseudoRandom(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function bytesOf(contents: EnvelopeContents): Uint8Array {
  expect(contents.kind).to.equal("bytes");
  return (contents as Extract<EnvelopeContents, { kind: "bytes" }>).bytes;
}

async function caught(run: () => Promise<unknown> | unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  expect.fail("expected the call to throw");
}

function fieldAt(offset: number): EnvelopeField | "ciphertext" {
  const field = ENVELOPE_LAYOUT.find((f) => offset >= f.offset && offset < f.offset + f.size);
  return field ? field.field : "ciphertext";
}

/** `envelope` with its header checksum recomputed, as an attacker who edits header fields would. */
function rechecksum(envelope: Uint8Array): Uint8Array {
  const copy = envelope.slice();
  const at = ENVELOPE_LAYOUT.find((f) => f.field === "headerChecksum")!;
  copy.set(sha256(copy.subarray(0, at.offset)).subarray(0, at.size), at.offset);
  return copy;
}

function range(field: EnvelopeField): { offset: number; size: number } {
  return ENVELOPE_LAYOUT.find((f) => f.field === field)!;
}

/**
 * An envelope written from the README's description with @noble primitives alone (no code of the module): the
 * format's other direction. `framed` is the plaintext with its kind byte.
 */
function handSeal(framed: Uint8Array, recipientPublicKey: Uint8Array, aad: Uint8Array): Uint8Array {
  const label = (text: string) => new TextEncoder().encode(text);
  const ephemeral = secp256k1.utils.randomPrivateKey();
  const ephemeralPublicKey = secp256k1.getPublicKey(ephemeral, true);
  const shared = secp256k1.getSharedSecret(ephemeral, recipientPublicKey, true).subarray(1);
  const info = new Uint8Array([...label("strata-envelope-v1/wrap"), 1, ...ephemeralPublicKey, ...recipientPublicKey]);
  const okm = hkdf(sha256, shared, undefined, info, 60);
  const contentKey = pseudoRandom(32, 99);
  const payloadOkm = hkdf(sha256, contentKey, undefined, label("strata-envelope-v1/payload"), 64);
  const out = new Uint8Array(199 + framed.length + 16);
  out.set([0x53, 0x45, 0x4e, 0x56, 1, 1], 0);
  out.set(ephemeralPublicKey, 6);
  out.set(okm.subarray(44, 60), 39);
  out.set(sha256(aad), 55);
  out.set(payloadOkm.subarray(32, 64), 87);
  out.set(chacha20poly1305(okm.subarray(0, 32), okm.subarray(32, 44), out.slice(0, 119)).encrypt(contentKey), 119);
  const nonce = pseudoRandom(12, 5);
  out.set(nonce, 167);
  Buffer.from(out.buffer).writeUInt32BE(framed.length + 16, 179);
  out.set(sha256(out.subarray(0, 183)).subarray(0, 16), 183);
  out.set(gcm(payloadOkm.subarray(0, 32), nonce, out.slice(0, 199)).encrypt(framed), 199);
  return out;
}

describe("core privacy envelopes", function () {
  describe("round trips", function () {
    for (const size of [0, 1, 15, 16, 17, 1000, 65_536, 256 * 1024, 1024 * 1024]) {
      it(`seals and opens ${size} bytes with the private key and with the envelope's content key`, async function () {
        const plaintext = pseudoRandom(size, size + 7);
        const envelope = await sealTensors(plaintext, RECIPIENT.publicKey, { aad: AAD });
        expect(envelope.length).to.equal(ENVELOPE_HEADER_SIZE + 1 + size + 16);
        expect(hex(bytesOf(await openEnvelope(envelope, RECIPIENT.privateKey, { aad: AAD })))).to.equal(hex(plaintext));
        const contentKey = contentKeyOf(envelope, RECIPIENT.privateKey);
        expect(hex(bytesOf(await openWithContentKey(envelope, contentKey, { aad: AAD })))).to.equal(hex(plaintext));
      });
    }

    it("seals named tensors and opens them in their order, names and bytes intact", async function () {
      const tensors = [
        { name: "input", bytes: pseudoRandom(100, 3) },
        { name: "empty", bytes: new Uint8Array(0) },
        { name: "logits ü 名", bytes: pseudoRandom(12, 4) },
      ];
      const envelope = await sealTensors(tensors, formatPrivacyPublicKey(RECIPIENT.publicKey), { aad: AAD });
      const opened = await openEnvelope(envelope, formatPrivacyPrivateKey(RECIPIENT.privateKey), { aad: AAD });
      expect(opened.kind).to.equal("tensors");
      const got = (opened as Extract<EnvelopeContents, { kind: "tensors" }>).tensors;
      expect(got.map((t) => t.name)).to.deep.equal(["input", "empty", "logits ü 名"]);
      expect(got.map((t) => hex(t.bytes))).to.deep.equal(tensors.map((t) => hex(t.bytes)));
    });

    it("gives two seals of the same plaintext different ephemeral keys, content keys and ciphertexts", async function () {
      const plaintext = pseudoRandom(64);
      const a = await sealTensors(plaintext, RECIPIENT.publicKey, { aad: AAD });
      const b = await sealTensors(plaintext, RECIPIENT.publicKey, { aad: AAD });
      const pa = parseEnvelope(a);
      const pb = parseEnvelope(b);
      expect(hex(pa.ephemeralPublicKey)).to.not.equal(hex(pb.ephemeralPublicKey));
      expect(hex(pa.ciphertext)).to.not.equal(hex(pb.ciphertext));
      expect(hex(contentKeyOf(a, RECIPIENT.privateKey))).to.not.equal(hex(contentKeyOf(b, RECIPIENT.privateKey)));
      expect(ciphertextHash(a)).to.not.equal(ciphertextHash(b));
    });

    it("seals to a new requester, then to a requester it has sealed to before (a precomputed point), alike", async function () {
      const fresh = generatePrivacyKey({ suite: 1 });
      for (let i = 0; i < 4; i++) {
        const envelope = await sealTensors(pseudoRandom(33, i), fresh.publicKey, { aad: AAD });
        expect(hex(bytesOf(await openEnvelope(envelope, fresh.privateKey, { aad: AAD })))).to.equal(
          hex(pseudoRandom(33, i)),
        );
      }
    });

    it("accepts the context as bytes or as the same text", async function () {
      const envelope = await sealTensors(pseudoRandom(10), RECIPIENT.publicKey, { aad: "proof 42" });
      const opened = await openEnvelope(envelope, RECIPIENT.privateKey, { aad: new TextEncoder().encode("proof 42") });
      expect(hex(bytesOf(opened))).to.equal(hex(pseudoRandom(10)));
    });
  });

  describe("format", function () {
    it("lays the header out as documented: magic, version, suite, then fixed-size fields, then the ciphertext", async function () {
      const envelope = await sealTensors(pseudoRandom(5), RECIPIENT.publicKey, { aad: AAD });
      expect(ENVELOPE_LAYOUT.map((f) => [f.field, f.offset, f.size])).to.deep.equal([
        ["magic", 0, 4],
        ["version", 4, 1],
        ["suite", 5, 1],
        ["ephemeralPublicKey", 6, 33],
        ["keyCheck", 39, 16],
        ["contextDigest", 55, 32],
        ["keyCommitment", 87, 32],
        ["wrappedKey", 119, 48],
        ["nonce", 167, 12],
        ["ciphertextLength", 179, 4],
        ["headerChecksum", 183, 16],
      ]);
      expect(ENVELOPE_HEADER_SIZE).to.equal(199);
      expect(Buffer.from(envelope.subarray(0, 4)).toString("latin1")).to.equal("SENV");
      expect([envelope[4], envelope[5]]).to.deep.equal([1, 1]);
      const parsed = parseEnvelope(envelope);
      expect(parsed.version).to.equal(1);
      expect(parsed.suite).to.equal(1);
      expect(hex(parsed.contextDigest)).to.equal(hex(sha256(AAD)));
      expect(Buffer.from(envelope.subarray(179, 183)).readUInt32BE(0)).to.equal(1 + 5 + 16);
      expect(parsed.ciphertext).to.have.length(1 + 5 + 16);
      expect(hex(parsed.headerChecksum)).to.equal(hex(sha256(envelope.subarray(0, 183)).subarray(0, 16)));
    });

    it("hashes the serialized envelope with keccak256 for the proof commitment, so any changed byte changes it", async function () {
      const envelope = await sealTensors(pseudoRandom(32), RECIPIENT.publicKey, { aad: AAD });
      expect(ciphertextHash(envelope)).to.equal(keccak256(envelope));
      const flipped = envelope.slice();
      flipped[flipped.length - 1] ^= 1;
      expect(ciphertextHash(flipped)).to.not.equal(ciphertextHash(envelope));
    });

    it("is standard: the test opens it with @noble primitives alone (ECDH, HKDF-SHA256, ChaCha20-Poly1305, AES-256-GCM)", async function () {
      const marker = new TextEncoder().encode("interop plaintext");
      const envelope = await sealTensors(marker, RECIPIENT.publicKey, { aad: AAD });
      const at = (field: EnvelopeField) => {
        const { offset, size } = range(field);
        return envelope.subarray(offset, offset + size);
      };
      const label = (text: string) => new TextEncoder().encode(text);
      // Key wrap: shared x-coordinate -> HKDF(info = label || suite || ephemeral || recipient) -> KEK, nonce, key check.
      const shared = secp256k1.getSharedSecret(RECIPIENT.privateKey, at("ephemeralPublicKey"), true).subarray(1);
      const info = new Uint8Array([
        ...label("strata-envelope-v1/wrap"),
        1,
        ...at("ephemeralPublicKey"),
        ...RECIPIENT.publicKey,
      ]);
      const okm = hkdf(sha256, shared, undefined, info, 60);
      expect(hex(at("keyCheck"))).to.equal(hex(okm.subarray(44, 60)));
      const wrapAad = envelope.subarray(0, range("wrappedKey").offset);
      const contentKey = chacha20poly1305(okm.subarray(0, 32), okm.subarray(32, 44), wrapAad).decrypt(at("wrappedKey"));
      expect(hex(contentKey)).to.equal(hex(contentKeyOf(envelope, RECIPIENT.privateKey)));
      // Payload: HKDF(content key) -> AES key and key commitment; AES-256-GCM over kind byte || bytes, AAD = header.
      const payloadOkm = hkdf(sha256, contentKey, undefined, label("strata-envelope-v1/payload"), 64);
      expect(hex(at("keyCommitment"))).to.equal(hex(payloadOkm.subarray(32, 64)));
      const header = envelope.subarray(0, ENVELOPE_HEADER_SIZE);
      const framed = gcm(payloadOkm.subarray(0, 32), at("nonce"), header).decrypt(
        envelope.subarray(ENVELOPE_HEADER_SIZE),
      );
      expect(framed[0]).to.equal(0);
      expect(hex(framed.subarray(1))).to.equal(hex(marker));
    });

    it("frames named tensors as count, then name length, name, byte length, bytes (big-endian)", async function () {
      const envelope = await sealTensors([{ name: "ab", bytes: new Uint8Array([9, 8, 7]) }], RECIPIENT.publicKey, {
        aad: AAD,
      });
      const contentKey = contentKeyOf(envelope, RECIPIENT.privateKey);
      const payloadOkm = hkdf(
        sha256,
        contentKey,
        undefined,
        new TextEncoder().encode("strata-envelope-v1/payload"),
        64,
      );
      const { offset, size } = range("nonce");
      const framed = gcm(
        payloadOkm.subarray(0, 32),
        envelope.subarray(offset, offset + size),
        envelope.subarray(0, ENVELOPE_HEADER_SIZE),
      ).decrypt(envelope.subarray(ENVELOPE_HEADER_SIZE));
      expect([...framed]).to.deep.equal([1, 0, 0, 0, 1, 0, 2, 0x61, 0x62, 0, 0, 0, 3, 9, 8, 7]);
    });
  });

  it("opens an envelope written from the documented format with @noble primitives alone", async function () {
    const framed = new Uint8Array([1, 0, 0, 0, 1, 0, 1, 0x78, 0, 0, 0, 2, 42, 43]);
    const envelope = handSeal(framed, RECIPIENT.publicKey, AAD);
    const opened = await openEnvelope(envelope, RECIPIENT.privateKey, { aad: AAD });
    expect(opened.kind).to.equal("tensors");
    const tensors = (opened as Extract<EnvelopeContents, { kind: "tensors" }>).tensors;
    expect(tensors.map((t) => [t.name, [...t.bytes]])).to.deep.equal([["x", [42, 43]]]);
    expect(hex(contentKeyOf(envelope, RECIPIENT.privateKey))).to.equal(hex(pseudoRandom(32, 99)));
  });

  it("names a malformed plaintext frame (a sealer's bug) without echoing its bytes", async function () {
    for (const [framed, pattern] of [
      [new Uint8Array([7, 1, 2, 3]), /plaintext at byte 0 has the unknown kind 7/],
      [new Uint8Array([1, 0, 0, 0, 2, 0, 1, 0x78, 0, 0, 0, 0]), /plaintext at byte 12 ends inside tensor 1/],
      [new Uint8Array([1, 0, 0, 0, 1, 0, 1, 0xff, 0, 0, 0, 0]), /plaintext at byte 7 holds a name .* not UTF-8/],
      [new Uint8Array([1, 0, 0, 0, 0, 9]), /plaintext at byte 5 has 1 byte after the last tensor/],
    ] as const) {
      const error = await caught(() =>
        openEnvelope(handSeal(framed, RECIPIENT.publicKey, AAD), RECIPIENT.privateKey, { aad: AAD }),
      );
      expect(error).to.be.instanceOf(EnvelopeFormatError);
      expect((error as Error).message).to.match(pattern);
    }
  });

  it("builds the context from the fields' canonical JSON: key order does not matter, values do", function () {
    const a = envelopeContext({ requestId: "0x01", chainId: 1 });
    expect(new TextDecoder().decode(a)).to.equal('strata-envelope-context-v1\n{"chainId":1,"requestId":"0x01"}');
    expect(hex(envelopeContext({ chainId: 1, requestId: "0x01" }))).to.equal(hex(a));
    expect(hex(envelopeContext({ chainId: 2, requestId: "0x01" }))).to.not.equal(hex(a));
    expect(() => envelopeContext({ n: Number.NaN })).to.throw(InvalidArgumentError, /NaN/);
  });

  describe("confidentiality", function () {
    it("never holds the plaintext: a marker, its names and its hex and base64 forms are absent from the envelope", async function () {
      const marker = new TextEncoder().encode("PLAINTEXT-MARKER-7f3a".repeat(50));
      const envelope = Buffer.from(
        await sealTensors(
          [
            { name: "secret-name-4c1d", bytes: marker },
            { name: "b", bytes: marker },
          ],
          RECIPIENT.publicKey,
          { aad: AAD },
        ),
      );
      for (const needle of ["PLAINTEXT-MARKER", "ARKER-7f3a", "secret-name-4c1d"]) {
        expect(envelope.indexOf(Buffer.from(needle)), needle).to.equal(-1);
      }
      expect(envelope.toString("latin1")).to.not.contain(Buffer.from(marker.subarray(0, 12)).toString("base64"));
      expect(envelope.toString("hex")).to.not.contain(Buffer.from(marker.subarray(0, 12)).toString("hex"));
      // Nor does any 8-byte window of the plaintext appear anywhere.
      for (let i = 0; i + 8 <= 21; i++) expect(envelope.indexOf(Buffer.from(marker.subarray(i, i + 8)))).to.equal(-1);
    });

    it("reveals with a disclosure key that one envelope only, and nothing of the long-term key", async function () {
      const first = await sealTensors(pseudoRandom(40, 1), RECIPIENT.publicKey, { aad: AAD });
      const second = await sealTensors(pseudoRandom(40, 2), RECIPIENT.publicKey, { aad: AAD });
      const disclosure = formatDisclosureKey(contentKeyOf(first, RECIPIENT.privateKey));
      expect(hex(bytesOf(await openWithContentKey(first, disclosure, { aad: AAD })))).to.equal(
        hex(pseudoRandom(40, 1)),
      );
      const error = await caught(() => openWithContentKey(second, disclosure, { aad: AAD }));
      expect(error).to.be.instanceOf(EnvelopeKeyError);
      expect((error as EnvelopeKeyError).keyKind).to.equal("content");
      expect((error as Error).message).to.match(/does not open this envelope/);
      expect(disclosure).to.not.contain(hex(RECIPIENT.privateKey));
      expect(disclosure).to.not.contain(hex(RECIPIENT.publicKey));
      // The content key is random per envelope: it is not derived from the recipient's key or from the other envelope.
      expect(hex(contentKeyOf(second, RECIPIENT.privateKey))).to.not.equal(disclosure.slice("strata-dk1:".length));
    });
  });

  describe("failures", function () {
    it("says a wrong private key is not the one the envelope was sealed to", async function () {
      const envelope = await sealTensors(pseudoRandom(40), RECIPIENT.publicKey, { aad: AAD });
      for (const run of [
        () => openEnvelope(envelope, OTHER.privateKey, { aad: AAD }),
        () => contentKeyOf(envelope, OTHER.privateKey),
      ]) {
        const error = await caught(run);
        expect(error).to.be.instanceOf(EnvelopeKeyError);
        expect((error as EnvelopeKeyError).code).to.equal("ENVELOPE_WRONG_KEY");
        expect((error as EnvelopeKeyError).keyKind).to.equal("private");
        expect((error as Error).message).to.contain("this envelope was not sealed to this key");
        expect((error as Error).message).to.contain(formatPrivacyPublicKey(OTHER.publicKey));
        expect((error as Error).message).to.not.contain(hex(OTHER.privateKey));
      }
    });

    it("says an envelope opened in another proof's context belongs to another proof", async function () {
      const envelope = await sealTensors(pseudoRandom(40), RECIPIENT.publicKey, { aad: AAD });
      const contentKey = contentKeyOf(envelope, RECIPIENT.privateKey);
      for (const run of [
        () => openEnvelope(envelope, RECIPIENT.privateKey, { aad: OTHER_AAD }),
        () => openWithContentKey(envelope, contentKey, { aad: OTHER_AAD }),
      ]) {
        const error = await caught(run);
        expect(error).to.be.instanceOf(EnvelopeContextError);
        expect((error as EnvelopeContextError).code).to.equal("ENVELOPE_CONTEXT");
        expect((error as Error).message).to.match(/sealed for another context/);
        expect((error as EnvelopeContextError).expected).to.equal(`0x${hex(sha256(OTHER_AAD))}`);
        expect((error as EnvelopeContextError).actual).to.equal(`0x${hex(sha256(AAD))}`);
      }
    });

    it("fails clearly, never with the plaintext, on a flipped bit at every byte of the envelope", async function () {
      this.timeout(60_000);
      const plaintext = pseudoRandom(48, 9);
      const envelope = await sealTensors(plaintext, RECIPIENT.publicKey, { aad: AAD });
      const contentKey = contentKeyOf(envelope, RECIPIENT.privateKey);
      const seen = new Set<string>();
      for (let offset = 0; offset < envelope.length; offset++) {
        const flipped = envelope.slice();
        flipped[offset] ^= 0x10;
        const field = fieldAt(offset);
        for (const [how, run] of [
          ["private key", () => openEnvelope(flipped, RECIPIENT.privateKey, { aad: AAD })],
          ["content key", () => openWithContentKey(flipped, contentKey, { aad: AAD })],
        ] as const) {
          const error = await caught(run);
          const where = `${how}, byte ${offset} (${field})`;
          expect(error, where).to.be.instanceOf(StrataError);
          const message = (error as Error).message;
          expect(message, where).to.not.contain(hex(plaintext).slice(0, 16));
          if (field === "magic") {
            expect(error, where).to.be.instanceOf(EnvelopeFormatError);
            expect((error as EnvelopeFormatError).field, where).to.equal("magic");
            expect(message, where).to.match(/not a Strata envelope/);
          } else if (field === "version" || field === "suite") {
            expect(error, where).to.be.instanceOf(EnvelopeFormatError);
            expect((error as EnvelopeFormatError).field, where).to.equal(field);
            expect((error as EnvelopeFormatError).offset, where).to.equal(offset);
          } else if (field === "ciphertext") {
            expect(error, where).to.be.instanceOf(EnvelopeCorruptedError);
            expect((error as EnvelopeCorruptedError).region, where).to.equal("payload");
            expect(message, where).to.match(/corrupted or was altered/);
          } else {
            // Every other header field (ephemeral key, key check, context digest, key commitment, wrapped key,
            // nonce, ciphertext length, the checksum itself) is caught by the header checksum before any key is used.
            expect(error, where).to.be.instanceOf(EnvelopeCorruptedError);
            expect((error as EnvelopeCorruptedError).region, where).to.equal("header");
            expect(message, where).to.match(/corrupted or was altered: the header checksum/);
          }
          seen.add(field);
        }
      }
      expect([...seen].sort()).to.deep.equal([...ENVELOPE_LAYOUT.map((f) => f.field), "ciphertext"].sort());
    });

    it("names the payload tag when the last 16 bytes are flipped", async function () {
      const envelope = await sealTensors(pseudoRandom(48, 9), RECIPIENT.publicKey, { aad: AAD });
      const flipped = envelope.slice();
      flipped[flipped.length - 3] ^= 1;
      const error = await caught(() => openEnvelope(flipped, RECIPIENT.privateKey, { aad: AAD }));
      expect(error).to.be.instanceOf(EnvelopeCorruptedError);
      expect((error as Error).message).to.match(/ciphertext or its tag/);
    });

    it("still catches an attacker who edits header fields and recomputes the header checksum", async function () {
      const envelope = await sealTensors(pseudoRandom(48, 9), RECIPIENT.publicKey, { aad: AAD });
      const contentKey = contentKeyOf(envelope, RECIPIENT.privateKey);
      const edit = (field: EnvelopeField, value?: Uint8Array) => {
        const copy = envelope.slice();
        const { offset, size } = range(field);
        if (value) copy.set(value, offset);
        else copy[offset + size - 1] ^= 1;
        return rechecksum(copy);
      };
      const expectError = async (
        run: () => unknown,
        type: abstract new (...args: never[]) => StrataError,
        pattern: RegExp,
      ) => {
        const error = await caught(run);
        expect(error).to.be.instanceOf(type);
        expect((error as Error).message).to.match(pattern);
      };
      const open = (bytes: Uint8Array) => () => openEnvelope(bytes, RECIPIENT.privateKey, { aad: AAD });
      const openContent = (bytes: Uint8Array) => () => openWithContentKey(bytes, contentKey, { aad: AAD });
      // Another ephemeral key (a valid point): the key wrap is to someone else.
      const otherEphemeral = secp256k1.getPublicKey(secp256k1.utils.randomPrivateKey(), true);
      await expectError(open(edit("ephemeralPublicKey", otherEphemeral)), EnvelopeKeyError, /not sealed to this key/);
      await expectError(open(edit("keyCheck")), EnvelopeKeyError, /not sealed to this key/);
      await expectError(open(edit("wrappedKey")), EnvelopeCorruptedError, /wrapped content key/);
      await expectError(open(edit("nonce")), EnvelopeCorruptedError, /ciphertext or its tag/);
      await expectError(openContent(edit("nonce")), EnvelopeCorruptedError, /ciphertext or its tag/);
      // Moved to another proof, its context digest rewritten to match: the AEADs bind the digest.
      const moved = edit("contextDigest", sha256(OTHER_AAD));
      await expectError(
        () => openEnvelope(moved, RECIPIENT.privateKey, { aad: OTHER_AAD }),
        EnvelopeCorruptedError,
        /wrapped content key/,
      );
      await expectError(
        () => openWithContentKey(moved, contentKey, { aad: OTHER_AAD }),
        EnvelopeCorruptedError,
        /ciphertext or its tag/,
      );
      await expectError(open(edit("keyCommitment")), EnvelopeCorruptedError, /wrapped content key/);
      await expectError(openContent(edit("keyCommitment")), EnvelopeKeyError, /does not open this envelope/);
      // A point that is not on the curve, checksum recomputed: reported as a malformed field.
      const offCurve = new Uint8Array(33);
      offCurve[0] = 2;
      offCurve[32] = 5;
      await expectError(open(edit("ephemeralPublicKey", offCurve)), EnvelopeFormatError, /not a point on secp256k1/);
    });

    it("names the field and the byte offset of a truncated or overlong envelope", async function () {
      const envelope = await sealTensors(pseudoRandom(20), RECIPIENT.publicKey, { aad: AAD });
      for (let length = 0; length < envelope.length; length++) {
        const error = await caught(() =>
          openEnvelope(envelope.subarray(0, length), RECIPIENT.privateKey, { aad: AAD }),
        );
        expect(error, `length ${length}`).to.be.instanceOf(EnvelopeFormatError);
        const format = error as EnvelopeFormatError;
        expect(format.code).to.equal("ENVELOPE_FORMAT");
        const expected = length < ENVELOPE_HEADER_SIZE ? fieldAt(length) : "ciphertext";
        expect(format.field, `length ${length}`).to.equal(expected);
        expect(format.message, `length ${length}`).to.match(/truncated/);
      }
      const longer = new Uint8Array(envelope.length + 1);
      longer.set(envelope);
      const error = await caught(() => parseEnvelope(longer));
      expect(error).to.be.instanceOf(EnvelopeFormatError);
      expect((error as Error).message).to.match(/1 byte after the ciphertext/);
    });

    it("rejects bad inputs to seal before encrypting anything", async function () {
      const expectError = async (
        run: () => unknown,
        type: abstract new (...args: never[]) => StrataError,
        pattern: RegExp,
      ) => {
        const error = await caught(run);
        expect(error).to.be.instanceOf(type);
        expect((error as Error).message).to.match(pattern);
      };
      await expectError(() => sealTensors(new Uint8Array(1), "strata-pk1:00", { aad: AAD }), PrivacyKeyError, /33/);
      await expectError(
        () =>
          sealTensors(
            [
              { name: "x", bytes: new Uint8Array(1) },
              { name: "x", bytes: new Uint8Array(1) },
            ],
            RECIPIENT.publicKey,
            { aad: AAD },
          ),
        InvalidArgumentError,
        /two tensors named "x"/,
      );
      await expectError(
        () => sealTensors([{ name: "", bytes: new Uint8Array(1) }], RECIPIENT.publicKey, { aad: AAD }),
        InvalidArgumentError,
        /non-empty/,
      );
      await expectError(
        () => sealTensors(new Uint8Array(1), RECIPIENT.publicKey, {} as { aad: Uint8Array }),
        InvalidArgumentError,
        /aad/,
      );
    });
  });
});
