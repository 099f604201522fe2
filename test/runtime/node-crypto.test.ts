// createNode's `nodeCrypto`: a node that signs and checks with the runtime's node:crypto meshes with
// one on WebCrypto (one verdict, one wire format); a malformed module is refused up front.
import * as nodeCrypto from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, type GrapevineNode } from "../../mod.ts";
import { keyPair } from "../core/harness.ts";
import { until } from "../helpers/until.ts";

const nodes: GrapevineNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close({ leave: false });
});

describe("createNode({ nodeCrypto })", () => {
  it("signs and checks with node:crypto, and meshes with a node on WebCrypto", async () => {
    const calls = { sign: 0, verify: 0 };
    const counting = {
      ...nodeCrypto,
      sign: (...a: Parameters<typeof nodeCrypto.sign>) => (calls.sign++, nodeCrypto.sign(...a)),
      verify: (...a: Parameters<typeof nodeCrypto.verify>) => (calls.verify++, nodeCrypto.verify(...a)),
    } as typeof nodeCrypto;
    const a = await createNode({ network: "nc", intervalMs: 50, keyPair: keyPair(31), seed: 31, nodeCrypto: counting });
    const b = await createNode({ network: "nc", intervalMs: 50, keyPair: keyPair(32), seed: 32 });
    nodes.push(a, b);
    const probe = { ...calls }; // the start-up probe's own calls
    const got: string[] = [];
    a.subscribe("t", (m) => got.push(`a ${String(m.payload)}`));
    b.subscribe("t", (m) => got.push(`b ${String(m.payload)}`));
    const [la, lb] = createMemoryLinkPair();
    await Promise.all([a.connect(la), b.connect(lb)]);
    a.set("from", "a");
    b.set("from", "b");
    await until(() => a.get("from", b.id) === "b" && b.get("from", a.id) === "a", 5000, "each node's state at the other");
    a.publish("t", "hello from a");
    b.publish("t", "hello from b");
    await until(() => got.includes("b hello from a") && got.includes("a hello from b"), 5000, "each message at the other");
    expect(calls.sign).toBeGreaterThan(probe.sign); // a's handshake, state and message
    expect(calls.verify).toBeGreaterThan(probe.verify); // b's handshake, state and message
  });

  it("refuses a nodeCrypto without Ed25519's functions (TypeError)", async () => {
    await expect(createNode({ network: "nc", nodeCrypto: { sign: nodeCrypto.sign } as unknown as typeof nodeCrypto })).rejects.toThrow(TypeError);
  });
});
