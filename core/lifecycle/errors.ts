/** The one error the lifecycle commands throw for refusals: mdadm-style text and exit status. */
export class LifecycleError extends Error {
  /** Exit status mdadm uses for this failure (1 for most, 2 for usage-like refusals). */
  readonly exitCode: number;

  /** `message` is printed after the program prefix ("mdadm: "). */
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "LifecycleError";
    this.exitCode = exitCode;
  }
}

export function refuse(message: string, exitCode = 1): never {
  throw new LifecycleError(message, exitCode);
}
