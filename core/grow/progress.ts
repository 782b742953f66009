/**
 * Progress of a running grow: what the state machine reports after each window, and the
 * one-line text shown on a terminal (position, rate, ETA).
 */

export interface GrowProgress {
  /** md device of the volume being reshaped. */
  device: string;
  /** 1-based volume number and the count. */
  volume: number;
  volumes: number;
  /** Array sectors done and total of this volume. */
  done: number;
  total: number;
  /** Migration unit recorded last. */
  unit: number;
  units: number;
  /** Array sectors per second over the last window (null before the first). */
  rate: number | null;
}

function human(bytesPerSecond: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = bytesPerSecond;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}/s`;
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(r).padStart(2, "0")}s`;
}

/** "md126 (1/2) reshape  37.5% (12288/32768 KiB) unit 6/16  4.0 MiB/s  ETA 0m05s". */
export function progressLine(p: GrowProgress): string {
  const pct = p.total === 0 ? 100 : (100 * p.done) / p.total;
  const rate = p.rate === null || p.rate <= 0 ? "-" : human(p.rate * 512);
  const eta = p.rate === null || p.rate <= 0 ? "-" : duration((p.total - p.done) / p.rate);
  return `${p.device} (${p.volume}/${p.volumes}) reshape ${pct.toFixed(1).padStart(5)}% ` +
    `(${p.done / 2}/${p.total / 2} KiB) unit ${p.unit}/${p.units}  ${rate}  ETA ${eta}`;
}
