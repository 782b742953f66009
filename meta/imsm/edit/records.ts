/**
 * Building blocks for the editor: blank records with every filler zeroed (what mdadm
 * allocates with calloc), 64-bit lo/hi field access, serial/name/signature encoding.
 */
import type { ImsmDiskRecord, ImsmMap, ImsmSuper, ImsmVolume } from "../model.ts";
import {
  FAILED_DISK_NONE,
  MPB_SIGNATURE,
  SERIAL_LENGTH,
  VOLUME_NAME_LENGTH,
} from "../constants.ts";
import {
  numDataStripes,
  paddedBytes,
  pbaOfLba0,
  perDevArraySize,
  totalBlocks,
  volumeSize,
} from "../accessors.ts";

const TWO_32 = 2 ** 32;

/** Splits a sector count into the lo/hi u32 words of a 64-bit field. */
export function splitLoHi(n: number): { lo: number; hi: number } {
  return { lo: n % TWO_32, hi: Math.floor(n / TWO_32) };
}

export function serialBytes(serial: string | Uint8Array): Uint8Array {
  if (typeof serial === "string") return paddedBytes(serial, SERIAL_LENGTH);
  const out = new Uint8Array(SERIAL_LENGTH);
  out.set(serial.subarray(0, SERIAL_LENGTH));
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The 32-byte signature field: magic, 6-char version, NUL padding. */
export function signatureWithVersion(version: string): Uint8Array {
  return paddedBytes(MPB_SIGNATURE + version, 32);
}

// Numeric views (sector counts stay far below 2^53) of the read side's bigint accessors.
export function diskSectors(mpb: ImsmSuper, d: ImsmDiskRecord): number {
  return Number(totalBlocks(mpb, d));
}
export function volumeSectors(v: ImsmVolume): number {
  return Number(volumeSize(v));
}
export function mapPba(mpb: ImsmSuper, m: ImsmMap): number {
  return Number(pbaOfLba0(mpb, m));
}
export function mapStripes(mpb: ImsmSuper, m: ImsmMap): number {
  return Number(numDataStripes(mpb, m));
}
export function mapDataSectors(mpb: ImsmSuper, m: ImsmMap): number {
  return Number(perDevArraySize(mpb, m));
}

export function setVolumeSize(v: ImsmVolume, n: number): void {
  const { lo, hi } = splitLoHi(n);
  v.sizeLow = lo;
  v.sizeHigh = hi;
}

export function setCurrMigrUnit(v: ImsmVolume, n: number): void {
  const { lo, hi } = splitLoHi(n);
  v.currMigrUnitLo = lo;
  v.currMigrUnitHi = hi;
}

export function setPbaOfLba0(m: ImsmMap, n: number): void {
  const { lo, hi } = splitLoHi(n);
  m.pbaOfLba0Lo = lo;
  m.pbaOfLba0Hi = hi;
}

export function setBlocksPerMember(m: ImsmMap, n: number): void {
  const { lo, hi } = splitLoHi(n);
  m.blocksPerMemberLo = lo;
  m.blocksPerMemberHi = hi;
}

export function setNumDataStripes(m: ImsmMap, n: number): void {
  const { lo, hi } = splitLoHi(n);
  m.numDataStripesLo = lo;
  m.numDataStripesHi = hi;
}

export function setTotalBlocks(d: ImsmDiskRecord, n: number): void {
  const { lo, hi } = splitLoHi(n);
  d.totalBlocksLo = lo;
  d.totalBlocksHi = hi;
}

export function blankDisk(): ImsmDiskRecord {
  return {
    serial: new Uint8Array(SERIAL_LENGTH),
    totalBlocksLo: 0,
    scsiId: 0,
    status: 0,
    ownerCfgNum: 0,
    totalBlocksHi: 0,
    filler: new Uint8Array(12),
  };
}

export function blankMap(members: number): ImsmMap {
  return {
    pbaOfLba0Lo: 0,
    blocksPerMemberLo: 0,
    numDataStripesLo: 0,
    blocksPerStrip: 0,
    mapState: 0,
    raidLevel: 0,
    numMembers: members,
    numDomains: 1,
    failedDiskNum: FAILED_DISK_NONE,
    ddf: 1,
    pbaOfLba0Hi: 0,
    blocksPerMemberHi: 0,
    numDataStripesHi: 0,
    filler: new Uint8Array(16),
    ord: new Array<number>(members).fill(0),
  };
}

export function blankVolume(name: string): ImsmVolume {
  return {
    volume: paddedBytes(name, VOLUME_NAME_LENGTH),
    sizeLow: 0,
    sizeHigh: 0,
    status: 0,
    reservedBlocks: 0,
    migrPriority: 0,
    numSubVols: 0,
    tid: 0,
    cngMasterDisk: 0,
    cachePolicy: 0,
    cngState: 0,
    cngSubState: 0,
    myVolRaidDevNum: 0,
    nvCacheMode: 0,
    nvCacheFlags: 0,
    nvcVolOrigFamilyNum: 0,
    nvcVolRaidDevNum: 0,
    rwhPolicy: 0,
    jdSerial: new Uint8Array(16),
    filler1: 0,
    filler: new Uint8Array(12),
    currMigrUnitLo: 0,
    checkpointId: 0,
    migrState: 0,
    migrType: 0,
    dirty: 0,
    fsState: 0,
    verifyErrors: 0,
    badBlocks: 0,
    currMigrUnitHi: 0,
    volFiller: new Uint8Array(12),
    maps: [blankMap(0)],
  };
}

/** A header-only MPB: what mdadm's create path starts from before any disk is added. */
export function blankSuper(version: string): ImsmSuper {
  return {
    signature: signatureWithVersion(version),
    checkSum: 0,
    mpbSize: 0,
    familyNum: 0,
    generationNum: 0,
    errorLogSize: 0,
    attributes: 0,
    numDisks: 0,
    numRaidDevs: 0,
    errorLogPos: 0,
    fill: 0,
    cacheSize: 0,
    origFamilyNum: 0,
    pwrCycleCount: 0,
    bbmLogSize: 0,
    numRaidDevsCreated: 0,
    filler1: 0,
    creationTime: 0n,
    filler: new Uint8Array(128),
    disks: [],
    volumes: [],
    unparsedTail: new Uint8Array(0),
    bbmLog: new Uint8Array(0),
  };
}

/** Deep copy, so edits never touch the caller's model. */
export function cloneSuper(mpb: ImsmSuper): ImsmSuper {
  return structuredClone(mpb);
}
