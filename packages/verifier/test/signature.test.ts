import { expect } from "chai";
import { concat, hexlify, keccak256, SigningKey, toBeHex, Wallet } from "ethers";
import { signatureRecovery } from "@strata/verifier";
import { recoverSignerEthers, recoverSignerFast, recoveryNote } from "../src/signature";

/**
 * The verifier recovers signers with libsecp256k1 (the `secp256k1` package's native binding) under exactly core's
 * rules (`assertCanonicalSignature`, then ethers' `recoverAddress`): only the canonical encoding (low s, v 27 or 28)
 * is accepted, with the same address, and every other encoding is rejected with the same typed error naming the value.
 */

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;

/** A small seeded PRNG (mulberry32): the same inputs on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  const int = (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return { int, bytes, hex: (n: number) => hexlify(bytes(n)) };
}

type Outcome = { address: string } | { error: string };

function outcome(recover: () => string): Outcome {
  try {
    return { address: recover() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Both recoveries agree on `signature` of `digest` (and the native one ran when it loaded). */
function expectParity(digest: string, signature: string): Outcome {
  const reference = outcome(() => recoverSignerEthers(digest, signature));
  expect(
    outcome(() => recoverSignerFast(digest, signature)),
    `${signature} over ${digest}`,
  ).to.deep.equal(reference);
  expect(outcome(() => recoverSignerFast(digest, signature, null))).to.deep.equal(reference);
  return reference;
}

const word = (value: bigint) => toBeHex(value, 32);

describe("verifier signature recovery", function () {
  it("uses the native binding where the package ships one", function () {
    if (process.platform === "linux" && process.arch === "x64") {
      expect(signatureRecovery.backend).to.equal("native");
      expect(recoveryNote()).to.equal(undefined);
    } else if (signatureRecovery.backend === "ethers") {
      expect(recoveryNote()).to.match(/ethers' JS secp256k1: the native secp256k1 module did not load/);
    }
  });

  it("recovers the signer of canonical signatures (low s, v 27 or 28) as core does", function () {
    const r = rng(11);
    for (let i = 0; i < 300; i++) {
      const key = new SigningKey(hexlify(r.bytes(32)).replace(/^0x00/, "0x01"));
      const address = new Wallet(key).address;
      const digest = i % 10 === 0 ? word(N + BigInt(r.int(1000))) : keccak256(r.bytes(1 + r.int(64)));
      const signature = key.sign(digest);
      const parity = signature.yParity;
      expect(expectParity(digest, concat([signature.r, signature.s, toBeHex(27 + parity, 1)]))).to.deep.equal({
        address,
      });
      // The same signature in another v form recovers the same key in ethers: refused here, naming v.
      for (const v of [parity, 35 + 2 * r.int(100) + parity]) {
        const serialized = concat([signature.r, signature.s, toBeHex(v, 1)]);
        expect(expectParity(digest, serialized)).to.deep.equal({
          error: `The proof signature is not canonical: v ${v} is not 27 or 28 (v 0/1 and EIP-155 forms are other encodings of the same signature)`,
        });
      }
      expect(expectParity(digest, signature.serialized.toUpperCase().replace("0X", "0x"))).to.deep.equal({ address });
    }
  });

  it("rejects high s (above n/2), v other than 27 or 28, r and s out of range and malformed input, as core does", function () {
    const r = rng(12);
    const key = new SigningKey(hexlify(r.bytes(32)));
    const digest = keccak256(r.bytes(32));
    const signature = key.sign(digest);
    const s = BigInt(signature.s);
    const v = (n: number) => toBeHex(n, 1);
    const rejected = [
      // The malleable twin: n - s, other parity.
      concat([signature.r, word(N - s), v(signature.v === 27 ? 28 : 27)]),
      // Above n/2 but below 2^255, which ethers accepts.
      concat([signature.r, word(N / 2n + 1n), v(27)]),
      concat([signature.r, signature.s, v(0)]),
      concat([signature.r, signature.s, v(1)]),
      concat([signature.r, signature.s, v(37)]),
      concat([signature.r, word(2n ** 255n), v(27)]),
      concat([signature.r, word(2n ** 256n - 1n), v(27)]),
      ...[2, 26, 29, 34].map((bad) => concat([signature.r, signature.s, v(bad)])),
      concat([word(0n), signature.s, v(27)]),
      concat([signature.r, word(0n), v(27)]),
      concat([word(N), signature.s, v(27)]),
      concat([word(P), signature.s, v(27)]),
      concat([word(P - 1n), signature.s, v(27)]),
      "0x",
      "0x1234",
      signature.serialized.slice(0, -4),
      `${signature.serialized}00`,
      `0x${"zz".repeat(65)}`,
    ];
    for (const bad of rejected) expect(expectParity(digest, bad)).to.have.property("error");
    // A digest that is not 32 bytes.
    expect(expectParity("0x1234", signature.serialized)).to.have.property("error");
  });

  it("agrees with core on random r, s and v, wherever they fall", function () {
    const r = rng(13);
    const key = new SigningKey(hexlify(r.bytes(32)));
    const valid = key.sign(keccak256(r.bytes(8)));
    let accepted = 0;
    for (let i = 0; i < 600; i++) {
      const digest = keccak256(r.bytes(32));
      // r: random, or the x of a real point (so recovery can succeed); s: random below 2^255 (ethers' bound), in the
      // band above n / 2 that ethers accepts, or random.
      const rPart = i % 3 === 0 ? hexlify(r.bytes(32)) : valid.r;
      const sPart =
        i % 4 === 0
          ? word(N / 2n + 1n + (BigInt(hexlify(r.bytes(16))) % (2n ** 255n - N / 2n)))
          : i % 4 === 1
            ? hexlify(r.bytes(32))
            : word(BigInt(hexlify(r.bytes(32))) >> 1n);
      const vPart = toBeHex(i % 5 === 0 ? r.int(256) : [0, 1, 27, 28][r.int(4)], 1);
      if ("address" in expectParity(digest, concat([rPart, sPart, vPart]))) accepted++;
    }
    expect(accepted).to.be.greaterThan(100);
  });
});
