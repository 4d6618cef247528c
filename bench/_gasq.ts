import { ethers } from "hardhat";
import { deployRegistries } from "@strata/contracts";
import { batchRoot, word, END_EPOCH } from "./gas-scenarios";
async function main() {
  const [deployer, , node] = await ethers.getSigners();
  const { nodeRegistry, proofRegistry } = await deployRegistries(deployer);
  await (await nodeRegistry.admitNode(node.address, "https://n")).wait();
  const p = proofRegistry.connect(node);
  const g = async (t: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => Number((await (await t).wait())!.gasUsed);
  console.log("anchorProof", await g(p.anchorProof(word("proof 0"), word("proof blob 0"), END_EPOCH)));
  for (const size of [665, 1000]) console.log("anchorBatch", size, await g(p.anchorBatch(batchRoot(size), word(`batch blob ${size}`), size, END_EPOCH)));
  console.log("announceBatch", await g(p.announceBatch(word(`announced 1000`), word(`announced blob 1000`), 1000, END_EPOCH)));
  console.log("anchorQuilts16", await g(p.anchorQuilts(batchRoot(10000, "quilted commitment"), Array.from({ length: 16 }, (_, k) => word(`quilt 10000/${k}`)), 10000, END_EPOCH)));
}
main();
