/**
 * Errors of the feature probes.
 *
 * @module
 */

import { EbpfError, nameError } from "../errors.ts";

/**
 * A probe cannot give an answer on this kernel: for instance, whether a
 * helper is available to struct_ops, tracing, LSM or extension programs
 * (those only load with a real attach target, so neither libbpf nor bpftool
 * can probe them either). Load a real program of the type to find out.
 */
export class IndeterminateProbeError extends EbpfError {
  static {
    nameError(this, "IndeterminateProbeError");
  }
  /** Always `"EPROBEINDETERMINATE"`. */
  override readonly code = "EPROBEINDETERMINATE";
  /** What could not be probed, e.g. `"helpers of program type struct_ops"`. */
  readonly feature: string;
  /** Creates the error. */
  constructor(feature: string, reason: string) {
    super(
      `cannot probe ${feature}: ${reason}; load a real program of the type to find out`,
    );
    this.feature = feature;
  }
}
