import { expect } from "chai";
import hre from "hardhat";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";

describe("Offline Solidity toolchain", function () {
  it("compiles with the pinned solc npm package, never a download", async function () {
    const build = await hre.run(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, { quiet: true, solcVersion: "0.8.29" });
    expect(build.isSolcJs).to.equal(true);
    expect(build.compilerPath).to.equal(require.resolve("solc/soljson.js"));
    expect(build.longVersion).to.match(/^0\.8\.29\+commit\.[0-9a-f]{8}$/);
  });

  it("refuses another solc version with a message that says what to pin", async function () {
    const error = await hre.run(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, { quiet: true, solcVersion: "0.8.20" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.match(/Solidity 0\.8\.20 was requested.*Pin "solc": "0\.8\.20" exactly/s);
  });
});
