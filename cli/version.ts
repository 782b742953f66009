/** Version strings. As `mdadm` we print mdadm 4.2's line (scripts parse it), marked as mdts. */
export const MDTS_VERSION = "0.1.0";
export const MDTS_DATE = "2026-11-24";
/** The mdadm release whose behaviour, output and on-disk format we match. */
export const MDADM_COMPAT_VERSION = "4.2";
export const MDADM_COMPAT_DATE = "2021-12-30";

export function versionLine(personality: "mdts" | "mdadm" | "mdmon"): string {
  switch (personality) {
    case "mdts":
      return `mdts - v${MDTS_VERSION} - ${MDTS_DATE} (IMSM; mdadm ${MDADM_COMPAT_VERSION} compatible)`;
    case "mdadm":
    case "mdmon":
      return `${personality} - v${MDADM_COMPAT_VERSION} - ${MDADM_COMPAT_DATE} - mdts ${MDTS_VERSION}`;
  }
}
