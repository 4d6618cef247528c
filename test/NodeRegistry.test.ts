import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { keccak256, toUtf8Bytes, ZeroAddress, ZeroHash } from "ethers";
import { deployNodeRegistry, deployProofRegistry, deployWiredRegistries } from "./helpers/deploy";
import { fieldsOf } from "./helpers/results";

const DEFAULT_ADMIN_ROLE = ZeroHash;
const NODE_ADMIN_ROLE = keccak256(toUtf8Bytes("NODE_ADMIN_ROLE"));
const MAX_ENDPOINT_LENGTH = 256n;
/** The delay of a default admin transfer (and of lowering it), as NodeRegistry.INITIAL_ADMIN_DELAY. */
const ADMIN_DELAY = 3n * 24n * 60n * 60n;
const ENDPOINT = "https://node-1.strata.example:31416";

/** An endpoint of exactly `length` bytes. */
function endpointOf(length: number): string {
  const prefix = "https://";
  return prefix + "a".repeat(length - prefix.length);
}

/**
 * The registries wired by `deployRegistries` (`admin` holds both roles), an account holding only the node admin role,
 * and a second node registry that is not wired.
 */
async function fixture() {
  const [admin, nodeAdmin, node, otherNode, stranger] = await ethers.getSigners();
  const { nodeRegistry, proofRegistry } = await deployWiredRegistries(admin);
  await nodeRegistry.grantRole(NODE_ADMIN_ROLE, nodeAdmin);
  const unwired = await deployNodeRegistry(admin, admin);
  return { nodeRegistry, proofRegistry, unwired, admin, nodeAdmin, node, otherNode, stranger };
}

/** The fixture with `node` admitted at `ENDPOINT`. */
async function fixtureWithNode() {
  const base = await fixture();
  await base.nodeRegistry.admitNode(base.node, ENDPOINT);
  const admittedAt = BigInt(await time.latest());
  return { ...base, admittedAt };
}

describe("NodeRegistry", function () {
  describe("constructor", function () {
    it("gives the admin the default admin role and the node admin role", async function () {
      const { nodeRegistry, admin } = await loadFixture(fixture);
      expect(await nodeRegistry.DEFAULT_ADMIN_ROLE()).to.equal(DEFAULT_ADMIN_ROLE);
      expect(await nodeRegistry.NODE_ADMIN_ROLE()).to.equal(NODE_ADMIN_ROLE);
      expect(await nodeRegistry.hasRole(DEFAULT_ADMIN_ROLE, admin)).to.equal(true);
      expect(await nodeRegistry.hasRole(NODE_ADMIN_ROLE, admin)).to.equal(true);
      expect(await nodeRegistry.MAX_ENDPOINT_LENGTH()).to.equal(MAX_ENDPOINT_LENGTH);
    });

    it("starts unwired", async function () {
      const { unwired } = await loadFixture(fixture);
      expect(await unwired.proofRegistry()).to.equal(ZeroAddress);
    });

    it("rejects a zero admin", async function () {
      const { unwired, admin } = await loadFixture(fixture);
      await expect(deployNodeRegistry(admin, ZeroAddress))
        .to.be.revertedWithCustomError(unwired, "AccessControlInvalidDefaultAdmin")
        .withArgs(ZeroAddress);
    });
  });

  describe("default admin (OpenZeppelin AccessControlDefaultAdminRules)", function () {
    it("names its one default admin and a transfer delay of 3 days", async function () {
      const { nodeRegistry, admin } = await loadFixture(fixture);
      expect(await nodeRegistry.INITIAL_ADMIN_DELAY()).to.equal(ADMIN_DELAY);
      expect(await nodeRegistry.defaultAdminDelay()).to.equal(ADMIN_DELAY);
      expect(await nodeRegistry.defaultAdmin()).to.equal(admin.address);
      expect(await nodeRegistry.owner()).to.equal(admin.address);
    });

    it("refuses to grant the default admin role in one step", async function () {
      const { nodeRegistry, stranger } = await loadFixture(fixture);
      await expect(nodeRegistry.grantRole(DEFAULT_ADMIN_ROLE, stranger))
        .to.be.revertedWithCustomError(nodeRegistry, "AccessControlEnforcedDefaultAdminRules")
        .withArgs();
      expect(await nodeRegistry.hasRole(DEFAULT_ADMIN_ROLE, stranger)).to.equal(false);
    });

    it("hands the default admin over in two steps, accepted by the new admin only after the delay", async function () {
      const { nodeRegistry, admin, stranger, nodeAdmin } = await loadFixture(fixture);
      await expect(nodeRegistry.beginDefaultAdminTransfer(stranger)).to.emit(
        nodeRegistry,
        "DefaultAdminTransferScheduled",
      );
      const [pending, schedule] = await nodeRegistry.pendingDefaultAdmin();
      expect(pending).to.equal(stranger.address);
      expect(schedule).to.equal(BigInt(await time.latest()) + ADMIN_DELAY);
      await expect(nodeRegistry.connect(stranger).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(nodeRegistry, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      await time.increaseTo(schedule + 1n);
      await expect(nodeRegistry.connect(nodeAdmin).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(nodeRegistry, "AccessControlInvalidDefaultAdmin")
        .withArgs(nodeAdmin.address);
      await nodeRegistry.connect(stranger).acceptDefaultAdminTransfer();
      expect(await nodeRegistry.defaultAdmin()).to.equal(stranger.address);
      expect(await nodeRegistry.hasRole(DEFAULT_ADMIN_ROLE, admin)).to.equal(false);
      expect(await nodeRegistry.hasRole(DEFAULT_ADMIN_ROLE, stranger)).to.equal(true);
    });

    it("lets the admin cancel a pending transfer", async function () {
      const { nodeRegistry, stranger } = await loadFixture(fixture);
      await nodeRegistry.beginDefaultAdminTransfer(stranger);
      await nodeRegistry.cancelDefaultAdminTransfer();
      await time.increase(ADMIN_DELAY + 1n);
      await expect(nodeRegistry.connect(stranger).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(nodeRegistry, "AccessControlInvalidDefaultAdmin")
        .withArgs(stranger.address);
    });
  });

  describe("roles (OpenZeppelin AccessControl)", function () {
    it("supports the IAccessControl, IAccessControlDefaultAdminRules and ERC-165 interfaces", async function () {
      const { nodeRegistry } = await loadFixture(fixture);
      expect(await nodeRegistry.supportsInterface("0x7965db0b")).to.equal(true);
      expect(await nodeRegistry.supportsInterface("0x31498786")).to.equal(true);
      expect(await nodeRegistry.supportsInterface("0x01ffc9a7")).to.equal(true);
      expect(await nodeRegistry.supportsInterface("0xffffffff")).to.equal(false);
    });

    it("makes the default admin role the admin of the node admin role", async function () {
      const { nodeRegistry } = await loadFixture(fixture);
      expect(await nodeRegistry.getRoleAdmin(NODE_ADMIN_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
      expect(await nodeRegistry.getRoleAdmin(DEFAULT_ADMIN_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
    });

    it("lets the default admin grant and revoke the node admin role", async function () {
      const { nodeRegistry, admin, stranger } = await loadFixture(fixture);
      await expect(nodeRegistry.grantRole(NODE_ADMIN_ROLE, stranger))
        .to.emit(nodeRegistry, "RoleGranted")
        .withArgs(NODE_ADMIN_ROLE, stranger.address, admin.address);
      expect(await nodeRegistry.hasRole(NODE_ADMIN_ROLE, stranger)).to.equal(true);
      await expect(nodeRegistry.revokeRole(NODE_ADMIN_ROLE, stranger))
        .to.emit(nodeRegistry, "RoleRevoked")
        .withArgs(NODE_ADMIN_ROLE, stranger.address, admin.address);
      expect(await nodeRegistry.hasRole(NODE_ADMIN_ROLE, stranger)).to.equal(false);
    });

    it("rejects granting or revoking a role by an account without the default admin role, even a node admin", async function () {
      const { nodeRegistry, admin, nodeAdmin, stranger } = await loadFixture(fixture);
      for (const account of [nodeAdmin, stranger]) {
        await expect(nodeRegistry.connect(account).grantRole(NODE_ADMIN_ROLE, stranger))
          .to.be.revertedWithCustomError(nodeRegistry, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, DEFAULT_ADMIN_ROLE);
        await expect(nodeRegistry.connect(account).revokeRole(NODE_ADMIN_ROLE, admin))
          .to.be.revertedWithCustomError(nodeRegistry, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, DEFAULT_ADMIN_ROLE);
      }
    });

    it("lets an account renounce its own role only", async function () {
      const { nodeRegistry, admin, nodeAdmin } = await loadFixture(fixture);
      await expect(nodeRegistry.connect(nodeAdmin).renounceRole(NODE_ADMIN_ROLE, admin))
        .to.be.revertedWithCustomError(nodeRegistry, "AccessControlBadConfirmation")
        .withArgs();
      await expect(nodeRegistry.connect(nodeAdmin).renounceRole(NODE_ADMIN_ROLE, nodeAdmin))
        .to.emit(nodeRegistry, "RoleRevoked")
        .withArgs(NODE_ADMIN_ROLE, nodeAdmin.address, nodeAdmin.address);
      expect(await nodeRegistry.hasRole(NODE_ADMIN_ROLE, nodeAdmin)).to.equal(false);
      expect(await nodeRegistry.hasRole(NODE_ADMIN_ROLE, admin)).to.equal(true);
    });
  });

  describe("wireProofRegistry", function () {
    it("is wired by deployRegistries to the proof registry that names it", async function () {
      const { nodeRegistry, proofRegistry } = await loadFixture(fixture);
      expect(await nodeRegistry.proofRegistry()).to.equal(await proofRegistry.getAddress());
      expect(await proofRegistry.nodeRegistry()).to.equal(await nodeRegistry.getAddress());
    });

    it("wires the registry to its proof registry and emits ProofRegistryWired", async function () {
      const { unwired, admin } = await loadFixture(fixture);
      const proofs = await deployProofRegistry(admin, unwired);
      await expect(unwired.wireProofRegistry(proofs))
        .to.emit(unwired, "ProofRegistryWired")
        .withArgs(await proofs.getAddress());
      expect(await unwired.proofRegistry()).to.equal(await proofs.getAddress());
    });

    it("rejects a second wiring, naming the proof registry already wired", async function () {
      const { nodeRegistry, proofRegistry, admin } = await loadFixture(fixture);
      const another = await deployProofRegistry(admin, nodeRegistry);
      for (const target of [another, proofRegistry]) {
        await expect(nodeRegistry.wireProofRegistry(target))
          .to.be.revertedWithCustomError(nodeRegistry, "NodeRegistryAlreadyWired")
          .withArgs(await proofRegistry.getAddress());
      }
    });

    it("rejects a proof registry that names another node registry", async function () {
      const { nodeRegistry, unwired, proofRegistry } = await loadFixture(fixture);
      await expect(unwired.wireProofRegistry(proofRegistry))
        .to.be.revertedWithCustomError(unwired, "NodeRegistryWrongProofRegistry")
        .withArgs(await proofRegistry.getAddress(), await nodeRegistry.getAddress());
      expect(await unwired.proofRegistry()).to.equal(ZeroAddress);
    });

    it("rejects a caller without the default admin role, even a node admin", async function () {
      const { unwired, admin, nodeAdmin, stranger } = await loadFixture(fixture);
      await unwired.grantRole(NODE_ADMIN_ROLE, nodeAdmin);
      const proofs = await deployProofRegistry(admin, unwired);
      for (const account of [stranger, nodeAdmin]) {
        await expect(unwired.connect(account).wireProofRegistry(proofs))
          .to.be.revertedWithCustomError(unwired, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, DEFAULT_ADMIN_ROLE);
      }
    });
  });

  describe("admitNode", function () {
    it("admits a node, emits NodeAdmitted and lets it anchor proofs", async function () {
      const { nodeRegistry, proofRegistry, node } = await loadFixture(fixture);
      await expect(nodeRegistry.admitNode(node, ENDPOINT))
        .to.emit(nodeRegistry, "NodeAdmitted")
        .withArgs(node.address, ENDPOINT)
        .and.to.emit(proofRegistry, "AnchorerSet")
        .withArgs(node.address, true);
      expect(await nodeRegistry.isActive(node)).to.equal(true);
      expect(fieldsOf(await nodeRegistry.getNode(node))).to.deep.equal({
        active: true,
        admittedAt: BigInt(await time.latest()),
        removedAt: 0n,
      });
      expect(await proofRegistry.isAnchorer(node)).to.equal(true);
    });

    it("lets an account holding only the node admin role admit nodes", async function () {
      const { nodeRegistry, nodeAdmin, node } = await loadFixture(fixture);
      await expect(nodeRegistry.connect(nodeAdmin).admitNode(node, ENDPOINT))
        .to.emit(nodeRegistry, "NodeAdmitted")
        .withArgs(node.address, ENDPOINT);
    });

    it("rejects the zero address", async function () {
      const { nodeRegistry } = await loadFixture(fixture);
      await expect(nodeRegistry.admitNode(ZeroAddress, ENDPOINT))
        .to.be.revertedWithCustomError(nodeRegistry, "NodeRegistryZeroAddress")
        .withArgs();
    });

    it("rejects a node that is already active", async function () {
      const { nodeRegistry, node } = await loadFixture(fixtureWithNode);
      await expect(nodeRegistry.admitNode(node, "https://elsewhere.example"))
        .to.be.revertedWithCustomError(nodeRegistry, "NodeRegistryAlreadyActive")
        .withArgs(node.address);
    });

    it("rejects an empty endpoint", async function () {
      const { nodeRegistry, node } = await loadFixture(fixture);
      await expect(nodeRegistry.admitNode(node, ""))
        .to.be.revertedWithCustomError(nodeRegistry, "NodeRegistryEmptyEndpoint")
        .withArgs(node.address);
    });

    it("accepts an endpoint of exactly 256 bytes", async function () {
      const { nodeRegistry, node } = await loadFixture(fixture);
      const endpoint = endpointOf(256);
      await expect(nodeRegistry.admitNode(node, endpoint))
        .to.emit(nodeRegistry, "NodeAdmitted")
        .withArgs(node.address, endpoint);
    });

    it("rejects an endpoint of 257 bytes", async function () {
      const { nodeRegistry, node } = await loadFixture(fixture);
      await expect(nodeRegistry.admitNode(node, endpointOf(257)))
        .to.be.revertedWithCustomError(nodeRegistry, "NodeRegistryEndpointTooLong")
        .withArgs(node.address, 257n, MAX_ENDPOINT_LENGTH);
    });

    it("rejects an admission before the registry is wired", async function () {
      const { unwired, node } = await loadFixture(fixture);
      await expect(unwired.admitNode(node, ENDPOINT))
        .to.be.revertedWithCustomError(unwired, "NodeRegistryNotWired")
        .withArgs();
      expect(await unwired.isActive(node)).to.equal(false);
    });

    it("rejects a caller without the node admin role", async function () {
      const { nodeRegistry, node, stranger } = await loadFixture(fixture);
      for (const account of [stranger, node]) {
        await expect(nodeRegistry.connect(account).admitNode(node, ENDPOINT))
          .to.be.revertedWithCustomError(nodeRegistry, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, NODE_ADMIN_ROLE);
      }
    });

    it("rejects the default admin once its node admin role is revoked", async function () {
      const { nodeRegistry, admin, node } = await loadFixture(fixture);
      await nodeRegistry.revokeRole(NODE_ADMIN_ROLE, admin);
      await expect(nodeRegistry.admitNode(node, ENDPOINT))
        .to.be.revertedWithCustomError(nodeRegistry, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, NODE_ADMIN_ROLE);
    });
  });

  describe("removeNode", function () {
    it("removes a node, emits NodeRemoved and stops it anchoring proofs", async function () {
      const { nodeRegistry, proofRegistry, node, admittedAt } = await loadFixture(fixtureWithNode);
      await expect(nodeRegistry.removeNode(node))
        .to.emit(nodeRegistry, "NodeRemoved")
        .withArgs(node.address)
        .and.to.emit(proofRegistry, "AnchorerSet")
        .withArgs(node.address, false);
      expect(await nodeRegistry.isActive(node)).to.equal(false);
      expect(fieldsOf(await nodeRegistry.getNode(node))).to.deep.equal({
        active: false,
        admittedAt,
        removedAt: BigInt(await time.latest()),
      });
      expect(await proofRegistry.isAnchorer(node)).to.equal(false);
    });

    it("rejects a node that was never admitted", async function () {
      const { nodeRegistry, otherNode } = await loadFixture(fixtureWithNode);
      await expect(nodeRegistry.removeNode(otherNode))
        .to.be.revertedWithCustomError(nodeRegistry, "NodeRegistryNotActive")
        .withArgs(otherNode.address);
    });

    it("rejects a node that was already removed", async function () {
      const { nodeRegistry, node } = await loadFixture(fixtureWithNode);
      await nodeRegistry.removeNode(node);
      await expect(nodeRegistry.removeNode(node))
        .to.be.revertedWithCustomError(nodeRegistry, "NodeRegistryNotActive")
        .withArgs(node.address);
    });

    it("rejects a caller without the node admin role", async function () {
      const { nodeRegistry, node, stranger } = await loadFixture(fixtureWithNode);
      for (const account of [stranger, node]) {
        await expect(nodeRegistry.connect(account).removeNode(node))
          .to.be.revertedWithCustomError(nodeRegistry, "AccessControlUnauthorizedAccount")
          .withArgs(account.address, NODE_ADMIN_ROLE);
      }
    });
  });

  describe("re-admission", function () {
    it("re-admits a removed node with a new admission time and no removal time", async function () {
      const { nodeRegistry, proofRegistry, nodeAdmin, node } = await loadFixture(fixtureWithNode);
      await nodeRegistry.connect(nodeAdmin).removeNode(node);
      await time.increase(3600);
      await expect(nodeRegistry.connect(nodeAdmin).admitNode(node, "https://node-1b.strata.example"))
        .to.emit(nodeRegistry, "NodeAdmitted")
        .withArgs(node.address, "https://node-1b.strata.example")
        .and.to.emit(proofRegistry, "AnchorerSet")
        .withArgs(node.address, true);
      expect(fieldsOf(await nodeRegistry.getNode(node))).to.deep.equal({
        active: true,
        admittedAt: BigInt(await time.latest()),
        removedAt: 0n,
      });
      expect(await proofRegistry.isAnchorer(node)).to.equal(true);
    });
  });

  describe("updateEndpoint", function () {
    it("moves an active node to a new endpoint and emits NodeEndpointUpdated", async function () {
      const { nodeRegistry, node, admittedAt } = await loadFixture(fixtureWithNode);
      const endpoint = "https://node-1.strata.example:443";
      await expect(nodeRegistry.connect(node).updateEndpoint(endpoint))
        .to.emit(nodeRegistry, "NodeEndpointUpdated")
        .withArgs(node.address, endpoint);
      expect(fieldsOf(await nodeRegistry.getNode(node))).to.deep.equal({ active: true, admittedAt, removedAt: 0n });
    });

    it("accepts an endpoint of exactly 256 bytes", async function () {
      const { nodeRegistry, node } = await loadFixture(fixtureWithNode);
      await expect(nodeRegistry.connect(node).updateEndpoint(endpointOf(256)))
        .to.emit(nodeRegistry, "NodeEndpointUpdated")
        .withArgs(node.address, endpointOf(256));
    });

    it("rejects an endpoint of 257 bytes", async function () {
      const { nodeRegistry, node } = await loadFixture(fixtureWithNode);
      await expect(nodeRegistry.connect(node).updateEndpoint(endpointOf(257)))
        .to.be.revertedWithCustomError(nodeRegistry, "NodeRegistryEndpointTooLong")
        .withArgs(node.address, 257n, MAX_ENDPOINT_LENGTH);
    });

    it("rejects an empty endpoint", async function () {
      const { nodeRegistry, node } = await loadFixture(fixtureWithNode);
      await expect(nodeRegistry.connect(node).updateEndpoint(""))
        .to.be.revertedWithCustomError(nodeRegistry, "NodeRegistryEmptyEndpoint")
        .withArgs(node.address);
    });

    it("rejects a caller that is not an active node, even the admin", async function () {
      const { nodeRegistry, admin, otherNode } = await loadFixture(fixtureWithNode);
      for (const account of [otherNode, admin]) {
        await expect(nodeRegistry.connect(account).updateEndpoint(ENDPOINT))
          .to.be.revertedWithCustomError(nodeRegistry, "NodeRegistryNotActive")
          .withArgs(account.address);
      }
    });

    it("rejects a removed node", async function () {
      const { nodeRegistry, node } = await loadFixture(fixtureWithNode);
      await nodeRegistry.removeNode(node);
      await expect(nodeRegistry.connect(node).updateEndpoint(ENDPOINT))
        .to.be.revertedWithCustomError(nodeRegistry, "NodeRegistryNotActive")
        .withArgs(node.address);
    });
  });

  describe("isActive and getNode", function () {
    it("read all zero for an account never admitted", async function () {
      const { nodeRegistry, otherNode } = await loadFixture(fixtureWithNode);
      expect(await nodeRegistry.isActive(otherNode)).to.equal(false);
      expect(fieldsOf(await nodeRegistry.getNode(otherNode))).to.deep.equal({
        active: false,
        admittedAt: 0n,
        removedAt: 0n,
      });
    });

    it("read an admitted node as active since its admission", async function () {
      const { nodeRegistry, node, admittedAt } = await loadFixture(fixtureWithNode);
      expect(await nodeRegistry.isActive(node)).to.equal(true);
      expect(fieldsOf(await nodeRegistry.getNode(node))).to.deep.equal({ active: true, admittedAt, removedAt: 0n });
    });
  });
});
