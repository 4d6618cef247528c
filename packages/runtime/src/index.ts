export * from "./errors";
export * from "./onnx";
export * from "./model-cache";
export * from "./models/mlp";
export * from "./publish";
