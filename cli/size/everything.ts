/**
 * `bench size` entry "everything": every export of the package's main entry.
 *
 * @module
 */
export * from "../../mod.ts";
