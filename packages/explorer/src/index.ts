/**
 * @strata/explorer — a read-only web explorer of a Strata deployment: models, nodes, batches and quilts, proofs (with
 * tensors as tables and images, private data opened in the browser), step-by-step verification streamed from the
 * verifier, search, and live updates as batches are anchored.
 */
export * from "./api-types";
export { ExplorerError, type ExplorerErrorCode } from "./errors";
export { ExplorerData, type ExplorerSources } from "./data";
export { BatchWatcher } from "./live";
export { clientBundle, type ClientBundle } from "./bundle";
export { imageShape, tensorValues } from "./tensors";
export {
  buildExplorerServer,
  startExplorer,
  DEFAULT_EXPLORER_PORT,
  type Explorer,
  type ExplorerOptions,
} from "./server";
