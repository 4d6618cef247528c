import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1";
import {
  DISCLOSURE_KEY_PREFIX,
  formatDisclosureKey,
  formatPrivacyPrivateKey,
  formatPrivacyPublicKey,
  generatePrivacyKey,
  parseDisclosureKey,
  parsePrivacyPrivateKey,
  parsePrivacyPublicKey,
  PRIVACY_PRIVATE_KEY_PREFIX,
  PRIVACY_PUBLIC_KEY_PREFIX,
  PrivacyKeyError,
  privacyPublicKeyOf,
  StrataError,
} from "../src";

/** The order of secp256k1. */
const N = secp256k1.CURVE.n;

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

function expectKeyError(run: () => unknown, kind: PrivacyKeyError["kind"], reason: RegExp): PrivacyKeyError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected a PrivacyKeyError").to.be.instanceOf(PrivacyKeyError);
  const error = caught as PrivacyKeyError;
  expect(error).to.be.instanceOf(StrataError);
  expect(error.code).to.equal("PRIVACY_KEY");
  expect(error.kind).to.equal(kind);
  expect(error.message).to.match(reason);
  return error;
}

describe("core privacy keys", function () {
  it("generates a secp256k1 key pair whose public key is the 33-byte compressed point of the private key", function () {
    const key = generatePrivacyKey({ suite: 1 });
    expect(key.privateKey).to.have.length(32);
    expect(key.publicKey).to.have.length(33);
    expect([2, 3]).to.include(key.publicKey[0]);
    expect(hex(key.publicKey)).to.equal(hex(secp256k1.getPublicKey(key.privateKey, true)));
    expect(hex(privacyPublicKeyOf(key.privateKey))).to.equal(hex(key.publicKey));
    expect(hex(generatePrivacyKey({ suite: 1 }).privateKey)).to.not.equal(hex(key.privateKey));
  });

  it("writes keys as self-describing text (prefix and version) that parses back to the same bytes", function () {
    const key = generatePrivacyKey({ suite: 1 });
    const publicText = formatPrivacyPublicKey(key.publicKey);
    const privateText = formatPrivacyPrivateKey(key.privateKey);
    expect(PRIVACY_PUBLIC_KEY_PREFIX).to.equal("strata-pk1:");
    expect(PRIVACY_PRIVATE_KEY_PREFIX).to.equal("strata-sk1:");
    expect(publicText).to.equal(`strata-pk1:${hex(key.publicKey)}`);
    expect(privateText).to.equal(`strata-sk1:${hex(key.privateKey)}`);
    expect(hex(parsePrivacyPublicKey(publicText))).to.equal(hex(key.publicKey));
    expect(hex(parsePrivacyPrivateKey(privateText))).to.equal(hex(key.privateKey));
    // Upper-case hex and surrounding whitespace (a key pasted from a file) are accepted; bytes pass through checked.
    expect(hex(parsePrivacyPublicKey(` strata-pk1:${hex(key.publicKey).toUpperCase()}\n`))).to.equal(
      hex(key.publicKey),
    );
    expect(hex(parsePrivacyPublicKey(key.publicKey))).to.equal(hex(key.publicKey));
    expect(hex(privacyPublicKeyOf(privateText))).to.equal(hex(key.publicKey));
  });

  it("says a private key was given where a public key is expected, without echoing it", function () {
    const key = generatePrivacyKey({ suite: 1 });
    const error = expectKeyError(
      () => parsePrivacyPublicKey(formatPrivacyPrivateKey(key.privateKey)),
      "public",
      /private key.*never share it/,
    );
    expect(error.message).to.not.contain(hex(key.privateKey));
  });

  it("rejects public keys that are not a compressed secp256k1 point, naming what is wrong", function () {
    const key = generatePrivacyKey({ suite: 1 });
    const body = hex(key.publicKey);
    expectKeyError(() => parsePrivacyPublicKey(body), "public", /must start with "strata-pk1:"/);
    expectKeyError(
      () => parsePrivacyPublicKey(`strata-pk3:${body}`),
      "public",
      /version 3.*reads strata-pk1: and strata-pk2:/,
    );
    expectKeyError(() => parsePrivacyPublicKey(`strata-pk2:${body}`), "public", /32 bytes.*got 33/);
    expectKeyError(() => parsePrivacyPublicKey(`strata-pk1:${body.slice(2)}`), "public", /33 bytes.*got 32/);
    expectKeyError(() => parsePrivacyPublicKey(`strata-pk1:${body}zz`), "public", /hex/);
    const uncompressed = secp256k1.getPublicKey(key.privateKey, false);
    expectKeyError(() => parsePrivacyPublicKey(uncompressed), "public", /33 bytes.*got 65/);
    expectKeyError(() => parsePrivacyPublicKey(`strata-pk1:04${body.slice(2)}`), "public", /prefix 0x04.*02 or 03/);
    // x = 5 has no point on secp256k1 (5^3 + 7 = 132 is not a square mod p).
    expectKeyError(
      () => parsePrivacyPublicKey(`strata-pk1:02${"00".repeat(31)}05`),
      "public",
      /not a point on secp256k1/,
    );
  });

  it("rejects private keys outside 1..n-1 and malformed text", function () {
    expectKeyError(() => parsePrivacyPrivateKey(new Uint8Array(32)), "private", /1 \.\. n-1/);
    const n = N.toString(16).padStart(64, "0");
    expectKeyError(() => parsePrivacyPrivateKey(`strata-sk1:${n}`), "private", /1 \.\. n-1/);
    expectKeyError(() => parsePrivacyPrivateKey(`strata-sk1:${"11".repeat(31)}`), "private", /32 bytes.*got 31/);
    expectKeyError(() => parsePrivacyPrivateKey(`strata-pk1:${"11".repeat(32)}`), "private", /public key/);
    const max = (N - 1n).toString(16).padStart(64, "0");
    expect(hex(parsePrivacyPrivateKey(`strata-sk1:${max}`))).to.equal(max);
  });

  it("writes a disclosure key as strata-dk1: and 32 bytes of hex, and rejects other keys in its place", function () {
    const contentKey = new Uint8Array(32).map((_, i) => i);
    const text = formatDisclosureKey(contentKey);
    expect(DISCLOSURE_KEY_PREFIX).to.equal("strata-dk1:");
    expect(text).to.equal(`strata-dk1:${hex(contentKey)}`);
    expect(hex(parseDisclosureKey(text))).to.equal(hex(contentKey));
    expectKeyError(() => parseDisclosureKey(`strata-sk1:${hex(contentKey)}`), "disclosure", /private key/);
    expectKeyError(() => parseDisclosureKey(`strata-dk1:${hex(contentKey)}00`), "disclosure", /32 bytes.*got 33/);
    expectKeyError(() => formatDisclosureKey(new Uint8Array(16)), "disclosure", /32 bytes.*got 16/);
  });
});
