/**
 * A grow run against the monitor test setup (tests/unit/monitor/setup.ts): the monitor link
 * frames updates to the in-process manager, and every sleep of the runner moves md126's
 * reshape one step on the FakeKernel.
 */
import type { setup } from "../monitor/setup.ts";
import type { ContainerDisk } from "../../../core/monitor/container_model.ts";
import { loadContainer } from "../../../core/imsm/store.ts";
import type { GrowPlan } from "../../../core/grow/plan.ts";
import type { GrowContext } from "../../../core/grow/run.ts";
import type { MonitorLink } from "../../../core/grow/monitor_link.ts";
import { decodeUpdate, encodeFrame, FrameReader } from "../../../core/monitor/protocol.ts";

export type MonitorSetup = Awaited<ReturnType<typeof setup>>;

/** Frames to the in-process manager; the type of every update sent goes to `sent`. */
export function managerLink(s: Pick<MonitorSetup, "manager">, sent: string[] = []): MonitorLink {
  const call = async (bytes: Uint8Array) => {
    const r = new FrameReader();
    r.push(bytes);
    const f = r.next()!;
    if (f.length > 0) sent.push(decodeUpdate(f.payload).type);
    await s.manager.handle(f);
  };
  return {
    ping: () => call(encodeFrame(0)),
    pingManager: () => call(encodeFrame(-1)),
    update: async (blob) => {
      await call(encodeFrame(blob.length, blob));
      await call(encodeFrame(0));
    },
  };
}

/** The context of a grow on `s` whose md126 moves 1024 sectors per device per runner sleep. */
export function fakeGrowContext(
  s: MonitorSetup,
  plan: GrowPlan,
  disks: ContainerDisk[],
  monitor: MonitorLink,
  more: Partial<GrowContext> = {},
): GrowContext {
  return {
    kernel: s.kernel,
    monitor,
    plan,
    disks,
    load: () => loadContainer(s.kernel.blocks, disks.map((d) => d.path)),
    sleep: async () => {
      s.kernel.md.advanceSync("md126", 1024n);
      await new Promise((r) => setTimeout(r, 0));
    },
    pollMs: 1,
    monitorTimeoutMs: 5_000,
    ...more,
  };
}
