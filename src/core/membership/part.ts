/**
 * Membership as an engine part (`../parts.ts`): pass it to a node or engine that should run SWIM,
 * Lifeguard and HyParView.
 *
 * @module
 */

import { decodeMemberFrame } from "../../wire/member-frames.ts";
import type { MembershipPart } from "../parts.ts";
import { Membership } from "./membership.ts";

/** Membership: failure detection, the member table and the overlay's views. */
export const membershipPart: MembershipPart = {
  make: (host, random, now, roundsAt) => new Membership(host, random, now, roundsAt),
  decode: decodeMemberFrame,
};
