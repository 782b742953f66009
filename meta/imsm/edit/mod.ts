/** The IMSM metadata editor: pure changes on a parsed container, ready to write. */
export * from "./errors.ts";
export * from "./container.ts";
export * from "./volume.ts";
export * from "./migration.ts";
export * from "./failure.ts";
export * from "./state.ts";
export * from "./write.ts";
export * from "./units.ts";
export { updateVersionInfo, VERSION_ATTRIBUTES } from "./version.ts";
export * from "./takeover.ts";
