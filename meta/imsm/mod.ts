/** Public surface of the IMSM metadata reader/writer (pure bytes <-> objects). */
export * from "./model.ts";
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./layout.ts";
export * from "./codec.ts";
export * from "./checksum.ts";
export * from "./accessors.ts";
export * from "./anchor.ts";
export * from "./mpb.ts";
export * from "./migration_record.ts";
export * from "./metadata.ts";
export * from "./uuid.ts";
