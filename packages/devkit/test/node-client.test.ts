import { expect } from "chai";
import type { FastifyInstance } from "fastify";
import { buildServer, NodeError, type InferRequest, type NodeService } from "@strata/node";
import {
  AnchorWaitTimeoutError,
  findFreePort,
  NodeApiError,
  NodeClient,
  NodeUnreachableError,
  type ProofStatus,
} from "../src";
import { blobIdFromBytes32, toBatchRoot, toCommitment } from "@strata/core";

const COMMITMENT = toCommitment(`0x${"ab".repeat(32)}`);

/** A node service whose answers the test sets. */
class FakeNode implements NodeService {
  statuses: ProofStatus[] = [];
  unavailable = false;
  async infer(request: InferRequest) {
    if (request.model === "missing") throw new NodeError("MODEL_NOT_FOUND", "no model missing");
    return { model: { id: "0x1", version: 0, blobId: "b", sha256: "s" }, outputs: {}, proof: this.statuses[0] };
  }
  async proofStatus(commitment: string) {
    const next = this.statuses.shift();
    if (!next) throw new NodeError("PROOF_NOT_FOUND", `this node has no proof ${commitment}`);
    return next;
  }
  async health() {
    return this.unavailable
      ? { status: "unavailable", reason: { code: "NODE_NOT_ACTIVE", message: "removed" }, node: "0x2" }
      : { status: "ok", node: "0x2" };
  }
  metrics() {
    return "strata_infer_requests_total 3\nstrata_chain_up 1\n";
  }
}

describe("NodeClient", function () {
  let app: FastifyInstance;
  let service: FakeNode;
  let client: NodeClient;

  beforeEach(async function () {
    service = new FakeNode();
    app = buildServer(service);
    await app.listen({ port: 0, host: "127.0.0.1" });
    client = new NodeClient(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/`);
  });
  afterEach(() => app.close());

  it("runs an inference and answers the node's typed response", async function () {
    service.statuses = [{ commitment: COMMITMENT, status: "accepted" }];
    const answer = await client.infer({ model: "m", inputs: { x: { dtype: "float32", dims: [1], data: [1] } } });
    expect(answer.proof).to.deep.equal({ commitment: COMMITMENT, status: "accepted" });
    expect(client.url).to.not.match(/\/$/);
  });

  it("turns the node's {error:{code,message}} into a NodeApiError with its code, status and message", async function () {
    const error = await client.proofStatus(COMMITMENT).then(
      () => expect.fail("resolved"),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(NodeApiError);
    expect(error).to.include({ status: 404, nodeCode: "PROOF_NOT_FOUND", code: "NODE_API" });
    expect((error as NodeApiError).message).to.equal(`PROOF_NOT_FOUND: this node has no proof ${COMMITMENT}`);
    const refused = await client
      .infer({ model: "missing", inputs: { x: { dtype: "float32", dims: [1], data: [1] } } })
      .then(
        () => expect.fail("resolved"),
        (e: unknown) => e as NodeApiError,
      );
    expect(refused.nodeCode).to.equal("MODEL_NOT_FOUND");
    const invalid = await client.infer({ model: "m", inputs: {} }).then(
      () => expect.fail("resolved"),
      (e: unknown) => e as NodeApiError,
    );
    expect(invalid).to.include({ status: 400, nodeCode: "BAD_REQUEST" });
  });

  it("answers the health report also while the node refuses work (503)", async function () {
    service.unavailable = true;
    const health = await client.health();
    expect(health.status).to.equal("unavailable");
    expect(health.reason?.code).to.equal("NODE_NOT_ACTIVE");
  });

  it("reads the metrics by name", async function () {
    expect(await client.metrics()).to.deep.equal({ strata_infer_requests_total: 3, strata_chain_up: 1 });
  });

  it("waits for the anchor, and gives up past its timeout naming the last status", async function () {
    service.statuses = [
      { commitment: COMMITMENT, status: "accepted" },
      {
        commitment: COMMITMENT,
        status: "anchored",
        root: toBatchRoot(COMMITMENT),
        index: 0,
        blobId: blobIdFromBytes32(COMMITMENT),
        txHash: "0x3",
      },
    ];
    const anchored = await client.waitForAnchor(COMMITMENT, { intervalMs: 10 });
    expect(anchored.txHash).to.equal("0x3");
    const pending: ProofStatus = { commitment: COMMITMENT, status: "accepted" };
    service.statuses = Array.from({ length: 100 }, () => pending);
    const error = await client.waitForAnchor(COMMITMENT, { intervalMs: 10, timeoutMs: 50 }).then(
      () => expect.fail("resolved"),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(AnchorWaitTimeoutError);
    expect((error as Error).message).to.equal("the proof was not anchored within 50 ms (status accepted)");
  });

  it("says no node answers, and how to start one, when nothing listens", async function () {
    const port = await findFreePort();
    const error = await new NodeClient(`http://127.0.0.1:${port}`).health().then(
      () => expect.fail("resolved"),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(NodeUnreachableError);
    expect(error).to.include({ reason: "ECONNREFUSED", code: "NODE_UNREACHABLE" });
    expect((error as Error).message).to.match(
      /^no inference node answers at .*\/v1\/health \(ECONNREFUSED\); start one/,
    );
  });
});
