/**
 * Privacy: the requester's keys and the encrypted-mode envelope (ECIES-style, a content key per proof), with the
 * ciphertext hash a proof commits to. Self-contained: the proof format, the node and the verifier build on this API.
 */
export * from "./errors";
export * from "./keys";
export * from "./envelope";
