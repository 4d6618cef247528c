import "hardhat/types/runtime";
import type { StrataHardhat } from "./strata";

declare module "hardhat/types/runtime" {
  interface HardhatRuntimeEnvironment {
    /** Strata fixtures and an in-process node that fulfils requests (@strata/hardhat). */
    strata: StrataHardhat;
  }
}
