/** dynalite ships no types: the part of its API the dev servers use. */
declare module "dynalite" {
  import type { Server } from "node:http";

  interface DynaliteOptions {
    /** Milliseconds a CreateTable stays CREATING (0: ACTIVE at once). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    /** A LevelDB directory; without it, everything is in memory. */
    path?: string;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}
