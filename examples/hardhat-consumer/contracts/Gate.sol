// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

// The consumer under test: Strata's example gate, which admits an account when a classifier's verified output puts it
// in the accepted class. A project's own consumer implements IInferenceConsumer the same way
// (@strata/contracts/solidity/interfaces/IInferenceConsumer.sol).
import {ClassifierGate} from "@strata/contracts/solidity/examples/ClassifierGate.sol";
