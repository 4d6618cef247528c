import { expect } from "chai";
import {
  checkPolicy,
  decide,
  DEFAULT_POLICY,
  isFailing,
  KeeperPolicyError,
  keptUntil,
  leaseState,
  type LeaseSubject,
} from "../src";

const model = (endEpoch: number, deprecated = false): LeaseSubject => ({ kind: "model", deprecated, endEpoch });
const batch = (anchoredEpoch: number, endEpoch: number): LeaseSubject => ({ kind: "batch", anchoredEpoch, endEpoch });
const metadata = (endEpoch: number | undefined, activeVersions = 1): LeaseSubject => ({
  kind: "metadata",
  activeVersions,
  endEpoch,
});
const proof = (anchoredEpoch: number, endEpoch: number): LeaseSubject => ({ kind: "proof", anchoredEpoch, endEpoch });
const P = DEFAULT_POLICY;

describe("keeper policy", () => {
  it("has the documented defaults: E = 5, R = 26, W = 2", () => {
    expect({ ...DEFAULT_POLICY }).to.deep.equal({ modelAhead: 5, retention: 26, renewWithin: 2 });
  });

  describe("active model versions", () => {
    it("are kept while at least E epochs are left", () => {
      for (let left = 5; left <= 53; left++) expect(decide(model(100 + left), 100, P).action).to.equal("keep");
    });
    it("are renewed to current + 2E when fewer than E epochs are left", () => {
      for (let left = 1; left < 5; left++) {
        expect(decide(model(100 + left), 100, P)).to.include({ action: "renew", target: 110 });
      }
    });
    it("are never renewed beyond current + 53 (E = 40: 2E = 80 is capped)", () => {
      const policy = { ...P, modelAhead: 40 };
      expect(decide(model(110), 100, policy)).to.include({ action: "renew", target: 153 });
      expect(keptUntil(model(110), 100, policy)).to.equal(153);
    });
    it("with E = 53 renew every epoch to exactly current + 53", () => {
      const policy = { ...P, modelAhead: 53 };
      expect(decide(model(152), 100, policy)).to.include({ action: "renew", target: 153 });
      expect(decide(model(153), 100, policy).action).to.equal("keep");
    });
    it("that expired cannot be renewed (endEpoch is exclusive: gone at the start of epoch E)", () => {
      for (const end of [100, 99, 1]) {
        const d = decide(model(end), 100, P);
        expect(d.action).to.equal("expired");
        expect(d.reason).to.contain(`could not renew: expired at epoch ${end}`);
      }
    });
  });

  describe("deprecated model versions", () => {
    it("lapse, still stored or gone, never renewed", () => {
      for (const end of [101, 102, 150]) {
        const d = decide(model(end, true), 100, P);
        expect(d).to.include({ action: "lapse" });
        expect(d.reason).to.contain(`let lapse at epoch ${end}`);
      }
      expect(decide(model(100, true), 100, P).reason).to.contain("lapsed at epoch 100");
      expect(keptUntil(model(101, true), 100, P)).to.equal(undefined);
    });
  });

  describe("proof batches", () => {
    it("are kept until anchoredEpoch + R", () => {
      expect(keptUntil(batch(10, 15), 20, P)).to.equal(36);
      expect(keptUntil(batch(10, 15), 35, P)).to.equal(36);
      expect(keptUntil(batch(10, 15), 36, P)).to.equal(undefined);
    });
    it("are renewed when fewer than W epochs are left, to min(anchoredEpoch + R, current + 53)", () => {
      expect(decide(batch(10, 21), 20, P)).to.include({ action: "renew", target: 36 });
      expect(decide(batch(10, 22), 20, P).action).to.equal("keep");
      const long = { ...P, retention: 500 };
      expect(decide(batch(10, 21), 20, long)).to.include({ action: "renew", target: 73 });
    });
    it("are not renewed when already stored through their retention", () => {
      expect(decide(batch(10, 36), 35, P).action).to.equal("keep");
      expect(decide(batch(10, 40), 35, P).action).to.equal("keep");
    });
    it("lapse after their retention", () => {
      const d = decide(batch(10, 37), 36, P);
      expect(d.action).to.equal("lapse");
      expect(d.reason).to.contain("retention of 26 epochs ended at epoch 36");
      expect(decide(batch(10, 30), 40, P).reason).to.contain("lapsed at epoch 30");
    });
    it("that expired within their retention cannot be renewed", () => {
      expect(decide(batch(10, 20), 20, P).action).to.equal("expired");
      expect(decide(batch(10, 12), 30, P).reason).to.contain("expired at epoch 12");
    });
  });

  describe("model metadata blobs", () => {
    it("are kept like an active version (E ahead, to current + 2E) while the model has an active version", () => {
      expect(decide(metadata(105), 100, P).action).to.equal("keep");
      expect(decide(metadata(104), 100, P)).to.include({ action: "renew", target: 110 });
      expect(decide(metadata(100), 100, P).action).to.equal("expired");
    });
    it("with no record of their end epoch are learnt by storing them to the target, and are never ok", () => {
      const d = decide(metadata(undefined), 100, P);
      expect(d).to.include({ action: "learn", target: 110 });
      expect(d.reason).to.contain("unknown (not yet seen by the keeper)");
      expect(leaseState(metadata(undefined), 100, P, 3)).to.equal("warn");
      expect(isFailing(leaseState(metadata(undefined), 100, P, 3))).to.equal(false);
    });
    it("lapse once every version is deprecated, known or not", () => {
      expect(decide(metadata(104, 0), 100, P).reason).to.contain("every version deprecated: let lapse at epoch 104");
      expect(decide(metadata(undefined, 0), 100, P).action).to.equal("lapse");
      expect(leaseState(metadata(undefined, 0), 100, P, 3)).to.equal("lapsing");
      expect(leaseState(metadata(100, 0), 100, P, 3)).to.equal("lapsed");
    });
  });

  it("single-anchored proofs follow the batches' retention policy", () => {
    for (const [anchored, end, current] of [
      [10, 21, 20],
      [10, 22, 20],
      [10, 37, 36],
      [10, 20, 20],
    ]) {
      expect(decide(proof(anchored, end), current, P)).to.deep.equal(decide(batch(anchored, end), current, P));
    }
  });

  it("never targets beyond current + 53, for any lease and epoch", () => {
    const policies = [P, { ...P, modelAhead: 53 }, { ...P, retention: 1000, renewWithin: 53 }, { ...P, modelAhead: 1 }];
    for (const policy of policies) {
      for (let current = 1; current < 120; current += 7) {
        for (let end = 1; end < current + 60; end += 3) {
          for (const subject of [
            model(end),
            metadata(end),
            metadata(undefined),
            batch(Math.max(1, current - 30), end),
            batch(current, end),
            proof(current, end),
          ]) {
            const d = decide(subject, current, policy);
            if (d.action === "learn") expect(d.target).to.be.at.most(current + 53);
            if (d.action === "renew") {
              expect(d.target).to.be.at.most(current + 53);
              expect(d.target).to.be.above(end);
              expect(d.target).to.be.above(current);
            }
          }
        }
      }
    }
  });

  describe("status states", () => {
    it("ok / warn / at-risk / expired / lapsing / lapsed", () => {
      expect(leaseState(model(110), 100, P, 3)).to.equal("ok");
      expect(leaseState(model(103), 100, P, 3)).to.equal("at-risk"); // renewal due (fewer than E = 5 left)
      expect(leaseState(model(100), 100, P, 3)).to.equal("expired");
      expect(leaseState(batch(80, 102), 100, P, 3)).to.equal("warn"); // 2 left, renewal due at < 2
      expect(leaseState(batch(80, 101), 100, P, 3)).to.equal("at-risk");
      expect(leaseState(batch(80, 106), 105, P, 3)).to.equal("warn"); // 1 left: stored through its retention (106)
      expect(leaseState(model(103, true), 100, P, 3)).to.equal("lapsing");
      expect(leaseState(model(100, true), 100, P, 3)).to.equal("lapsed");
      expect(leaseState(batch(10, 30), 40, P, 3)).to.equal("lapsed");
    });
    it("fail exactly on at-risk and expired", () => {
      expect(
        ["ok", "warn", "at-risk", "expired", "lapsing", "lapsed"].filter((s) => isFailing(s as never)),
      ).to.deep.equal(["at-risk", "expired"]);
    });
  });

  it("refuses settings out of range, naming the flag", () => {
    expect(() => checkPolicy({ ...P, modelAhead: 0 })).to.throw(KeeperPolicyError, /--model-ahead/);
    expect(() => checkPolicy({ ...P, modelAhead: 54 })).to.throw(KeeperPolicyError, /from 1 to 53/);
    expect(() => checkPolicy({ ...P, retention: 0 })).to.throw(KeeperPolicyError, /--retention/);
    expect(() => checkPolicy({ ...P, renewWithin: 1.5 })).to.throw(KeeperPolicyError, /--renew-within/);
  });
});
