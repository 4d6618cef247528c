export * from "./errors";
export * from "./journal";
export * from "./outbox";
export * from "./server";
export * from "./node";
export * from "./proof-index";
