/**
 * A real environment for the verifier tests: the in-process Hardhat chain with freshly deployed registries, a local
 * Walrus store (10 shards, files on disk), two published tiny MLPs, and an inference node (from @strata/node, used
 * here only to produce real proofs) that has anchored two batches. Helpers build tampered documents by decoding a
 * batch, altering a proof, re-encoding with core's `buildBatch`, storing the blob and anchoring it with a node's key.
 */
import { createServer, type Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Signer } from "ethers";
import { ethers, network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Deployment } from "@strata/contracts";
import { deployAndAdmit, publishTestModel, startTestWalrus } from "@strata/devkit";
import {
  buildBatch,
  buildBatchV2,
  buildProof,
  canonicalJsonBytes,
  decodeBatch,
  decodeBatchQuilt,
  decodeTensor,
  encodeTensor,
  makeTensorSet,
  newRequestId,
  ProofVersion,
  signProof,
  StrataClient,
  type Bytes32,
  isPrivateProof,
  type InferenceProof,
  type ProofBatch,
  type ProofBatchV2,
  type Tensor,
  type UnsignedInferenceProofV1,
  toCommitment,
  type BlobId,
} from "@strata/core";
import { buildServer, InferenceNode } from "@strata/node";
import type { PublishedModel } from "@strata/runtime";
import { blobId as computeBlobId, decodeQuilt, encodeQuilt, WalrusClient, type LocalWalrus } from "@strata/walrus";
import { Verifier, type VerifierOptions } from "@strata/verifier";

export const SHARDS = 10;

export interface AnchoredBatch {
  root: Bytes32;
  blobId: BlobId;
  commitments: Bytes32[];
  proofs: InferenceProof[];
}

export interface Env {
  /** The store's shard count (default {@link SHARDS}). */
  shards: number;
  walrus: LocalWalrus;
  walrusDir: string;
  /** Publisher and aggregator client of the local store (no retries: a failure shows at once). */
  walrusClient: WalrusClient;
  deployment: Deployment;
  /** Registry clients for reading. */
  client: StrataClient;
  admin: HardhatEthersSigner;
  owner: HardhatEthersSigner;
  /** The node that runs inferences (node A), another admitted node (B), and two for activity tests (C, D). */
  nodeA: HardhatEthersSigner;
  nodeB: HardhatEthersSigner;
  nodeC: HardhatEthersSigner;
  nodeD: HardhatEthersSigner;
  model: PublishedModel;
  otherModel: PublishedModel;
  node: InferenceNode;
  nodeUrl: string;
  /** Node A's proofs in v1 batches (v1 documents in v1 batch blobs, anchored by A): the first of 4 proofs, then 2. */
  batches: [AnchoredBatch, AnchoredBatch];
  /** The batches node A sealed itself, as it made them (quilts, for a node that makes v2 proofs): 4 proofs, then 2. */
  nodeBatches: [AnchoredBatch, AnchoredBatch];
  /** How far the proofs' clock (this machine's) may be from the chain's (see {@link setup}). */
  clockSkewSeconds: number;
  dataDirs: string[];
  server: Server;
}

export const input = (rows: number[][]) => ({
  x: { dtype: "float32" as const, dims: [rows.length, 4], data: rows.flat() },
});

/** Starts everything; {@link teardown} stops it. `shards`: more fit larger blobs (30 hold ~16 MB), at some speed. */
export async function setup(options: { shards?: number } = {}): Promise<Env> {
  const shards = options.shards ?? SHARDS;
  const [admin, owner, nodeA, nodeB, nodeC, nodeD] = await ethers.getSigners();
  const { deployment } = await deployAndAdmit(admin, {
    network: "hardhat",
    nodes: [nodeA, nodeB, nodeC, nodeD].map((signer, i) => ({
      address: signer.address,
      url: `http://127.0.0.1:${31501 + i}`,
    })),
  });

  const walrusDir = await mkdtemp(join(tmpdir(), "strata-verifier-walrus-"));
  // verifyFiles off: the tamper tests play an aggregator that serves altered bytes by editing the store's files.
  const { store: walrus } = await startTestWalrus({ dir: walrusDir, shards, verifyFiles: false });
  const walrusClient = new WalrusClient({
    publisherUrl: walrus.url,
    aggregatorUrls: [walrus.url],
    shards,
    retries: 0,
  });
  const ownerClient = StrataClient.connect(deployment, owner);
  const model = await publishTestModel(ownerClient, walrusClient, {
    name: "tiny-mlp",
    hidden: [16],
    outputSize: 3,
    seed: 42,
  });
  const otherModel = await publishTestModel(ownerClient, walrusClient, {
    name: "other-mlp",
    hidden: [8],
    outputSize: 3,
    seed: 7,
  });

  const client = StrataClient.connect(deployment, ethers.provider);
  const dataDir = await mkdtemp(join(tmpdir(), "strata-verifier-node-"));
  const node = await InferenceNode.start({
    dataDir,
    signer: nodeA,
    client,
    walrus: walrusClient,
    defaultModelOwner: owner.address,
    // Batches are sealed by explicit flushes only (never by count or age), so each flush seals what waits, and the
    // test's own transactions from node A never race the outbox's.
    batch: { maxBatch: 1_000, maxAgeMs: 3_600_000 },
  });
  for (const size of [4, 2]) {
    for (let i = 0; i < size; i++) {
      await node.infer({ model: "tiny-mlp", inputs: input([[i + size, -1, 0.5 * i, 2]]) });
    }
    await node.outbox.flush();
  }
  const nodeBatches: AnchoredBatch[] = [];
  for (const sealed of await node.outbox.listBatches()) {
    nodeBatches.push(await readNodeBatch(walrusClient, sealed, shards));
  }
  if (nodeBatches.map((b) => b.commitments.length).join() !== "4,2") {
    throw new Error(
      `node A sealed batches of ${nodeBatches.map((b) => b.commitments.length).join(", ")} proofs, not 4, 2`,
    );
  }
  // The v1 batches most tests verify: node A's proofs as a v1 node makes them (v1 documents, signed by node A's key,
  // in v1 batch blobs anchored by node A). A node that makes v2 proofs (in quilts) has its proofs re-signed as v1.
  const batches: AnchoredBatch[] = [];
  for (const made of nodeBatches) {
    if (made.proofs[0].version === ProofVersion.V1) {
      batches.push(made);
      continue;
    }
    const docs = await Promise.all(made.proofs.map((proof) => asV1(proof, nodeA)));
    const built = buildBatch(docs);
    const stored = await walrusClient.store(built.bytes, { epochs: 5 });
    await (await client.proofs.connect(nodeA).anchorBuiltBatch(built, stored.blobId, stored.endEpoch)).wait();
    batches.push({ root: built.root, blobId: stored.blobId, commitments: built.commitments, proofs: built.proofs });
  }
  const server = await listen(buildServer(node));

  // The in-process chain is shared by every test file of the run, and some move its clock forward: node A dates its
  // proofs by this machine's clock, the registry dates admissions by the chain's. The skew allowed is the default
  // (300 s) or the chain's lead over this machine, whichever is larger.
  const latest = await ethers.provider.getBlock("latest");
  const lead = (latest?.timestamp ?? 0) - Math.floor(Date.now() / 1000);
  return {
    shards,
    walrus,
    walrusDir,
    walrusClient,
    deployment,
    client,
    admin,
    owner,
    nodeA,
    nodeB,
    nodeC,
    nodeD,
    model,
    otherModel,
    node,
    nodeUrl: server.url,
    batches: batches as [AnchoredBatch, AnchoredBatch],
    nodeBatches: nodeBatches as [AnchoredBatch, AnchoredBatch],
    clockSkewSeconds: Math.max(300, lead + 60),
    dataDirs: [walrusDir, dataDir],
    server: server.server,
  };
}

export async function teardown(env: Env | undefined): Promise<void> {
  if (env === undefined) return;
  await new Promise<void>((resolve) => env.server.close(() => resolve()));
  await env.node.close();
  await env.walrus.close();
  for (const dir of env.dataDirs) await rm(dir, { recursive: true, force: true });
}

/** A verifier of the environment's deployment. */
export function verifier(env: Env, options: Partial<VerifierOptions> = {}): Verifier {
  return new Verifier({
    client: env.client,
    walrus: new WalrusClient({ aggregatorUrls: [env.walrus.url], shards: env.shards, retries: 0 }),
    clockSkewSeconds: env.clockSkewSeconds,
    modelCacheDir: join(env.walrusDir, "verifier-models"),
    ...options,
  });
}

async function listen(app: ReturnType<typeof buildServer>): Promise<{ url: string; server: Server }> {
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${address.port}`, server: app.server };
}

/** A batch node A sealed, read back: a v1 batch blob, or its quilts (each read whole and decoded by core). */
export async function readNodeBatch(
  walrus: WalrusClient,
  sealed: { root: string; blobId?: string; quiltIds?: string[] },
  shards: number,
): Promise<AnchoredBatch> {
  if (sealed.quiltIds === undefined || sealed.quiltIds.length === 0) {
    const batch = decodeBatch(await walrus.read(sealed.blobId!));
    return { root: batch.root, blobId: sealed.blobId! as BlobId, commitments: batch.commitments, proofs: batch.proofs };
  }
  const proofs: InferenceProof[] = [];
  const commitments: Bytes32[] = [];
  for (const quiltId of sealed.quiltIds) {
    const quilt = decodeQuilt(await walrus.read(quiltId), { nShards: shards });
    const contents = decodeBatchQuilt(
      quilt.patches.map((p) => ({ identifier: p.identifier, contents: quilt.patch(p) })),
    );
    for (const proof of contents.proofs) {
      if (isPrivateProof(proof)) throw new Error("the fixture's batches hold public proofs only");
      proofs.push(proof);
    }
    commitments.push(...contents.index.commitments);
  }
  return { root: toCommitment(sealed.root), blobId: sealed.quiltIds[0] as BlobId, commitments, proofs };
}

/** A copy of `proof` as a version 1 document (same content, base64 tensors), signed by `signer`. */
export async function asV1(proof: InferenceProof, signer: Signer): Promise<InferenceProof> {
  if (proof.version === ProofVersion.V1) return proof;
  const strip = (t: Tensor): Tensor => ({ name: t.name, dtype: t.dtype, dims: t.dims, data: t.data });
  return signProof(
    buildProof({
      domain: proof.domain,
      model: proof.model,
      inputs: proof.input.tensors.map(strip),
      outputs: proof.output.tensors.map(strip),
      runtime: proof.runtime,
      node: proof.node,
      timestamp: proof.timestamp,
      requestId: proof.requestId,
    }),
    signer,
  );
}

// ---------------------------------------------------------------------------------------------------------------------
// Tampering

/** `base` without its signature, with a fresh request id (a new commitment), changed by `change`. */
export function variant(
  base: InferenceProof,
  change: (unsigned: UnsignedInferenceProofV1) => UnsignedInferenceProofV1 = (u) => u,
): UnsignedInferenceProofV1 {
  const { signature: _signature, ...unsigned } = base;
  return change({ ...unsigned, requestId: newRequestId() });
}

/** Signs `unsigned` with `signer` (which must be the proof's node). */
export async function sign(unsigned: UnsignedInferenceProofV1, signer: Signer): Promise<InferenceProof> {
  return signProof(unsigned, signer);
}

/** The first element of the first tensor of `tensors` moved by `delta`, with hashes recomputed. */
export function nudged(tensors: readonly Tensor[], delta: number): ReturnType<typeof makeTensorSet> {
  const [first, ...rest] = tensors;
  const values = Float32Array.from(decodeTensor({ ...first, dtype: "float32" }).values);
  values[0] += delta;
  return makeTensorSet([encodeTensor(first.name, "float32", first.dims, values), ...rest]);
}

/** Stores a batch of `docs` on the local Walrus and anchors it with `anchorer`. */
export async function anchorBatch(
  env: Env,
  docs: readonly InferenceProof[],
  anchorer: HardhatEthersSigner,
): Promise<ProofBatch & { blobId: string }> {
  const batch = buildBatch(docs);
  const stored = await env.walrusClient.store(batch.bytes, { epochs: 5 });
  await (await env.client.proofs.connect(anchorer).anchorBuiltBatch(batch, stored.blobId, stored.endEpoch)).wait();
  return { ...batch, blobId: stored.blobId };
}

/**
 * An end epoch far ahead, anchored in tests without a store answer at hand (blobs never stored, their Blob IDs computed
 * locally, or stored elsewhere): never expired by the record, so a missing blob reads as missing.
 */
export const UNEXPIRED_END_EPOCH = 1_000;

/** Anchors a batch whose blob was never stored (its Blob ID computed locally). */
export async function anchorMissingBatch(
  env: Env,
  docs: readonly InferenceProof[],
  anchorer: HardhatEthersSigner,
): Promise<ProofBatch & { blobId: string }> {
  const batch = buildBatch(docs);
  const id = await computeBlobId(batch.bytes, { shards: env.shards });
  await (await env.client.proofs.connect(anchorer).anchorBuiltBatch(batch, id, UNEXPIRED_END_EPOCH)).wait();
  return { ...batch, blobId: id };
}

/** Stores `doc` (any JSON, checked or not) and anchors it singly under `commitment` with `anchorer`. */
export async function anchorSingle(
  env: Env,
  commitment: Bytes32,
  doc: InferenceProof | object,
  anchorer: HardhatEthersSigner,
): Promise<string> {
  const stored = await env.walrusClient.store(canonicalJsonBytes(doc), { epochs: 5 });
  await (
    await env.client.proofs.connect(anchorer).anchorProof(toCommitment(commitment), stored.blobId, stored.endEpoch)
  ).wait();
  return stored.blobId;
}

// ---------------------------------------------------------------------------------------------------------------------
// The chain over HTTP, for the CLI (a child process)

/** Serves the in-process Hardhat chain's JSON-RPC on a loopback port, as `hardhat node` would. */
export async function serveChain(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const answer = async (message: { id?: unknown; method: string; params?: unknown[] }) => {
        try {
          const result: unknown = await network.provider.request({ method: message.method, params: message.params });
          return { jsonrpc: "2.0", id: message.id, result };
        } catch (error) {
          const e = error as { code?: number; message?: string; data?: unknown };
          return {
            jsonrpc: "2.0",
            id: message.id,
            error: { code: e.code ?? -32603, message: e.message, data: e.data },
          };
        }
      };
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as
        Parameters<typeof answer>[0] | Parameters<typeof answer>[0][];
      void (Array.isArray(body) ? Promise.all(body.map(answer)) : answer(body)).then((out) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(out));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Batches in quilts (v2)

/** A copy of `base` as a version 2 proof (binary tensors), with a fresh request id, signed by `signer`. */
export async function asV2(base: InferenceProof, signer: Signer): Promise<InferenceProof> {
  const strip = (t: Tensor): Tensor => ({ name: t.name, dtype: t.dtype, dims: t.dims, data: t.data });
  const unsigned = buildProof(
    {
      domain: base.domain,
      model: base.model,
      inputs: base.input.tensors.map(strip),
      outputs: base.output.tensors.map(strip),
      runtime: base.runtime,
      node: base.node,
      timestamp: base.timestamp,
      requestId: newRequestId(),
    },
    { version: ProofVersion.V2 },
  );
  return signProof(unsigned, signer);
}

/** A v2 batch stored as quilts on the local Walrus and anchored (or announced) by `anchorer`. */
export interface QuiltBatch {
  batch: ProofBatchV2;
  root: Bytes32;
  quiltIds: BlobId[];
  /** The patch ID of each commitment, from the publisher's answer. */
  patchIds: Map<string, string>;
  commitments: Bytes32[];
  proofs: InferenceProof[];
}

/**
 * Builds a v2 batch of `docs` (at most `maxPerQuilt` proofs a quilt), stores each quilt (unless `store` is false: the
 * quilt IDs are then computed locally) and anchors it: `anchorBatch` for one quilt, `anchorQuilts` for more, or
 * `announceQuilts` / `announceBatch` when `announce`.
 */
export async function anchorQuiltBatch(
  env: Env,
  docs: readonly InferenceProof[],
  anchorer: HardhatEthersSigner,
  options: { maxPerQuilt?: number; announce?: boolean; store?: boolean } = {},
): Promise<QuiltBatch> {
  const batch = buildBatchV2(docs, { maxPerQuilt: options.maxPerQuilt ?? 665 });
  const quiltIds: BlobId[] = [];
  const patchIds = new Map<string, string>();
  // The batch's end epoch is the earliest of its quilts' (quilts never stored: not expired by the record).
  let endEpoch = UNEXPIRED_END_EPOCH;
  for (const quilt of batch.quilts) {
    if (options.store === false) {
      const encoded = encodeQuilt(quilt.patches, { nShards: env.shards });
      quiltIds.push(await computeBlobId(encoded.bytes, { shards: env.shards }));
      continue;
    }
    const stored = await env.walrusClient.storeQuilt(quilt.patches, { epochs: 5 });
    quiltIds.push(stored.blobId);
    endEpoch = Math.min(endEpoch, stored.endEpoch);
    for (const patch of stored.patches) patchIds.set(patch.identifier, patch.patchId);
  }
  const proofs = env.client.proofs.connect(anchorer);
  const tx =
    quiltIds.length === 1
      ? options.announce
        ? await proofs.announceBatch(batch.root, quiltIds[0], batch.count, endEpoch)
        : await proofs.anchorBatch(batch.root, quiltIds[0], batch.count, endEpoch)
      : options.announce
        ? await proofs.announceQuilts(batch.root, quiltIds, batch.count, endEpoch)
        : await proofs.anchorQuilts(batch.root, quiltIds, batch.count, endEpoch);
  await tx.wait();
  return { batch, root: batch.root, quiltIds, patchIds, commitments: batch.commitments, proofs: [...docs] };
}

/**
 * An aggregator in front of the local store that may alter what it serves: `alter(path, body)` returns the bytes to
 * serve instead (or undefined to serve the store's). Headers pass through (the length is recomputed).
 */
export async function alteringAggregator(
  env: Env,
  alter: (path: string, body: Buffer) => Buffer | undefined,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(`${env.walrus.url}${req.url ?? "/"}`, { method: req.method });
      const body = Buffer.from(await upstream.arrayBuffer());
      const served = (upstream.ok ? alter(decodeURIComponent(req.url ?? "/"), body) : undefined) ?? body;
      const headers: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (name !== "content-length" && name !== "transfer-encoding" && name !== "content-encoding") {
          headers[name] = value;
        }
      });
      res.writeHead(upstream.status, { ...headers, "content-length": String(served.byteLength) });
      res.end(served);
    })().catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
